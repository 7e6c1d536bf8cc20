"""Debian's Chromium driven by Playwright (never a browser download)."""

from __future__ import annotations

import shutil

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Chromium is missing: run scripts/install.sh --test (it installs Debian's chromium)")
    return path
