"""openid-client (npm), the certified relying-party library, as a test client: tests/rp/rp.mjs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RP_DIR = Path(__file__).resolve().parents[1] / "rp"


class RelyingPartyError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('name')}: {error.get('message')}")
        self.error = error


@dataclass
class OpenIdClient:
    issuer: str
    client_id: str
    auth: str = "client_secret_basic"
    secret: str | None = None
    redirect_uri: str = "https://rp.example/callback"
    metadata: dict[str, Any] = field(default_factory=dict)
    private_jwk: dict[str, Any] | None = None
    dpop_jwk: dict[str, Any] | None = None  # a private P-256 JWK: requests carry DPoP proofs
    ca_file: str | None = None  # a CA Node.js trusts besides its own (an https issuer of the tests)

    def call(self, op: str, **request: Any) -> dict[str, Any]:
        node = shutil.which("node")
        assert node, "Node.js is missing: run scripts/install.sh --test"
        payload = {
            "op": op, "issuer": self.issuer, "redirectUri": self.redirect_uri,
            "client": {"id": self.client_id, "secret": self.secret, "auth": self.auth,
                       "metadata": self.metadata, "privateJwk": self.private_jwk},
            **({"dpopJwk": self.dpop_jwk} if self.dpop_jwk else {}),
            **request,
        }
        env = {**os.environ, **({"NODE_EXTRA_CA_CERTS": self.ca_file} if self.ca_file else {})}
        done = subprocess.run(
            [node, str(RP_DIR / "rp.mjs")], input=json.dumps(payload), capture_output=True,
            text=True, cwd=RP_DIR, timeout=60, check=False, env=env,
        )
        assert done.returncode == 0 and done.stdout, done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        if "error" in answer:
            raise RelyingPartyError(answer["error"])
        result: dict[str, Any] = answer["ok"]
        return result

    def authorize(self, **params: str) -> dict[str, Any]:
        """An authorization URL plus the state, nonce and PKCE verifier to check the answer with."""
        return self.call("authorize", params=params)

    def authorize_with_par(self, **params: str) -> dict[str, Any]:
        """As `authorize`, with the request pushed to the PAR endpoint first (RFC 9126)."""
        return self.call("authorizeWithPar", params=params)

    def authorize_with_jar(self, pushed: bool = False, **params: str) -> dict[str, Any]:
        """As `authorize`, with the request signed as a request object (RFC 9101), sent by value
        or (`pushed`) to the PAR endpoint."""
        return self.call("authorizeWithJarPar" if pushed else "authorizeWithJar", params=params)

    def callback(self, started: dict[str, Any], callback_url: str, **checks: Any) -> dict[str, Any]:
        """Tokens, verified ID token claims and UserInfo for the authorization response."""
        return self.call("callback", callbackUrl=callback_url, state=started["state"],
                         nonce=started["nonce"], verifier=started["verifier"], **checks)
