"""A notice that never came is made up for (``Reconcile.reconcile``, chat.live.reconcile).

Redis Pub/Sub drops messages (shared/design/facts.md). A drop the subscription
notices is repaired on reconnect (``Reconcile.resync``, tested in test_many_nodes); these
tests take away single notices on a node whose link stays up, the case nothing
else would repair: two in-process nodes share a real Redis, the visitor on one, the
console on the other, and the receiving hub drops the first notice of one kind.
What the socket should have got must still arrive, once, in order, and the node
logs ``notice.missed``.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from chat import hub as hub_module
from chat.live import matching as matching_module

from ..conftest import WS, Running, fresh_redis, two_nodes

pytestmark = pytest.mark.slow


class Missed(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.kinds: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if "notice.missed" in msg:
            self.kinds.append(msg)


@pytest.fixture
async def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Running, Running]]:
    monkeypatch.setattr(hub_module, "HOUSEKEEPING_TICK_S", 0.05)
    monkeypatch.setattr(matching_module, "POSITION_POLL_S", 0.1)
    async with two_nodes(tmp_path, await fresh_redis()) as pair:
        yield pair


@pytest.fixture
def missed() -> AsyncIterator[Missed]:
    handler = Missed()
    logging.getLogger().addHandler(handler)
    yield handler  # type: ignore[misc]
    logging.getLogger().removeHandler(handler)


def drop_first(running: Running, **match: Any) -> list[dict[str, Any]]:
    """Make the node's hub lose the first notice whose fields are ``match``; the list gets it."""
    hub = running.hub
    real = hub.live.notices.dispatch
    dropped: list[dict[str, Any]] = []

    async def on_notice(n: dict[str, Any]) -> None:
        if not dropped and all(n.get(k) == v for k, v in match.items()):
            dropped.append(n)
            return
        await real(n)

    hub.live.notices.dispatch = on_notice  # type: ignore[method-assign]
    return dropped


async def chat_between(a: Running, b: Running) -> tuple[WS, WS, str]:
    """A visitor on node a, assigned to Anna's console on node b."""
    vol = await b.volunteer("anna")
    vis = await a.visitor({"lang": "sv"})
    await vis.expect("assigned", timeout=10)
    chat = (await vol.expect("assigned", timeout=10))["chat"]
    return vis, vol, chat


async def test_a_lost_assignment_reaches_the_visitor_once(nodes: tuple[Running, Running], missed: Missed) -> None:
    a, b = nodes
    dropped = drop_first(a, k="assigned", to="visitor")
    vol = await b.volunteer("anna")
    vis = await a.visitor({"lang": "sv"})
    assigned = await vis.expect("assigned", timeout=10)
    assert dropped, "the notice was never dropped: the test proves nothing"
    assert assigned["volunteer"] == "Anna"
    chat = (await vol.expect("assigned"))["chat"]
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "hej"})
    assert (await vis.line("volunteer"))["text"] == "hej"
    await vis.none_of("assigned", timeout=0.5)          # once
    assert any("v-assigned" in m for m in missed.kinds)


async def test_a_lost_line_arrives_in_order_and_once(nodes: tuple[Running, Running], missed: Missed) -> None:
    a, b = nodes
    vis, vol, chat = await chat_between(a, b)
    dropped = drop_first(b, k="line", to="volunteer")
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    await vis.expect("ack")
    got = await vol.line("visitor", timeout=10)
    assert dropped and got["text"] == "ett"
    await vis.send({"type": "message", "id": 2, "text": "två"})
    second = await vol.line("visitor")
    assert second["text"] == "två" and second["seq"] > got["seq"]
    await vol.none_of("message", timeout=0.5)           # neither line twice
    assert any("c-line" in m for m in missed.kinds)


async def test_a_lost_assignment_reaches_the_console(nodes: tuple[Running, Running], missed: Missed) -> None:
    a, b = nodes
    dropped = drop_first(b, k="assigned", to="volunteer")
    vol = await b.volunteer("anna")
    vis = await a.visitor({"lang": "sv"})
    await vis.expect("assigned", timeout=10)
    await vis.send({"type": "message", "id": 1, "text": "hallå"})
    assigned = await vol.expect("assigned", timeout=10)
    assert dropped
    line = await vol.line("visitor")
    assert line["chat"] == assigned["chat"] and line["text"] == "hallå"
    assert any("c-assigned" in m for m in missed.kinds)


async def test_a_lost_end_reaches_the_visitor(nodes: tuple[Running, Running], missed: Missed) -> None:
    a, b = nodes
    vis, vol, chat = await chat_between(a, b)
    dropped = drop_first(a, k="ended", to="visitor")
    await vol.send({"type": "end", "chat": chat})
    ended = await vis.expect("ended", timeout=10)
    assert dropped and ended["by"] == "volunteer"
    assert await vis.closed() == 1000
    assert any("v-ended" in m for m in missed.kinds)


async def test_nothing_is_repaired_when_nothing_was_lost(nodes: tuple[Running, Running], missed: Missed) -> None:
    """Lines for the other side only leave gaps in a feed's seq: not a loss."""
    a, b = nodes
    vis, vol, chat = await chat_between(a, b)
    for i in range(5):
        await vis.send({"type": "message", "id": i, "text": f"rad {i}"})
        await vol.line("visitor")
        await vol.send({"type": "message", "chat": chat, "id": i, "text": f"svar {i}"})
        await vis.line("volunteer")
    await asyncio.sleep(0.6)                            # several reconcile passes
    assert missed.kinds == []


async def test_an_assignment_read_while_the_hello_is_registered_is_kept(
        nodes: tuple[Running, Running], missed: Missed) -> None:
    """The stall bench.relay hit: node b assigned the chat the moment node a's transaction
    put it in the queue, and node a read that notice before it had registered the
    visitor, so the visitor waited for ever (now: held until the welcome went out)."""
    a, b = nodes
    vol = await b.volunteer("anna")
    hub = a.hub
    real_open, real_transact = hub.visitor_side._tx_open, hub.broker.transact
    opening: list[bool] = []

    async def tx_open(tx: Any, st: Any) -> bool:
        opening.append(True)
        return await real_open(tx, st)

    async def transact(fn: Any) -> Any:
        result = await real_transact(fn)
        if opening and opening.pop():
            # Right after the chat landed: the other node matches it, and its notice is
            # read here before visitor_hello goes on.
            await b.hub.matching.match()
            await asyncio.sleep(0.3)
        return result

    hub.visitor_side._tx_open = tx_open  # type: ignore[method-assign]
    hub.broker.transact = transact  # type: ignore[method-assign]
    vis = await a.visitor({"lang": "sv"})
    assert (await vis.recv())["type"] == "welcome"
    assert (await vis.expect("assigned", timeout=10))["volunteer"] == "Anna"
    await vol.expect("assigned")
    assert missed.kinds == []                           # delivered, not repaired later


async def test_after_a_reconnect_what_was_lost_is_made_up_for_at_once(
        nodes: tuple[Running, Running], missed: Missed, monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken subscription is repaired on reconnect (Reconcile.resync runs the reconcile pass
    at once): with the periodic pass out of the way, the lost line still arrives."""
    import redis.asyncio as aioredis

    a, b = nodes
    vis, vol, chat = await chat_between(a, b)
    monkeypatch.setattr(matching_module, "POSITION_POLL_S", 3600.0)   # only the reconnect can repair
    dropped = drop_first(b, k="line", to="volunteer")
    await vis.send({"type": "message", "id": 1, "text": "under avbrottet"})
    await vis.expect("ack")
    await vol.none_of("message", timeout=0.3)
    assert dropped
    client = aioredis.from_url(a.settings.broker_url)
    try:
        await client.client_kill_filter(_type="pubsub")        # every node's subscription drops
    finally:
        await client.aclose()
    got = await vol.line("visitor", timeout=10)
    assert got["text"] == "under avbrottet" and got["chat"] == chat
    assert any("c-line" in m for m in missed.kinds)


async def test_a_lost_line_arrives_when_the_reader_wrote_the_last_line(
        nodes: tuple[Running, Running], missed: Missed) -> None:
    """The repair asks to deliver up to the chat's last seq; when that line is the reader's
    own (acknowledged to it, ahead of the hole), the hole below it must still be filled,
    not taken as already delivered (the stall after a Redis outage: its resync found the
    console's own line last, and every pass after it too)."""
    a, b = nodes
    vis, vol, chat = await chat_between(a, b)
    dropped = drop_first(b, k="line", to="volunteer")
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    await vis.expect("ack")
    for _ in range(100):
        if dropped:
            break
        await asyncio.sleep(0.02)
    assert dropped, "the notice was never dropped: the test proves nothing"
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "svar"})
    own = (await vol.expect("ack"))["seq"]
    assert (await vis.line("volunteer"))["text"] == "svar"
    got = await vol.line("visitor", timeout=5)
    assert (got["text"], got["seq"]) == ("ett", dropped[0]["seq"]) and got["seq"] < own
    await vol.none_of("message", timeout=0.5)           # once
    assert any("c-line" in m for m in missed.kinds)
