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

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from passlib.context import CryptContext
from passlib.exc import PasslibHashWarning
from passlib.utils.handlers import PrefixWrapper

ARGON2_PREFIX = "$argon2"
BCRYPT_MAX_BYTES = 72
# The most work one verification may cost. A stored hash names its own cost, and an absurd one
# (imported by mistake, or on purpose) would tie up the hashing threads for minutes at each
# guess: such a hash is refused at import and never verified. The limits are well above what
# the systems that make these hashes use (bcrypt 10-13, Django's 1.2 million PBKDF2 rounds,
# argon2 at 64 MiB, Werkzeug's scrypt at 32 MiB).
MAX_BCRYPT_COST = 15
MAX_PBKDF2_ROUNDS = 2_000_000
MAX_ARGON2_KIB, MAX_ARGON2_TIME, MAX_ARGON2_LANES = 256 * 1024, 16, 8
MAX_SCRYPT_BYTES, MAX_SCRYPT_LANES = 256 * 1024 * 1024, 4
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
    or None when it is in none of them, is malformed, or costs more than the limits allow."""
    if match := _WERKZEUG.fullmatch(stored_hash):
        return _werkzeug_format(match)
    try:
        handler = _LIBRARY.identify(stored_hash, resolve=True, required=False)
        if isinstance(handler, PrefixWrapper):  # Django's "bcrypt$..." and "argon2$argon2id$..."
            parsed = handler.wrapped.from_string(
                handler.orig_prefix + stored_hash[len(handler.prefix):]
            )
        elif handler is not None:
            parsed = handler.from_string(stored_hash)
    except (ValueError, TypeError):
        return None
    if handler is None or not _affordable(str(handler.name), parsed):
        return None
    return str(handler.name)


def within_limits(stored_hash: str) -> bool:
    """Whether verifying against this hash costs no more than the limits (an argon2 hash of
    ours, or any hash `format_of` knows); a malformed argon2 hash is not within them."""
    if not stored_hash.startswith(ARGON2_PREFIX):
        return format_of(stored_hash) is not None
    try:
        found = extract_parameters(stored_hash)
    except (InvalidHashError, ValueError):
        return False
    return (found.memory_cost <= MAX_ARGON2_KIB and found.time_cost <= MAX_ARGON2_TIME
            and found.parallelism <= MAX_ARGON2_LANES)


def _affordable(name: str, parsed: object) -> bool:
    rounds = int(getattr(parsed, "rounds", 0) or 0)
    if "bcrypt" in name:
        return rounds <= MAX_BCRYPT_COST  # log2 of the rounds
    if "argon2" in name:
        return (rounds <= MAX_ARGON2_TIME
                and int(getattr(parsed, "memory_cost", 0)) <= MAX_ARGON2_KIB
                and int(getattr(parsed, "parallelism", 0)) <= MAX_ARGON2_LANES)
    return rounds <= MAX_PBKDF2_ROUNDS


def _werkzeug_format(match: re.Match[str]) -> str | None:
    if match["digest"]:
        size = hashlib.new(match["digest"]).digest_size
        fits = len(match["hash"]) == 2 * size and int(match["rounds"]) <= MAX_PBKDF2_ROUNDS
        return "werkzeug_pbkdf2" if fits else None
    n, r, p = int(match["n"]), int(match["r"]), int(match["p"])
    power_of_two = n > 1 and n & (n - 1) == 0
    affordable = 128 * n * r <= MAX_SCRYPT_BYTES and p <= MAX_SCRYPT_LANES
    return "werkzeug_scrypt" if power_of_two and affordable and len(match["hash"]) == 128 else None


def verify_foreign(stored_hash: str, password: str) -> bool:
    """True when `password` matches; False for a wrong password and for a hash in no known
    format or malformed. Never raises. It is slow on purpose: call it off the event loop."""
    if format_of(stored_hash) is None:
        return False  # unknown, malformed, or too costly to check
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
