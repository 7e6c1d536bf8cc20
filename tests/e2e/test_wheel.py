"""The wheel stands alone: built from the sdist (`python -m build`), installed into a new virtual
environment outside the checkout, it carries its templates, static files, translations and the
shipped flows; `gatehouse init` makes a new installation, and a person signs in to it.

The new environment takes Gatehouse only from the wheel; its dependencies come from this
environment's site-packages (added as a path, which leaves out this checkout's editable
install), so the test needs no network."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from tests.e2e.browser import FormBrowser, page_text
from tests.e2e.server import ROOT, RunningServer, wait_ready
from tests.ports import free_port

PASSWORD = "a-long-wheel-password-1"


def run(*args: str | Path, cwd: Path, stdin: str | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def built_wheel(out: Path) -> Path:
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT, cwd=out)
    [wheel] = out.glob("gatehouse-*.whl")
    return wheel


def new_environment(home: Path, wheel: Path) -> Path:
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
               cwd=home).strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel, cwd=home)
    return home / "bin"


async def test_the_wheel_installs_elsewhere_and_a_new_installation_signs_people_in(
    tmp_path: Path,
) -> None:
    (dist := tmp_path / "dist").mkdir()
    wheel = built_wheel(dist)
    bin_dir = new_environment(tmp_path / "env", wheel)
    gatehouse = bin_dir / "gatehouse"
    where = run(bin_dir / "python", "-c", "import ui, server; print(ui.__file__, server.__file__)",
                cwd=tmp_path)
    assert str(ROOT) not in where and str(tmp_path / "env") in where  # from the wheel
    version = run(gatehouse, "--version", cwd=tmp_path)
    assert version.strip() == f"gatehouse, version {wheel.name.split('-')[1]}"

    home = tmp_path / "installation"
    port = free_port()
    run(gatehouse, "init", home, "--issuer", f"http://127.0.0.1:{port}", cwd=tmp_path)
    config = home / "gatehouse.yaml"
    assert oct(config.stat().st_mode & 0o777) == "0o600" and "credential_keys" in config.read_text()
    run(gatehouse, "users", "add", "wendy", "--password-stdin", "--config", config,
        cwd=tmp_path, stdin=PASSWORD + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [str(gatehouse), "serve", "--config", str(config), "--port", str(port)],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    server = wait_ready(RunningServer(f"http://127.0.0.1:{port}", process, config,
                                      tmp_path / "server.log", port))
    try:
        browser = FormBrowser(server.issuer)
        try:
            page = await browser.open("/account")  # the account page's own sign-in
            assert 'name="login"' in page.text, page.text
            page = await browser.submit(await browser.submit(page, login="wendy"),
                                        password=PASSWORD)
            assert "wendy" in page_text(page) and page.status_code == 200
            assert (await browser.open("/static/gatehouse.css")).status_code == 200
        finally:
            await browser.close()
        async with FormBrowser(server.issuer, headers={"Accept-Language": "fr"}) as french:
            page = await french.open("/account")  # the translations came with the wheel
            assert "Nom d’utilisateur ou e-mail" in page_text(page)
    finally:
        server.stop()
    assert (home / "gatehouse.db").exists()
