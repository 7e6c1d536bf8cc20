"""The example HTTP user directory against a legacy user service on loopback: its contract, and
every answer outside it (down, refused, redirected, nonsense) is `DirectoryUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from federation.directory import DirectoryUnavailable, DirectoryUser
from federation.http_directory import MAX_ANSWER_BYTES, HttpDirectory, HttpDirectoryOptions
from tests.ports import free_port
from tests.receiver import receiver
from tests.user_service import LegacyUser, UserService, user_service

TOKEN = "legacy-service-token-0123456789"
DORA = LegacyUser("u-1001", "dora", "dora-password-1", email="dora@corp.example",
                  email_verified=True, claims={"name": "Dora Legacy"}, groups=["staff"])


def directory(base_url: str, **options: object) -> HttpDirectory:
    return HttpDirectory(HttpDirectoryOptions.model_validate({"base_url": base_url, **options}))


@pytest.fixture(scope="module")
def service() -> Iterator[UserService]:
    with user_service([DORA], token=TOKEN) as running:
        yield running


async def test_look_up_finds_a_user_by_username_or_email_and_sends_the_token(
    service: UserService,
) -> None:
    legacy = directory(service.url, bearer_token=TOKEN)
    expected = DirectoryUser(id="u-1001", username="dora", email="dora@corp.example",
                             email_verified=True, claims={"name": "Dora Legacy"}, groups=["staff"])
    assert await legacy.look_up("dora") == expected
    assert await legacy.look_up("Dora@Corp.Example") == expected
    assert await legacy.look_up("nobody") is None
    assert service.seen[-1] == ("GET", "/api/users/nobody", f"Bearer {TOKEN}")


async def test_verify_password_says_yes_or_no(service: UserService) -> None:
    legacy = directory(service.url, bearer_token=TOKEN)
    user = await legacy.look_up("dora")
    assert user is not None
    assert await legacy.verify_password(user, "dora-password-1") is True
    assert await legacy.verify_password(user, "wrong") is False
    assert service.seen[-1] == ("POST", "/api/users/u-1001/verify-password", f"Bearer {TOKEN}")


async def test_a_login_is_one_path_segment(service: UserService) -> None:
    assert await directory(service.url, bearer_token=TOKEN).look_up("../u-1001/x.y") is None
    assert service.seen[-1][1] == "/api/users/%2E%2E%2Fu-1001%2Fx%2Ey"


async def test_a_service_that_refuses_or_is_down_is_unavailable(service: UserService) -> None:
    with pytest.raises(DirectoryUnavailable, match="answered 401"):
        await directory(service.url, bearer_token="wrong").look_up("dora")
    service.status = 503
    try:
        with pytest.raises(DirectoryUnavailable, match="answered 503"):
            await directory(service.url, bearer_token=TOKEN).look_up("dora")
    finally:
        service.status = None
    with pytest.raises(DirectoryUnavailable, match="ConnectError"):
        await directory(f"http://127.0.0.1:{free_port()}").look_up("dora")


@pytest.mark.parametrize(("status", "body", "location"), [
    (200, b"<html>maintenance</html>", None),
    (200, b'{"id": "1", "username": "dora", "claims": {"x": "' + b"y" * MAX_ANSWER_BYTES + b'"}}',
     None),  # too large to read
    (200, b'{"username": "dora"}', None),  # no id
    (302, b"", "http://127.0.0.1:1/elsewhere"),  # redirects are not followed
])
async def test_an_answer_outside_the_contract_is_unavailable(
    status: int, body: bytes, location: str | None
) -> None:
    with receiver(status, body, location) as odd, pytest.raises(DirectoryUnavailable):
        await directory(odd.url).look_up("dora")


async def test_a_password_answer_must_be_a_json_boolean() -> None:
    with receiver(200, b'{"valid": "yes"}') as odd, pytest.raises(DirectoryUnavailable):
        await directory(odd.url).verify_password(DirectoryUser(id="1", username="d"), "pw")


def test_the_options_are_checked() -> None:
    with pytest.raises(ValidationError) as caught:
        HttpDirectoryOptions.model_validate({"base_url": "users.internal", "timeout": 60})
    assert [e["loc"] for e in caught.value.errors()] == [("base_url",), ("timeout",)]
    options = HttpDirectoryOptions.model_validate({"base_url": "http://u", "bearer_token": TOKEN})
    assert TOKEN not in repr(options)
