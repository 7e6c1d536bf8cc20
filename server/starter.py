"""`gatehouse init DIR`: the files of a new installation (not the demo): a gatehouse.yaml with
generated secrets (the keys that seal credentials at rest, the metrics token) and the shipped
flows.yaml, which the wheel carries (`shipped_flows.yaml`)."""

from __future__ import annotations

import os
import secrets
from datetime import date
from importlib.resources import files
from pathlib import Path

from server.settings import load_settings
from store import Sealer

CONFIG = """\
# Gatehouse, made by `gatehouse init` on {today}. Every setting: docs/configuration.md.

# The URL people and applications reach Gatehouse at (https, behind your reverse proxy).
issuer: {issuer}
host: 127.0.0.1
port: 8000
# The embedded store, beside this file; or mongodb://... (docs/deploy.md).
store: sqlite:///{store_file}
flows_file: flows.yaml

# The keys that seal authenticator-app secrets and private signing keys at rest: keep a copy
# apart from the store's backups (without them a backup cannot be opened). To rotate, put a
# new key (gatehouse keys new-sealing-key) first and keep the old ones after it.
credential_keys:
  - {sealing_key}

# GET /metrics answers only `Authorization: Bearer <this>`.
metrics_token: {metrics_token}

# The reverse proxy in front, whose X-Forwarded-For is believed (docs/deploy.md).
# trusted_proxies: [127.0.0.1]

# Applications: here, or added with `gatehouse clients add` (docs/configuration.md).
clients: []
"""


def shipped_flows() -> str:
    return files("server").joinpath("shipped_flows.yaml").read_text(encoding="utf-8")


def write_starter(directory: Path, issuer: str) -> list[Path]:
    """Write gatehouse.yaml (readable by its owner only: it holds secrets) and flows.yaml into
    `directory`, which must not hold them yet; the files written. The config is checked by
    loading it, as the server will."""
    config, flows = directory / "gatehouse.yaml", directory / "flows.yaml"
    present = [p for p in (config, flows) if p.exists()]
    if present:
        raise FileExistsError(", ".join(str(p) for p in present))
    directory.mkdir(parents=True, exist_ok=True)
    text = CONFIG.format(today=date.today().isoformat(), issuer=issuer,
                         store_file=(directory / "gatehouse.db").resolve(),
                         sealing_key=Sealer.new_key(), metrics_token=secrets.token_urlsafe(32))
    descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text)
    flows.write_text(shipped_flows(), encoding="utf-8")
    load_settings(config)
    return [config, flows]
