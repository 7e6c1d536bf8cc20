"""The database file and its companions (-wal, -shm) are readable by their owner only: they hold
the sealed signing keys, password hashes and the secrets that sign cookies."""

from __future__ import annotations

import logging
import os
import stat

log = logging.getLogger("gatehouse.store")
PRIVATE = 0o600
COMPANIONS = ("", "-wal", "-shm", "-journal")


def make_private(path: str) -> None:
    """Create the file 0600 if it is missing (SQLite gives its companions the file's mode), and
    tighten the file and its companions to 0600, with a warning, where they are wider."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    for name in (path + suffix for suffix in COMPANIONS):
        try:
            mode = stat.S_IMODE(os.stat(name).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(name, PRIVATE)
            log.warning("%s was readable by others (mode %03o): now %03o", name, mode, PRIVATE)
