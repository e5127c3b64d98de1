"""Warm transfer across real nodes (``jourchatt serve`` processes sharing Redis and
PostgreSQL): the sender on one node, the receiver on another; an offer declined, one
that lapses (its timer fired by whichever node claims it), one taken after the sender's
console dropped, and one accepted with both consoles there; and consoles that reconnect
on the other node while an offer is open get it again (the card, the wait)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import websockets

from .test_many_nodes import AUTHENTICATOR, PASSWORD, Node, cluster, lines, recv

pytestmark = pytest.mark.slow

NOTE = "NODE-NOTE-MARKER vill inte att mamma får veta"


async def ids_of(ws: Any) -> dict[str, str]:
    await ws.send(json.dumps({"type": "colleagues"}))
    return {v["display_name"]: v["id"] for v in (await recv(ws, "colleagues"))["volunteers"]}


async def offer(ws: Any, chat: str, to: str, note: str = NOTE) -> str:
    await ws.send(json.dumps({"type": "offer", "chat": chat, "to": {"volunteer": to}, "note": note}))
    return (await recv(ws, "offer_sent"))["offer"]  # type: ignore[no-any-return]


async def test_offers_across_nodes_declined_lapsed_sender_dropped_and_accepted(tmp_path: Path) -> None:
    # The nodes run this checkout's code (tests/conftest.py sets PYTHONPATH for subprocesses).
    async with cluster(tmp_path) as c:
        c.env["JOURCHATT_TRANSFER_OFFER_S"] = "2"
        a, b = await c.node(), await c.node()
        anna = await a.volunteer("anna")
        vis = await a.visitor({"lang": "sv"})
        await recv(vis, "assigned")
        chat = (await recv(anna, "assigned"))["chat"]
        bo = await b.volunteer("bo")
        ids = await ids_of(anna)

        # Declined: the note crosses to node B (sealed on the way), the chat stays with Anna.
        sent = await offer(anna, chat, ids["Bo"])
        card = await recv(bo, "offer")
        assert (card["offer"], card["note"], card["from"]) == (sent, NOTE, "Anna")
        await bo.send(json.dumps({"type": "offer_reply", "offer": sent, "accept": False}))
        ended = await recv(anna, "offer_ended")
        assert (ended["reason"], ended["by"]) == ("declined", "Bo")

        # Lapsed: nobody answers; a node's housekeeping ends it and both sides hear of it.
        sent = await offer(anna, chat, ids["Bo"])
        await recv(bo, "offer")
        assert (await recv(anna, "offer_ended", timeout=10))["reason"] == "expired"
        assert (await recv(bo, "offer_ended", timeout=10))["offer"] == sent
        await anna.send(json.dumps({"type": "message", "chat": chat, "id": 1, "text": "fortfarande Anna"}))
        assert (await lines(vis, 1, "volunteer"))[0]["text"] == "fortfarande Anna"

        # The sender dropped: Bo on B still takes the chat; the visitor on A hears it only now.
        sent = await offer(anna, chat, ids["Bo"])
        await recv(bo, "offer")
        await anna.close()
        await bo.send(json.dumps({"type": "offer_reply", "offer": sent, "accept": True}))
        assert (await recv(bo, "assigned"))["chat"] == chat
        assert (await recv(vis, "assigned"))["volunteer"] == "Bo"
        system = await recv(vis, "message")
        while system.get("key") != "transferred":
            system = await recv(vis, "message")

        # Accepted with both there: Bo (node B) hands it back to Anna, now on node B too... on A.
        anna = await a.volunteer("anna")
        sent = await offer(bo, chat, (await ids_of(bo))["Anna"], "tillbaka")
        assert (await recv(anna, "offer"))["note"] == "tillbaka"
        await anna.send(json.dumps({"type": "offer_reply", "offer": sent, "accept": True}))
        assert (await recv(anna, "assigned"))["chat"] == chat
        assert (await recv(bo, "released"))["reason"] == "transfer"
        assert (await recv(bo, "offer_ended"))["reason"] == "accepted"
        assert (await recv(vis, "assigned"))["volunteer"] == "Anna"
        await vis.send(json.dumps({"type": "message", "id": "v1", "text": "hej igen"}))
        assert (await lines(anna, 1, "visitor"))[0]["text"] == "hej igen"
        for ws in (anna, bo, vis):
            await ws.close()

    # The note never reached a log line of either node.
    logs = sorted(tmp_path.glob("node-*.log"))
    assert len(logs) == 2
    for log in logs:
        assert "NODE-NOTE-MARKER" not in log.read_text(), log.name


async def reconnect(node: Node, username: str) -> Any:
    """A console that comes back on ``node`` (a reload): signed in, its welcome read, nothing else."""
    async with node.cluster.http_client(node.base) as c:
        cookie = await AUTHENTICATOR.sign_in(c, username, PASSWORD)
    ws = await websockets.connect(f"ws://127.0.0.1:{node.port}/ws/volunteer",
                                  additional_headers={"Cookie": cookie}, **node.cluster.ws_options())
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


async def test_consoles_that_reconnect_on_another_node_get_the_open_offer_again(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = await c.node(), await c.node()
        anna = await a.volunteer("anna")
        vis = await a.visitor({"lang": "sv"})
        await recv(vis, "assigned")
        chat = (await recv(anna, "assigned"))["chat"]
        bo = await b.volunteer("bo")
        sent = await offer(anna, chat, (await ids_of(anna))["Bo"])
        first = await recv(bo, "offer")

        # Bo's network drops on B; his console comes back on A: the card again, note and all.
        await asyncio.sleep(1.1)
        await bo.close()
        bo = await reconnect(a, "bo")
        again = await recv(bo, "offer")
        assert (again["offer"], again["note"], again["from"], again["resumed"]) == (sent, NOTE, "Anna", True)
        assert again["expires_in_s"] < first["expires_in_s"]
        # Anna's reloads on B: her wait for the answer again.
        await anna.close()
        anna = await reconnect(b, "anna")
        waiting = await recv(anna, "offer_sent")
        assert (waiting["offer"], waiting["resumed"], waiting["receivers"]) == (sent, True, 1)

        # Bo takes the chat from his new console; Anna's new one and the visitor hear of it.
        await bo.send(json.dumps({"type": "offer_reply", "offer": sent, "accept": True}))
        assert (await recv(bo, "assigned"))["chat"] == chat
        assert (await recv(anna, "released"))["reason"] == "transfer"
        assert (await recv(anna, "offer_ended"))["reason"] == "accepted"
        assert (await recv(vis, "assigned"))["volunteer"] == "Bo"
        for ws in (anna, bo, vis):
            await ws.close()

    for log in sorted(tmp_path.glob("node-*.log")):
        assert "NODE-NOTE-MARKER" not in log.read_text(), log.name
