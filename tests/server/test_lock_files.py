"""requirements/app.lock and requirements/test.lock agree with pyproject.toml: every dependency
it names (and, for the test lock, every test extra) is pinned there to a version it allows, with
hashes, and nothing is pinned that no requirement brought in. `make lock` refreshes both."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ \\]+)")


def pins(lock: Path) -> dict[str, tuple[str, list[str], int]]:
    """name → (version, what brought it in, hashes) of each package the lock pins."""
    found: dict[str, tuple[str, list[str], int]] = {}
    name, listing = "", False
    for line in lock.read_text().splitlines():
        comment = line.strip().lstrip("#").strip()
        if match := PIN.match(line):
            name, listing = canonicalize_name(match.group(1)), False
            found[name] = (match.group(2), [], 0)
        elif name and "--hash=sha256:" in line:
            version, via, hashes = found[name]
            found[name] = (version, via, hashes + 1)
        elif name and line.strip().startswith("#") and (comment.startswith("via") or listing):
            listing = True
            item = comment.removeprefix("via").strip()
            if item:
                found[name][1].append(item)
    return found


def required(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"]]
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return [Requirement(r) for r in wanted if canonicalize_name(Requirement(r).name) != "gatehouse"]


@pytest.mark.parametrize(("lock", "extras"), [("app.lock", ()), ("test.lock", ("test",))])
def test_the_lock_pins_what_pyproject_asks_for_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(ROOT / "requirements" / lock)
    for requirement in required(extras):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in {lock}: run make lock"
        version = pinned[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, which {requirement} refuses: run make lock")
    for name, (version, via, hashes) in pinned.items():
        assert hashes >= 1, f"{name}=={version} has no hash in {lock}"
        assert via, f"nothing in pyproject.toml brings {name} into {lock} any more: run make lock"
