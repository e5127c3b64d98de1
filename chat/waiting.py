"""A cap on visitors waiting in the queue from one address, across every node.

One machine must not fill the queue (``JOURCHATT_MAX_QUEUE``) and shut everyone
else out; but many young people share one address (a school's Wi-Fi, a mobile
carrier's NAT), so the cap (``JOURCHATT_MAX_WAITING_PER_ADDRESS``) is generous
and counts only visitors **waiting in the queue**: once a chat is taken, or
ends, it no longer counts.

The count lives in the broker, so every node behind a balancer agrees, under
``jc:waiting:<hash>``, the address's keyed hash under the day's rotating key
(``chat.kernel.addresses``), never the address. The sorted set holds

    ``r:<random>`` -> expiry   a place reserved by a hello being handled now
    ``c:<chat>``   -> arrival  a chat that was queued from this address

A reservation is taken atomically (the set is watched) before the chat is
opened and then turned into its chat (which keeps the hash in its ``wait``
field), or released. A chat that leaves the queue, taken or ended, is removed
from the set in the same transaction (``state.left_queue``), so no key ties a
chat that is taken or over to an address hash. The count does not depend on
that removal: a ``c:`` member counts only while the chat is in ``jc:queue``, and
members that no longer count are pruned by the next hello. So nothing leaks when
a node dies: its half-done reservations expire (``RESERVE_S``), its queued chats
leave the queue through the usual reaping, and the set itself carries a TTL
(``WAITING_TTL_S``).

Only addresses that are a client's count: the last ``X-Forwarded-For`` entry of
a trusted proxy, or a socket peer, outside the internal networks. A loopback or
private address (RFC 1918, ULA), forwarded or the peer itself, is a reverse proxy
that is not in ``JOURCHATT_TRUSTED_PROXIES`` or a container network: counting it
would make every visitor "the same address", so it is not counted.
"""

from __future__ import annotations

import ipaddress
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from . import state as S
from .state import waiting_key
from .kernel.addresses import AddressHasher, normalise, peer_address
from .kernel.broker import Broker, BrokerError, Tx
from .live.sessions import hash_token
from .kernel.logs import get_logger

log = get_logger("chat.waiting")

# A reservation is turned into its chat within a few broker round trips; one
# left by a node that died between the two expires after this long.
RESERVE_S = 60.0
# The set expires this long after its last change. Chats that wait longer than
# this (the queue's own keys live 6 h) stop counting: a cap that forgets is
# better than one that locks an address out for good.
WAITING_TTL_S = 6 * 3600.0


# Networks a real visitor never connects from, but a reverse proxy or a container
# network does (loopback, RFC 1918, carrier-grade NAT's inside, link-local, IPv6 ULA).
_INTERNAL = tuple(ipaddress.ip_network(n) for n in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "169.254.0.0/16", "0.0.0.0/32", "::1/128", "::/128", "fc00::/7", "fe80::/10"))



def countable_address(scope: Mapping[str, Any], trusted_proxies: Iterable[str] = ()) -> str | None:
    """The client's address when it is one client's, else None (see the module docstring)."""
    trusted = tuple(trusted_proxies)
    address = peer_address(scope, trusted)
    client = scope.get("client")
    if address is None or not client or normalise(address) is None:
        return None
    ip = ipaddress.ip_address(address.strip("[]"))
    if any(ip in net for net in _INTERNAL):
        return None                     # a proxy or container network, forwarded or not
    if address != client[0]:
        return address                  # a trusted proxy's X-Forwarded-For
    if any(ip in ipaddress.ip_network(p) for p in trusted):
        return None                     # the proxy itself, without a forwarded address
    return address


@dataclass
class Place:
    """The outcome of ``reserve``: refused, or a reservation to settle (None: not counted)."""

    refused: bool = False
    address_hash: str | None = None
    member: str | None = None


class WaitingCap:
    """Reserve a place in the queue for an address; settle it with the chat it became."""

    def __init__(self, broker: Broker, hasher: AddressHasher, limit: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.broker = broker
        self.hasher = hasher
        self.limit = limit
        self.clock = clock

    async def reserve(self, address: str | None) -> Place:
        """A place for a new chat from ``address``, or ``Place(refused=True)`` at the cap."""
        address_hash = await self.hasher.hash(address) if address else None
        if address_hash is None:
            return Place()
        key, member, now = waiting_key(address_hash), "r:" + secrets.token_hex(8), self.clock()

        async def tx(t: Tx) -> bool:
            counted, stale = await self._count(t, key, now)
            if stale:
                t.zrem(key, *stale)
            if counted >= self.limit:
                return False
            t.zadd(key, {member: now + RESERVE_S})
            t.expire(key, WAITING_TTL_S)
            return True

        if not await self.broker.transact(tx):
            log.info("waiting.refused", limit=self.limit)
            return Place(refused=True)
        return Place(address_hash=address_hash, member=member)

    async def settle(self, place: Place, chat: str | None) -> None:
        """Turn the reservation into ``chat`` (queued now), or release it (``chat`` None).

        Never raises: if the broker is away the reservation expires by itself.
        """
        if place.address_hash is None or place.member is None:
            return
        key, now = waiting_key(place.address_hash), self.clock()

        async def tx(t: Tx) -> None:
            t.zrem(key, place.member)  # type: ignore[arg-type]
            # Counted only while it waits; a chat already taken (or over) is not added. The
            # chat keeps the hash so that leaving the queue removes it (state.left_queue):
            # no key ties a chat that is taken or over to an address hash.
            if chat is not None and await t.hget(S.chat_key(chat), "state") == "queued":
                t.hset(S.chat_key(chat), {"wait": place.address_hash})  # type: ignore[dict-item]
                t.zadd(key, {"c:" + chat: now})
                t.expire(key, WAITING_TTL_S)

        try:
            await self.broker.transact(tx)
        except BrokerError as exc:
            log.warning("waiting.unsettled", error=str(exc))

    async def waiting(self, address: str | None) -> int:
        """How many visitors from ``address`` wait now (reservations included)."""
        address_hash = await self.hasher.hash(address) if address else None
        if address_hash is None:
            return 0
        key, now = waiting_key(address_hash), self.clock()

        async def read(t: Tx) -> int:
            return (await self._count(t, key, now, watch=False))[0]

        return await self.broker.read(read)

    @staticmethod
    async def _count(t: Tx, key: str, now: float, *, watch: bool = True) -> tuple[int, list[str]]:
        counted, stale = 0, []
        for member, score in await t.zrange(key, watch=watch):
            if member.startswith("r:"):
                live = score > now
            else:
                # Not watched: the queue changes all the time, and a chat that
                # leaves it between this read and the write only frees a place.
                live = await t.zscore(S.QUEUE, member[2:], watch=False) is not None
            if live:
                counted += 1
            else:
                stale.append(member)
        return counted, stale


async def resumable(broker: Broker, token: str | None) -> bool:
    """Does ``token`` resume a chat that is still open? (Such a hello needs no new place.)"""
    if not token:
        return False

    async def read(t: Tx) -> bool:
        chat = await t.get(S.token_key(hash_token(token)), watch=False)
        if chat is None:
            return False
        return await t.hget(S.chat_key(chat), "state", watch=False) in ("queued", "active")

    return await broker.read(read)
