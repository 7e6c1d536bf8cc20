"""The password policy of the `register` and `reset_password` steps (NIST SP 800-63B §3.1.1.2:
length rules, no composition rules, and a check against commonly used passwords).

The common-password list is zxcvbn's (30,000 passwords seen most often in breaches).
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ConfigDict, Field
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from core import N_


class PasswordPolicy(BaseModel):
    """Step options for choosing a password."""

    model_config = ConfigDict(extra="forbid")

    min_length: int = Field(10, ge=8, le=128, description="Fewest characters.")
    max_length: int = Field(256, ge=64, le=1024, description="Most characters.")
    reject_common: bool = Field(True, description="Refuse the 30,000 most common passwords.")


@cache
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(policy: PasswordPolicy, password: str, *personal: str | None) -> str | None:
    """Why `password` is refused (a message id), or None when it is acceptable. `personal`
    values (username, email) must not be the password either."""
    if len(password) < policy.min_length:
        return N_("That password is too short.")
    if len(password) > policy.max_length:
        return N_("That password is too long.")
    folded = password.casefold()
    if policy.reject_common and folded in _common():
        return N_("That password is too common. Choose another one.")
    if any(value and folded in {value.casefold(), value.casefold().split("@")[0]}
           for value in personal):
        return N_("Your password cannot be your username or email.")
    return None
