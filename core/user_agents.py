"""A browser and its system, named from a User-Agent header for people to recognise their sessions."""

from __future__ import annotations

from typing import NamedTuple

from ua_parser import parse

UNKNOWN = "Other"  # what the parser's rules name anything they do not recognise


class Device(NamedTuple):
    """What the account page shows for a session: "Firefox on Windows". Empty when unknown."""

    browser: str
    system: str


def describe_device(user_agent: str | None) -> Device:
    found = parse(user_agent) if user_agent else None
    browser = found.user_agent.family if found and found.user_agent else ""
    system = found.os.family if found and found.os else ""
    return Device(
        browser if browser != UNKNOWN else "",
        system if system != UNKNOWN else "",
    )
