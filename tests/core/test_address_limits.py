"""`AddressLimit`: a token bucket per client network, in bursts of `per_minute` and refilled at
that rate, holding a bounded number of networks."""

from __future__ import annotations

from core import AddressLimit, network_of, whole_seconds

NOW = 1_700_000_000.0


def test_a_burst_then_one_more_a_refill_period() -> None:
    limit = AddressLimit(per_minute=6)
    assert [limit.take("203.0.113.9", NOW) for _ in range(6)] == [0.0] * 6
    assert limit.take("203.0.113.9", NOW) == 10.0  # one comes back every 60/6 seconds
    assert limit.take("203.0.113.9", NOW + 5) == 5.0  # refused takes are not counted
    assert limit.take("203.0.113.9", NOW + 10) == 0.0
    assert limit.take("203.0.113.9", NOW + 10) > 0
    assert limit.take("203.0.113.9", NOW + 3600) == 0.0  # refilled, never above the burst
    assert sum(limit.take("203.0.113.9", NOW + 3600) == 0.0 for _ in range(10)) == 5


def test_networks_count_apart_and_ipv6_by_its_64() -> None:
    limit = AddressLimit(per_minute=1)
    assert limit.take("2001:db8:1:2::5", NOW) == 0.0
    assert limit.take("2001:db8:1:2:ffff::9", NOW) > 0  # the same /64
    assert limit.take("2001:db8:1:3::5", NOW) == 0.0
    assert limit.take("203.0.113.9", NOW) == 0.0
    assert network_of("2001:db8:1:2::5") == "2001:db8:1:2::/64"


def test_zero_is_no_limit_and_an_unknown_address_is_not_counted() -> None:
    off = AddressLimit(per_minute=0)
    assert all(off.take("203.0.113.9", NOW) == 0.0 for _ in range(1000))
    assert AddressLimit(per_minute=1).take(None, NOW) == 0.0


def test_the_networks_held_are_bounded_least_recent_first() -> None:
    limit = AddressLimit(per_minute=1, max_networks=100)
    limit.take("198.51.100.1", NOW)
    for n in range(200):
        limit.take(f"10.0.{n // 256}.{n % 256}", NOW)
    assert len(limit._buckets) == 100  # noqa: SLF001  # the bound is what is tested
    assert limit.take("198.51.100.1", NOW) == 0.0  # forgotten: a full burst again


def test_a_wait_is_whole_seconds_of_at_least_one() -> None:
    assert whole_seconds(0.2) == 1 and whole_seconds(10.0) == 10 and whole_seconds(10.01) == 11
