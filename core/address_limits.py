"""`AddressLimit`: how often one client network may do something, counted in the process.

A token bucket per network: `per_minute` actions at once, refilled at `per_minute` a minute. The
buckets live in process memory, bounded to `MAX_NETWORKS` (the least recently seen dropped
first), so the check costs no store round trip; with several processes each counts on its own,
which still bounds what one network can make the store hold. Client addresses are counted by
network: an IPv6 host commonly holds a whole /64, so its addresses count as one.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict

IPV6_NETWORK = 64
MAX_NETWORKS = 10_000


def network_of(address: str) -> str:
    """The key of a client address: itself for IPv4, its /64 for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_NETWORK}", strict=False))
    return str(parsed)


class AddressLimit:
    """At most `per_minute` actions a minute per client network (0: no limit)."""

    def __init__(self, per_minute: int, max_networks: int = MAX_NETWORKS) -> None:
        self.per_minute = per_minute
        self.max_networks = max_networks
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, address: str | None, now: float) -> float:
        """Count one action from `address`: 0.0 when allowed, else the seconds until one is."""
        if self.per_minute <= 0 or not address:
            return 0.0
        key = network_of(address)
        tokens, at = self._buckets.pop(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - at) * self.per_minute / 60.0)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) * 60.0 / self.per_minute
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > self.max_networks:
            self._buckets.popitem(last=False)
        return wait


def whole_seconds(wait: float) -> int:
    """A wait as the whole seconds of a Retry-After header (RFC 9110 §10.2.3), at least 1."""
    return max(1, math.ceil(wait))
