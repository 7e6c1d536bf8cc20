"""What a finished run proved: `amr` (RFC 8176) and the acr reached from distinct factor classes."""

from __future__ import annotations

from dataclasses import dataclass

from store import AuthEvent

# acr values by the number of distinct factor classes proved (knowledge, possession, inherence).
ACR_BY_FACTORS = {1: "urn:gatehouse:loa:1", 2: "urn:gatehouse:loa:2"}
ACR_VALUES_SUPPORTED = list(ACR_BY_FACTORS.values())


@dataclass(frozen=True)
class Assurance:
    amr: list[str]
    acr: str
    auth_time: float


def assess(events: list[AuthEvent]) -> Assurance:
    """Summarise a run's proofs. Two proofs of the same class count as one factor."""
    if not events:
        raise ValueError("a run cannot finish signed in without any proof of identity")
    amr = list(dict.fromkeys(event.method for event in events))
    factors = len({event.factor for event in events})
    if factors >= 2 and "mfa" not in amr:
        amr.append("mfa")
    acr = ACR_BY_FACTORS[min(factors, max(ACR_BY_FACTORS))]
    return Assurance(amr=amr, acr=acr, auth_time=max(event.at for event in events))
