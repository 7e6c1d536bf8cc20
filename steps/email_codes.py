"""One-time codes sent by email, shared by `verify_email` and `reset_password`.

A code is 8 digits from `secrets`. The run keeps only its SHA-256 digest, when it expires, when it
was sent and how many wrong tries it had; after `max_attempts` wrong tries it is burnt and the
user asks for a new one (at most once per `resend_interval`). Wrong codes are also throttled per
account and per client address, across runs (steps/throttling.py). Mails are limited per hour, per
destination address and per client address, across runs and steps (steps/rate_limits.py).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core import N_, digest, same_secret
from mail import Mail, MailError
from steps import rate_limits
from steps.base import StepContext
from steps.throttling import Throttle

log = logging.getLogger("gatehouse.steps")

CODE_DIGITS = 8
MAX_CODE_INPUT = 32
ENTER_CODE = N_("Enter the code from the email.")
MAIL_FAILED = N_("We could not send the email. Try again in a moment.")
RESEND_TOO_SOON = N_("A new code was sent a moment ago. Wait a little before asking again.")
# What the digest of a missing code is compared with, so that every check does the same work.
_NO_CODE = digest("no code")


class CodeOptions(BaseModel):
    """Step options for emailed codes."""

    model_config = ConfigDict(extra="forbid")

    code_lifetime: int = Field(900, ge=60, le=86400, description="Seconds a code stays valid.")
    max_attempts: int = Field(
        5, ge=1, le=20, description="Wrong tries allowed per code before it is burnt."
    )
    resend_interval: int = Field(
        30, ge=0, le=3600, description="Seconds to wait before asking for another code."
    )
    mails_per_address: int = Field(
        5, ge=1, le=1000,
        description="Codes mailed to one address per hour, counted across runs and steps.",
    )
    mails_per_client_address: int = Field(
        20, ge=1, le=10000,
        description="Codes mailed per hour at the request of one client address (IPv6: its /64).",
    )


class Check(enum.Enum):
    """What checking a typed code found."""

    OK = "ok"
    WRONG = "wrong"  # a code is pending, and this is not it
    EXPIRED = "expired"  # no usable code: none sent, expired, or burnt by too many wrong tries
    THROTTLED = "throttled"  # too many wrong codes for the account or from the address: not checked


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def issue(scratch: dict[str, Any], now: float, lifetime: int) -> str:
    """Make a new code (replacing any earlier one) and keep its digest in `scratch`."""
    code = new_code()
    scratch.update(digest=digest(code), expires_at=now + lifetime, attempts=0, sent_at=now)
    return code


def burn(scratch: dict[str, Any]) -> None:
    """Forget the pending code (used, or tried too often); `sent_at` stays for the interval."""
    for key in ("digest", "expires_at", "attempts"):
        scratch.pop(key, None)


def may_resend(scratch: dict[str, Any], now: float, interval: int) -> bool:
    sent_at = scratch.get("sent_at")
    return not isinstance(sent_at, int | float) or now - sent_at >= interval


def normalise(typed: str) -> str:
    """The code as typed, without the spaces or dashes people add when copying it."""
    return "".join(typed.split()).replace("-", "")[:MAX_CODE_INPUT]


@dataclass(frozen=True)
class Checked:
    """A checked code, and the seconds to wait first when the answer is THROTTLED."""

    result: Check
    wait: float = 0


async def check(
    ctx: StepContext, typed: str, max_attempts: int, account: str, subject: str | None = None
) -> Checked:
    """Compare `typed` with the pending code, unless wrong codes for `account` (or from this
    client address) are throttled (steps/throttling.py); `subject` as for `Throttle.of`."""
    found = [Check.WRONG]

    async def right() -> bool:
        found[0] = await _compare(ctx, typed, max_attempts)
        return found[0] is Check.OK

    guess = await Throttle.of(ctx, "email_code", account, subject).guess(ctx.now, right)
    return Checked(Check.THROTTLED, guess.wait) if guess.wait else Checked(found[0])


async def _compare(ctx: StepContext, typed: str, max_attempts: int) -> Check:
    """Compare `typed` with the pending code in constant time. Every try counts, and the count is
    saved before comparing (parallel guesses on one run version cannot share an attempt); the
    last allowed wrong try burns the code. A right code is not burnt here (see `burn`)."""
    scratch, now = ctx.scratch, ctx.now
    stored = scratch.get("digest")
    tries = int(scratch.get("attempts", 0))
    usable = isinstance(stored, str) and now < float(scratch.get("expires_at", 0))
    matches = same_secret(digest(normalise(typed)), stored if isinstance(stored, str) else _NO_CODE)
    if not usable or tries >= max_attempts:
        burn(scratch)
        return Check.EXPIRED
    scratch["attempts"] = tries + 1
    await ctx.checkpoint()
    if matches:
        return Check.OK
    if scratch["attempts"] >= max_attempts:
        burn(scratch)
    return Check.WRONG


def code_mail(to: str, subject: str, purpose: str, code: str, lifetime: int) -> Mail:
    """The plain-text message carrying `code`; `purpose` says what it is for."""
    minutes = max(1, math.ceil(lifetime / 60))
    text = (
        f"{purpose}\n\n"
        f"Your code is: {code}\n\n"
        f"It expires in {minutes} minute{'s' if minutes != 1 else ''} and can be used once.\n\n"
        "If you did not ask for this, ignore this email.\n"
    )
    return Mail(to=to, subject=subject, text=text)


async def may_mail(ctx: StepContext, options: CodeOptions, to: str) -> bool:
    """Count one code mail to `to`, asked from this client address; False when an hourly limit
    is reached (then nothing may be sent). Count before the work, whether or not `to` has an
    account, so that a page never tells which."""
    return await rate_limits.take_all(
        ctx,
        (rate_limits.RateLimit("code_mail", "network", options.mails_per_client_address),
         rate_limits.client_network(ctx)),
        (rate_limits.RateLimit("code_mail", "email", options.mails_per_address),
         to.strip().casefold()),
    )


async def send(ctx: StepContext, mail: Mail) -> bool:
    """Hand `mail` to the mailer; False (logged) when it could not be sent."""
    try:
        await ctx.mailer.send(mail)
    except MailError as exc:
        log.warning("step %s could not send a code: %s", ctx.step_name, exc)
        return False
    return True


def send_in_background(ctx: StepContext, mail: Mail) -> None:
    """Send `mail` after the answer has gone, for a page that must take as long whether or not
    there is anything to send (a failure is logged)."""
    task = asyncio.get_running_loop().create_task(send(ctx, mail))
    _sending.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_sending.discard)


_sending: set[asyncio.Task[bool]] = set()


def mask_email(address: str) -> str:
    """An address as a hint (`a•••@example.com`), for pages that should not show it whole."""
    local, at, domain = address.partition("@")
    return f"{local[:1]}•••{at}{domain}" if at else "•••"
