"""The notice table: how a change made in a broker transaction reaches the sockets it concerns.

A notice is a small dict: ``k`` (its kind: line, assigned, requeued, ended, frame,
released, close), ``to`` (visitor, volunteer, observer, sup), the chat, and for a
console the account (``vid``). One made for this node is dispatched at once after
its transaction commits (``Live.commit``); one for another node crosses Pub/Sub
(its payload sealed) and arrives through ``Notices.listen``. The parts of the live
chat register a handler per ``(to, kind)``; a notice nobody registered for is let go.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

from ..kernel.broker import Broker
from ..kernel.logs import get_logger
from ..outbox import Outbox

log = get_logger(__name__)

Handler = Callable[[dict[str, Any], Any], Awaitable[None]]
# Opens a notice's sealed payload: (chat, blob, seq) -> payload.
Opener = Callable[[str, str, int], Any]


class Notices:
    def __init__(self, broker: Broker, node: str, outboxes: dict[str, Outbox], opener: Opener,
                 note_seq: int) -> None:
        self.broker = broker
        self.node = node
        self.outboxes = outboxes
        self._open = opener
        self._note_seq = note_seq
        self._table: dict[tuple[str, str], Handler] = {}
        # Notices for a chat or console whose socket is being registered here: another
        # node may act on it (assign it, say) as soon as the transaction that opens it
        # lands, and its notice may be read before the registration ends. Held, then
        # delivered in order once the socket has its welcome (key: "v:"+chat, "c:"+account).
        self.held: dict[str, list[dict[str, Any]]] = {}

    def register(self, to: str, kinds: tuple[str, ...], handler: Handler) -> None:
        """``handler(notice, payload)`` receives the notices of these kinds for ``to``."""
        for kind in kinds:
            if (to, kind) in self._table:
                raise ValueError(f"a handler for {to}/{kind} is registered already")
            self._table[(to, kind)] = handler

    async def dispatch(self, n: dict[str, Any]) -> None:
        kind = n["k"]
        if kind == "close":
            outbox = self.outboxes.get(n["conn"])
            if outbox is not None:
                outbox.close(n["code"])
            return
        to = n["to"]
        if self.held and to != "observer":
            held = self.held.get(("v:" + n["chat"]) if to == "visitor" else ("c:" + n.get("vid", "")))
            if held is not None:
                held.append(n)
                return
        payload = n.get("payload")
        if payload is None and "blob" in n:
            payload = self._open(n["chat"], n["blob"], n["seq"] if kind == "line" else self._note_seq)
        handler = self._table.get((to, kind))
        if handler is not None:
            await handler(n, payload)

    def hold(self, key: str) -> list[dict[str, Any]]:
        """Hold the notices for socket ``key`` while it registers (see ``held``)."""
        held = self.held[key] = []
        return held

    def unhold(self, key: str, held: list[dict[str, Any]]) -> None:
        """Stop holding for ``key`` (the caller then dispatches ``held``, in order)."""
        if self.held.get(key) is held:     # a second connection of the account may have begun
            del self.held[key]

    async def listen(self) -> None:
        """Dispatch the notices other nodes publish to this one, for as long as it runs."""
        channel = self.broker.subscribe(self.node)
        try:
            async for message in channel:
                try:
                    notices = json.loads(message)
                except ValueError:
                    log.error("notice.unreadable")
                    continue
                # A batch of lines for this node comes as one message: a list (chat.kernel.broker.redis).
                for notice in notices if isinstance(notices, list) else (notices,):
                    try:
                        await self.dispatch(notice)
                    except Exception:
                        log.exception("notice.failed")
        finally:
            # Cancelled between messages, the generator would be left open and its
            # connection collected after the loop closed: close it here.
            await channel.aclose()  # type: ignore[attr-defined]
