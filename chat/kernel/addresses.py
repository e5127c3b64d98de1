"""Keyed hashes of client addresses, under a key that rotates daily.

Abuse control (login throttling, a cap on waiting visitors per address, a
supervisor's block) needs to recognise "the same address again" without ever
keeping the address. ``AddressHasher`` gives an HMAC-SHA256 of the address under
a **key per UTC day**: an HMAC, under the server secret, of a **random value per
day** kept only in the broker (shared by every node, never on disk with
``--save ""``) and deleted when its day is over. So

* a leaked Redis (an RDB dump: the day's value beside the hashes) does not give
  the addresses away: there are only 2^32 IPv4 addresses, and trying them all
  against a hash under a key found in the dump would take minutes, but the key
  also needs the secret, which is never in the broker;
* a hash is meaningless the day after, even to someone holding the database and
  the server secret: no address can be tried against it once the value is gone.

A block that must outlive the day (24 h, 72 h) keeps the key of the day it was
made alive with ``retain(day, until)``; ``hashes()`` answers the address's hash
under every key still alive, so the block still matches, and the old key is
deleted as soon as the last block that needed it has expired.

IPv6 addresses are hashed by their /64 prefix (one subscriber usually holds a
whole /64), IPv4 addresses whole. The address comes from the socket's peer, or,
only when that peer is one of ``JOURCHATT_TRUSTED_PROXIES``, from the last
``X-Forwarded-For`` entry the proxy added.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from .broker import Broker, Tx

KEY_PREFIX = "jc:addrkey:"
# A day's key lives this long past the end of its day, so that a request that
# straddles midnight still finds it; then it is gone unless a block retains it.
KEY_GRACE_S = 300.0
# Keys a block can still need: blocks are at most a week long (see the console).
MAX_KEY_AGE_DAYS = 8


def _key_name(day: str) -> str:
    return KEY_PREFIX + day


def _day(now: datetime) -> str:
    return now.astimezone(timezone.utc).date().isoformat()


def _seconds_left_of_day(now: datetime) -> float:
    utc = now.astimezone(timezone.utc)
    end = datetime(utc.year, utc.month, utc.day, tzinfo=timezone.utc) + timedelta(days=1)
    return (end - utc).total_seconds() + KEY_GRACE_S


def normalise(address: str) -> str | None:
    """The part of an address that is hashed: IPv4 whole, IPv6 by /64; None if not an address."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def parse_proxies(raw: str) -> tuple[str, ...]:
    """Validate a comma-separated list of proxy addresses or networks; raise ValueError."""
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if part:
            out.append(str(ipaddress.ip_network(part, strict=False)))
    return tuple(out)


def peer_address(scope: Mapping[str, Any], trusted_proxies: Iterable[str] = ()) -> str | None:
    """The client's address for an ASGI scope (http or websocket), or None when unknown."""
    client = scope.get("client")
    peer: str | None = client[0] if client else None
    if peer is None:
        return None
    networks = [ipaddress.ip_network(p) for p in trusted_proxies]
    try:
        peer_ip = ipaddress.ip_address(peer)
    except ValueError:
        return None
    if networks and any(peer_ip in n for n in networks):
        headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
        for name, value in headers:
            if name == b"x-forwarded-for":
                last = value.decode("latin-1").split(",")[-1].strip()
                if normalise(last) is not None:
                    return last
    return peer


class AddressHasher:
    """Hashes addresses under the day's key: the server secret and the day's random value in the broker."""

    def __init__(self, broker: Broker, secret: bytes) -> None:
        self.broker = broker
        self._secret = secret
        self._cache: dict[str, bytes] = {}

    def _day_key(self, value: str) -> bytes:
        return hmac.new(self._secret, b"jourchatt/address-day-key\x00" + bytes.fromhex(value),
                        hashlib.sha256).digest()

    async def _today_key(self, now: datetime) -> tuple[str, bytes]:
        day = _day(now)
        key = self._cache.get(day)
        if key is not None:
            return day, key
        fresh = secrets.token_hex(32)

        async def tx(t: Tx) -> str:
            current = await t.get(_key_name(day))
            if current is not None:
                return current
            t.set(_key_name(day), fresh, ex=_seconds_left_of_day(now))
            return fresh

        value = await self.broker.transact(tx)
        # Forget other days' keys at once: nothing in this process keeps them.
        self._cache = {day: self._day_key(value)}
        return day, self._cache[day]

    async def hash(self, address: str | None, *, now: datetime | None = None) -> str | None:
        """The address's hash under today's key (32 hex characters), or None if no address."""
        norm = normalise(address) if address else None
        if norm is None:
            return None
        _, key = await self._today_key(now or datetime.now(timezone.utc))
        return _mac(key, norm)

    async def hashes(self, address: str | None, *, now: datetime | None = None) -> dict[str, str]:
        """The address's hash under every key still alive: {day: hash}, today's included."""
        norm = normalise(address) if address else None
        if norm is None:
            return {}
        now = now or datetime.now(timezone.utc)
        today, key = await self._today_key(now)
        names = [_key_name((now.astimezone(timezone.utc) - timedelta(days=d)).date().isoformat())
                 for d in range(1, MAX_KEY_AGE_DAYS)]

        async def read(t: Tx) -> list[str | None]:
            return [await t.get(n, watch=False) for n in names]

        out = {today: _mac(key, norm)}
        for name, value in zip(names, await self.broker.read(read)):
            if value is not None:
                out[name[len(KEY_PREFIX):]] = _mac(self._day_key(value), norm)
        return out

    async def retain(self, day: str, until: datetime) -> None:
        """Keep ``day``'s key alive until ``until`` (a block made that day needs it)."""
        name = _key_name(day)

        async def tx(t: Tx) -> None:
            if await t.get(name) is not None:
                now = datetime.now(timezone.utc)
                end_of_day = datetime.fromisoformat(day).replace(tzinfo=timezone.utc) + timedelta(days=1)
                left = (max(until, end_of_day) - now).total_seconds() + KEY_GRACE_S
                if left > 0:
                    t.expire(name, left)  # never shorter than the day's own life

        await self.broker.transact(tx)

    async def today(self, now: datetime | None = None) -> str:
        """The UTC day whose key hashes addresses now."""
        day, _ = await self._today_key(now or datetime.now(timezone.utc))
        return day


def _mac(key: bytes, normalised: str) -> str:
    return hmac.new(key, b"address\x00" + normalised.encode(), hashlib.sha256).hexdigest()[:32]
