"""What an LDAP directory says about an account beyond a right or wrong password, read the way
each kind of server says it:

- **Active Directory** refuses a bind with `invalidCredentials` and a sub-code in its diagnostic
  message (`... data 775, ...`): 532 password expired, 533 disabled, 701 account expired, 773 the
  password must be reset, 775 locked. Its `userAccountControl` (bit 2: disabled) and
  `accountExpires` say the same in the entry, which is how the tests emulate it on slapd.
- **OpenLDAP** with the ppolicy overlay answers a bind carrying the password-policy request
  control (draft-behera-ldap-password-policy) with a response control: `passwordExpired`,
  `accountLocked` or `changeAfterReset`, or, on a grace bind of an expired password, the grace
  binds remaining. A `pwdAccountLockedTime` of `000001010000Z` is an administrator's lock, for
  good: the account is disabled.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ldap
from ldap.controls import DecodeControlTuples
from ldap.controls.ppolicy import PasswordPolicyControl

from federation.directory import AccountState

MustChange = Literal["must_change"]
MUST_CHANGE: MustChange = "must_change"
AD_SUB_CODE = re.compile(r"\bdata ([0-9a-fA-F]+)\b")
AD_SUB_CODES: dict[str, AccountState | MustChange] = {
    "532": MUST_CHANGE, "773": MUST_CHANGE,  # expired, must reset: AD lets them change it
    "533": "disabled", "701": "expired", "775": "locked",
}
PPOLICY_PASSWORD_EXPIRED, PPOLICY_ACCOUNT_LOCKED, PPOLICY_CHANGE_AFTER_RESET = 0, 1, 2
LOCKED_FOR_GOOD = "000001010000Z"
UF_ACCOUNTDISABLE = 0x2
FILETIME_EPOCH = 11_644_473_600  # seconds from 1601-01-01 (Windows FILETIME) to 1970-01-01
NEVER = (0, 0x7FFFFFFFFFFFFFFF)  # accountExpires values that mean "never"
STATE_ATTRIBUTES = {
    "active_directory": ("userAccountControl", "accountExpires"),
    "openldap": ("pwdAccountLockedTime",),
}


def policy_request() -> list[Any]:
    return [PasswordPolicyControl()]


def entry_state(values: Mapping[str, Sequence[bytes]], now: float | None = None) -> AccountState | None:
    """What the entry's own attributes (lower-cased names) say: disabled, expired or nothing."""
    control = _integer(values.get("useraccountcontrol"))
    if control is not None and control & UF_ACCOUNTDISABLE:
        return "disabled"
    expires = _integer(values.get("accountexpires"))
    moment = now if now is not None else time.time()
    if expires is not None and expires not in NEVER and expires / 1e7 - FILETIME_EPOCH <= moment:
        return "expired"
    locked = values.get("pwdaccountlockedtime")
    if locked and locked[0].decode("ascii", "replace") == LOCKED_FOR_GOOD:
        return "disabled"
    return None


def refused_bind(exc: ldap.LDAPError) -> AccountState | MustChange | None:
    """What a refused bind says beyond a wrong password, if anything."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    if found := AD_SUB_CODE.search(str(detail.get("info", ""))):
        return AD_SUB_CODES.get(found.group(1).lstrip("0") or "0")
    for control in _policy_controls(detail.get("ctrls", [])):
        if control.error == PPOLICY_ACCOUNT_LOCKED:
            return "locked"
        if control.error == PPOLICY_PASSWORD_EXPIRED:
            return "password_expired"  # no grace binds left: only an administrator can help
    return None


def must_change_after(controls: Sequence[Any]) -> bool:
    """Whether a bind that worked must be followed by a new password: after an administrator's
    reset, or on a grace bind of an expired password."""
    return any(
        control.error == PPOLICY_CHANGE_AFTER_RESET or control.graceAuthNsRemaining is not None
        for control in controls if isinstance(control, PasswordPolicyControl)
    )


def unicode_pwd_change(current: str, new: str) -> list[tuple[int, str, list[bytes]]]:
    """Active Directory's password change by its user (MS-ADTS 3.1.1.3.1.5.2): the old value
    removed and the new one added in one modify, each quoted and in UTF-16LE."""
    return [(ldap.MOD_DELETE, "unicodePwd", [_ad_password(current)]),
            (ldap.MOD_ADD, "unicodePwd", [_ad_password(new)])]


def wrong_current_password(exc: ldap.LDAPError) -> bool:
    """Active Directory answers a change with a wrong old password as a constraint violation
    whose diagnostic starts with 00000056 (ERROR_INVALID_PASSWORD); slapd as invalid
    credentials."""
    if isinstance(exc, ldap.INVALID_CREDENTIALS):
        return True
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    return str(detail.get("info", "")).startswith("00000056")


def _ad_password(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def _policy_controls(raw: Sequence[Any]) -> list[Any]:
    try:
        return [c for c in DecodeControlTuples(list(raw)) if isinstance(c, PasswordPolicyControl)]
    except (ldap.LDAPError, ValueError, TypeError):
        return []


def _integer(values: Sequence[bytes] | None) -> int | None:
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None
