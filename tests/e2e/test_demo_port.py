"""`GATEHOUSE_PORT=N make demo` serves the demo at http://localhost:N: scripts/demo.sh run as it
is, in a copy of the project where installing is already done and `.venv/bin/gatehouse` is this
checkout's command."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2

from tests.e2e.server import ROOT, RunningServer, wait_ready
from tests.ports import free_port


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def demo_copy(folder: Path) -> Path:
    for name in ("gatehouse.yaml", "flows.yaml", "scripts/demo.sh"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, folder / name)
    executable(folder / "scripts/install.sh", "#!/bin/sh\n")  # installed already
    executable(folder / ".venv/bin/gatehouse",
               f'#!/bin/sh\nexec "{sys.executable}" -m server.cli "$@"\n')
    return folder


async def test_the_demo_follows_gatehouse_port(tmp_path: Path) -> None:
    folder = demo_copy(tmp_path)
    port = free_port()
    issuer = f"http://localhost:{port}"
    log = tmp_path / "demo.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEHOUSE_")}
    env.update(GATEHOUSE_PORT=str(port), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        ["bash", str(folder / "scripts/demo.sh")], cwd=folder, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    server = wait_ready(RunningServer(issuer, process, folder / "gatehouse.yaml", log, port))
    try:
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                      headers={"Host": f"localhost:{port}"}) as http:
            discovery = (await http.get("/.well-known/openid-configuration")).json()
            login = await http.get("/demo/login")
            authorize = urlsplit(login.headers["location"])
            redirect_uri = parse_qs(authorize.query)["redirect_uri"][0]
            started = await http.get(f"{authorize.path}?{authorize.query}")
        assert discovery["issuer"] == issuer
        assert f"{authorize.scheme}://{authorize.netloc}" == issuer
        assert redirect_uri == f"{issuer}/demo/callback"
        assert started.is_redirect and "/flow/" in started.headers["location"]  # not an error page
        text = log.read_text()
        assert f"Gatehouse is at {issuer} (listening on 127.0.0.1:{port})" in text
        assert f"Demo relying party: {issuer}/demo " in text
        assert "8000" not in text
    finally:
        server.stop()
