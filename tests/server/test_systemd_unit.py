"""deploy/gatehouse.service: systemd's own checker accepts it without a warning (with ExecStart
pointed at this checkout's `gatehouse`), and it keeps the hardening docs/deploy.md promises."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "gatehouse.service"
INSTALLED = "/opt/gatehouse/.venv/bin/gatehouse"


def service_section() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    section = ""
    for line in UNIT.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section == "Service":
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_systemd_analyze_verifies_the_unit_without_a_warning(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is missing: bash scripts/install.sh --test installs systemd")
    gatehouse = Path(sys.executable).with_name("gatehouse")
    unit = tmp_path / "gatehouse.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(gatehouse)))
    checked = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.strip() == "", checked.stderr  # an unknown key is only a warning there


def test_the_unit_runs_a_dedicated_user_with_hardening() -> None:
    service = service_section()
    assert service["User"] == ["gatehouse"] and service["Group"] == ["gatehouse"]
    assert service["ExecStart"] == [f"{INSTALLED} serve --workers 2"]
    assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # flows.yaml is read again
    assert service["StateDirectory"] == ["gatehouse"] and service["StateDirectoryMode"] == ["0700"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "UMask": "0077", "CapabilityBoundingSet": ""}.items():
        assert service[key] == [value], key
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(UNIT.read_text())
    assert parser["Install"]["WantedBy"] == "multi-user.target"
