"""Password hashes made by other systems, so that users brought over keep their passwords.

libpass (imported as `passlib`) reads bcrypt (`$2a$`, `$2b$`, `$2y$`), PBKDF2 in modular-crypt
form (`$pbkdf2-sha256$`, `$pbkdf2-sha512$`), Django's `pbkdf2_sha256$`, `bcrypt_sha256$`,
`bcrypt$` and `argon2$`, and argon2 of any variant and parameters; hashlib reads Werkzeug's
`pbkdf2:sha256:N$salt$hex` and `scrypt:N:r:p$salt$hex`, which no library does. `PasswordHashing`
verifies `$argon2` hashes itself and sends the others here; the `password` step replaces every
hash but an argon2id at our parameters at the user's next sign-in.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import warnings

from passlib.context import CryptContext
from passlib.exc import PasslibHashWarning
from passlib.utils.handlers import PrefixWrapper

ARGON2_PREFIX = "$argon2"
BCRYPT_MAX_BYTES = 72
_LIBRARY = CryptContext(schemes=[
    "argon2", "bcrypt", "pbkdf2_sha256", "pbkdf2_sha512",
    "django_pbkdf2_sha256", "django_bcrypt_sha256", "django_bcrypt", "django_argon2",
])
_WERKZEUG = re.compile(
    r"(?:pbkdf2:(?P<digest>sha1|sha256|sha512):(?P<rounds>[1-9][0-9]{0,8})"
    r"|scrypt:(?P<n>[1-9][0-9]{0,7}):(?P<r>[1-9][0-9]?):(?P<p>[1-9][0-9]?))"
    r"\$(?P<salt>[^$]+)\$(?P<hash>[0-9a-f]{32,128})"
)
# The library warns about quirks of old hashes (a bcrypt salt's padding bits); they are
# replaced at the next sign-in anyway, so the warning would only be noise in the logs.
warnings.filterwarnings("ignore", category=PasslibHashWarning)


def format_of(stored_hash: str) -> str | None:
    """The name of the hash's format (`bcrypt`, `django_pbkdf2_sha256`, `werkzeug_scrypt`...),
    or None when it is in none of them or is malformed."""
    if match := _WERKZEUG.fullmatch(stored_hash):
        if match["digest"]:
            size = hashlib.new(match["digest"]).digest_size
            return "werkzeug_pbkdf2" if len(match["hash"]) == 2 * size else None
        n = int(match["n"])
        power_of_two = n > 1 and n & (n - 1) == 0
        return "werkzeug_scrypt" if power_of_two and len(match["hash"]) == 128 else None  # 64 B
    try:
        handler = _LIBRARY.identify(stored_hash, resolve=True, required=False)
        if isinstance(handler, PrefixWrapper):  # Django's "bcrypt$..." and "argon2$argon2id$..."
            unwrapped = handler.orig_prefix + stored_hash[len(handler.prefix):]
            handler.wrapped.parsehash(unwrapped)
        elif handler is not None:
            handler.parsehash(stored_hash)
    except (ValueError, TypeError):
        return None
    return None if handler is None else str(handler.name)


def verify_foreign(stored_hash: str, password: str) -> bool:
    """True when `password` matches; False for a wrong password and for a hash in no known
    format or malformed. Never raises. It is slow on purpose: call it off the event loop."""
    try:
        if match := _WERKZEUG.fullmatch(stored_hash):
            return hmac.compare_digest(_werkzeug_digest(match, password), match["hash"])
        return bool(_LIBRARY.verify(_as_hashed(password, stored_hash), stored_hash))
    except (ValueError, TypeError, OverflowError, MemoryError):
        return False


def _as_hashed(password: str, stored_hash: str) -> str | bytes:
    """The password as the hash's maker saw it: plain bcrypt only ever read the first 72 bytes
    (the library refuses longer ones rather than cut them, which would lock those users out)."""
    if _LIBRARY.identify(stored_hash, required=False) in ("bcrypt", "django_bcrypt"):
        return password.encode()[:BCRYPT_MAX_BYTES]
    return password


def _werkzeug_digest(match: re.Match[str], password: str) -> str:
    secret, salt = password.encode(), match["salt"].encode()
    if match["digest"]:
        return hashlib.pbkdf2_hmac(match["digest"], secret, salt, int(match["rounds"])).hex()
    n, r, p = int(match["n"]), int(match["r"]), int(match["p"])
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=132 * n * r * p).hex()
