"""Address hashes: a random key per UTC day, in the broker, gone with its day unless a block retains it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone


from chat.kernel.addresses import KEY_PREFIX, AddressHasher, _mac, normalise, peer_address
from chat.kernel.broker import Broker, MemoryBroker


NOON = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
SECRET = b"s" * 40



def test_ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() -> None:
    assert normalise("2001:db8:1:2:aaaa::1") == normalise("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert normalise("2001:db8:1:3::1") != normalise("2001:db8:1:2::1")
    assert normalise("::ffff:192.0.2.7") == "192.0.2.7"
    assert normalise("not an address") is None


def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    scope = {"client": ("10.0.0.5", 1234), "headers": [(b"x-forwarded-for", b"198.51.100.1, 203.0.113.9")]}
    assert peer_address(scope) == "10.0.0.5"
    assert peer_address(scope, ("10.0.0.0/8",)) == "203.0.113.9"
    assert peer_address({"client": None, "headers": []}) is None


async def test_same_address_same_day_same_hash_other_day_other_hash(broker: Broker) -> None:
    hasher = AddressHasher(broker, SECRET)
    a = await hasher.hash("192.0.2.1", now=NOON)
    assert a is not None and re.fullmatch(r"[0-9a-f]{32}", a)
    assert await AddressHasher(broker, SECRET).hash("192.0.2.1", now=NOON + timedelta(hours=3)) == a  # any node
    assert await hasher.hash("192.0.2.2", now=NOON) != a
    assert await hasher.hash("192.0.2.1", now=NOON + timedelta(days=1)) != a
    assert await hasher.hash(None) is None


async def test_the_brokers_day_value_alone_does_not_give_the_hashes_away(broker: Broker) -> None:
    """A leaked Redis holds the day's value beside the hashes; without the server secret
    it cannot be used to try addresses against them (2^32 IPv4 addresses are few)."""
    a = await AddressHasher(broker, SECRET).hash("192.0.2.1", now=NOON)
    value = await broker.read(lambda t: t.get(KEY_PREFIX + NOON.date().isoformat(), watch=False))
    assert value is not None
    assert _mac(bytes.fromhex(value), "192.0.2.1") != a
    assert await AddressHasher(broker, b"t" * 40).hash("192.0.2.1", now=NOON) != a   # another secret


async def test_a_days_key_expires_with_the_day_unless_retained(broker: Broker) -> None:
    hasher = AddressHasher(broker, SECRET)
    # Keys made "now": today's key lives until the end of the real UTC day (plus grace).
    now = datetime.now(timezone.utc)
    day = await hasher.today(now)
    both = await hasher.hashes("192.0.2.1", now=now)
    assert list(both) == [day]
    ttl = await _ttl(broker, "jc:addrkey:" + day)
    assert 0 < ttl <= 86400 + 300
    await hasher.retain(day, now + timedelta(hours=72))
    assert await _ttl(broker, "jc:addrkey:" + day) > 71 * 3600
    # The next day, the address hashes under the new key and still under the retained one.
    tomorrow = now + timedelta(days=1)
    later = await AddressHasher(broker, SECRET).hashes("192.0.2.1", now=tomorrow)
    assert later[day] == both[day] and len(later) == 2


async def _ttl(broker: Broker, key: str) -> float:
    if isinstance(broker, MemoryBroker):
        import time
        return broker.expires[key] - time.time()
    return float(await broker.r.ttl(key))  # type: ignore[attr-defined]
