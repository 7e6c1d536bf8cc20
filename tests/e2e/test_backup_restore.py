"""The restore drill: `gatehouse backup` copies the embedded store while people sign in; the copy,
put in a fresh directory, runs a server on which the users, their authenticator apps (their
sealed secrets still open) and the signing keys are all there, so an ID token issued before the
backup still verifies."""

from __future__ import annotations

import asyncio
import shutil
import stat
from pathlib import Path

from tests.e2e.browser import FormBrowser
from tests.e2e.server import ALICE, gatehouse, start_server
from tests.e2e.test_sign_in import verify_id_token
from tests.e2e.tokens import password_sign_in, signed_in_tokens
from tests.e2e.totp_users import totp_sign_in, totp_user


async def test_a_backup_taken_during_sign_ins_restores_into_a_working_server(
    tmp_path: Path,
) -> None:
    (first_home := tmp_path / "first").mkdir()
    first = start_server(first_home)
    backup = tmp_path / "backup.db"
    try:
        secret = await totp_user(first, "dora")
        browser = FormBrowser(first.issuer)
        try:
            _, tokens = await signed_in_tokens(first, browser, "openid profile")
        finally:
            await browser.close()
        signed_in = 0

        async def sign_ins() -> None:
            nonlocal signed_in
            while not done.is_set():
                await password_sign_in(first, *ALICE)
                signed_in += 1

        done = asyncio.Event()
        busy = asyncio.create_task(sign_ins())
        await asyncio.sleep(0.3)
        taken = await asyncio.to_thread(gatehouse, first.config, "backup", str(backup))
        done.set()
        await busy
        assert taken.returncode == 0, taken.stderr
        assert signed_in >= 1  # the backup was taken while they went on
        again = gatehouse(first.config, "backup", str(backup))
        assert again.returncode == 1 and "exists" in again.stderr  # never overwritten
    finally:
        first.stop()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    (restored := tmp_path / "restored").mkdir()
    shutil.copy(backup, restored / "gatehouse.db")
    second = start_server(restored, port=first.port)  # the same issuer, on the copy
    try:
        claims = await verify_id_token(second, tokens["id_token"], "demo-rp")
        assert claims["iss"] == second.issuer
        shown = gatehouse(second.config, "users", "show", "dora")
        assert shown.returncode == 0 and "totp" in shown.stdout, shown.stdout
        answer = await totp_sign_in(second, "dora", secret)
        assert answer.is_redirect and "code=" in answer.headers["location"], answer.text
        assert (await password_sign_in(second, *ALICE))["sub"]
    finally:
        second.stop()
