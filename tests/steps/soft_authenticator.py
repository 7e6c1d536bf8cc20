"""A software WebAuthn authenticator (ES256, attestation `none`), for step tests without a browser.

It answers the JSON options our pages carry the way a browser's `credential.toJSON()` would.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


@dataclass
class Key:
    credential_id: bytes
    private: ec.EllipticCurvePrivateKey
    user_handle: bytes
    counter: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:8000"
    verifies_user: bool = True
    synced: bool = False  # a multi-device (backed up) passkey
    keys: list[Key] = field(default_factory=list)

    def _flags(self, extra: int) -> int:
        synced = BE | BS if self.synced else 0
        return UP | (UV if self.verifies_user else 0) | synced | extra

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options_json: str, credential_id: bytes | None = None) -> str:
        """`navigator.credentials.create()`: a new discoverable credential (with the given id:
        as a copied or replayed registration would have)."""
        options = json.loads(options_json)
        key = Key(
            credential_id or secrets.token_bytes(16), ec.generate_private_key(ec.SECP256R1()),
            base64url_to_bytes(options["user"]["id"]),
        )
        self.keys.append(key)
        numbers = key.private.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([self._flags(AT)]) + struct.pack(">I", key.counter)
            + bytes(16) + struct.pack(">H", len(key.credential_id)) + key.credential_id + cose
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps({
            "id": bytes_to_base64url(key.credential_id),
            "rawId": bytes_to_base64url(key.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(
                    self._client_data("webauthn.create", options["challenge"])
                ),
                "attestationObject": bytes_to_base64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })

    def get(self, options_json: str, key: Key | None = None, counter: int | None = None) -> str:
        """`navigator.credentials.get()`: sign the challenge with `key` (default: the first
        allowed, or the first held), advancing its counter unless `counter` is given."""
        options: dict[str, Any] = json.loads(options_json)
        allowed = {c["id"] for c in options.get("allowCredentials", [])}
        if key is None:
            key = next(k for k in self.keys
                       if not allowed or bytes_to_base64url(k.credential_id) in allowed)
        key.counter = key.counter + 1 if counter is None else counter
        auth_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([self._flags(0)]) + struct.pack(">I", key.counter)
        )
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = key.private.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return json.dumps({
            "id": bytes_to_base64url(key.credential_id),
            "rawId": bytes_to_base64url(key.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": bytes_to_base64url(client_data),
                "authenticatorData": bytes_to_base64url(auth_data),
                "signature": bytes_to_base64url(signature),
                "userHandle": bytes_to_base64url(key.user_handle),
            },
            "clientExtensionResults": {},
        })
