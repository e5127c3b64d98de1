"""Delivery: a logged line to a socket, in order, each at most once.

Every line has the chat's next ``seq``. A socket's ``Feed`` knows the last seq it
accounted for; a line that arrives above a hole (Pub/Sub may drop messages) first
fills the hole from the sealed replay log, in order. A reader skips lines not meant
for it, so its seq numbers have gaps, never reversals. Lines are rendered here, in
each reader's language.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from .. import state as S
from .. import texts
from ..outbox import Outbox
from .context import Live
from .sessions import Feed


def render_extra(frame: dict[str, Any], entry: dict[str, Any], side: str) -> None:
    """Supervisors' lines: a name, and ``from: "volunteer"`` for the visitor (the contract's word)."""
    if "name" in entry:
        frame["name"] = entry["name"]
    if entry["from"] == "supervisor" and side == "visitor":
        frame["from"] = "volunteer"


def render(chat_id: str, seq: int, entry: dict[str, Any], side: str, lang: str) -> dict[str, Any]:
    """The frame that shows logged line ``seq`` to ``side``."""
    if entry.get("kind") == "referral":
        if side == "visitor":
            return {"type": "referral", "seq": seq, "services": entry["cards"]}
        return {"type": "referred", "chat": chat_id, "seq": seq, "services": entry["services"]}
    frame: dict[str, Any] = {"type": "message", "seq": seq, "from": entry["from"]}
    if side == "volunteer":
        frame["chat"] = chat_id
    if entry["from"] == "system":
        frame["key"] = entry["key"]
        frame["text"] = texts.text(entry["key"], lang)
    else:
        frame["text"] = entry["text"]
    render_extra(frame, entry, side)
    return frame


class Delivery:
    def __init__(self, live: Live) -> None:
        self.live = live
        live.notices.register("visitor", ("line",), self._to_visitor)
        live.notices.register("volunteer", ("line",), self._to_console)

    async def _to_visitor(self, n: dict[str, Any], payload: Any) -> None:
        vis = self.live.visitors.get(n["chat"])
        if vis is not None:
            await self.deliver(vis.id, vis.feed, vis.outbox, "visitor", vis.lang, n["seq"], payload)

    async def _to_console(self, n: dict[str, Any], payload: Any) -> None:
        con = self.live.consoles.get(n.get("vid", ""))
        if con is None:
            return
        feed = con.feeds.get(n["chat"])
        if feed is not None:
            await self.deliver(n["chat"], feed, con.outbox, "volunteer", con.lang, n["seq"], payload)

    async def read_log(self, chat_id: str, after: int) -> list[tuple[int, dict[str, Any]]]:
        """The logged lines after seq ``after``, opened, in order."""
        found = await self.live.broker.read(
            lambda tx: tx.zrangebyscore(S.log_key(chat_id), after + 1, math.inf, watch=False))
        sealer = self.live.sealer(chat_id)
        return [(int(seq), json.loads(sealer.open(int(seq), base64.b64decode(blob))))
                for blob, seq in found]

    async def replay(self, chat_id: str, feed: Feed, outbox: Outbox, side: str, lang: str) -> int:
        """Send the logged lines after ``feed.last`` (caller holds feed.lock)."""
        entries = await self.read_log(chat_id, feed.last)
        for seq, entry in entries:
            if entry.get("to", "both") in ("both", side):
                outbox.send(render(chat_id, seq, entry, side, lang), replay=True)
        if entries:
            feed.settle_through(entries[-1][0])
        return len(entries)

    async def deliver(self, chat_id: str, feed: Feed, outbox: Outbox, side: str, lang: str,
                      seq: int, entry: dict[str, Any] | None) -> int:
        """Deliver line ``seq``; first fill any hole below it from the log, in order.

        Returns how many frames went out (lines not meant for ``side`` are skipped).
        """
        sent = 0
        async with feed.lock:
            # A seq in ``feed.own`` (this side's line, acknowledged above a hole) is no
            # reason to stop: the hole below it is still to fill. Reconcile and resync ask
            # for the chat's last seq, which is often the reader's own line.
            if seq <= feed.last:
                return 0
            if seq == feed.last + 1 and entry is not None:
                if entry.get("to", "both") in ("both", side):
                    outbox.send(render(chat_id, seq, entry, side, lang))
                    sent = 1
                feed.settle(seq)
                return sent
            for logged_seq, logged in await self.read_log(chat_id, feed.last):
                if logged_seq in feed.own:
                    continue
                if logged.get("to", "both") in ("both", side) and logged["from"] != side:
                    outbox.send(render(chat_id, logged_seq, logged, side, lang))
                    sent += 1
                feed.settle_through(logged_seq)
            feed.settle_through(seq)
        return sent
