"""Chats with lines flowing both ways while Redis fails over, and what became of them.

Each side of a chat writes one line at a time: it sends a line, waits for its ``ack``
(then the line counts as acknowledged: the server promised it is logged) or for
``error unavailable`` (then it sends the same line, same id, again, as a client
should). Every line's text is unique, so a line is found by its text wherever it
ends up. Afterwards the visitor resumes with ``last_seq: 0`` and gets the whole
replay log: an acknowledged line missing from it is a **lost acknowledged line**;
one the other side never got live is **undelivered**. Used by
tests/integration/test_sentinel.py and bench/failover.py.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

# A line neither acked nor refused within this long is a stall, reported as such.
LINE_TIMEOUT_S = 15.0
# How long a refused line waits before it is sent again.
RESEND_S = 0.05


@dataclass
class Side:
    ws: Any
    name: str                    # "visitor" or "volunteer"
    chat: str
    label: str
    acked: dict[str, int] = field(default_factory=dict)     # text -> seq, in ack order
    received: list[str] = field(default_factory=list)        # the other side's lines, live
    received_seq: list[int] = field(default_factory=list)    # and their seqs
    others: list[str] = field(default_factory=list)          # other frames' types (and codes)
    refused: int = 0                                          # error unavailable answers
    acked_at: list[float] = field(default_factory=list)      # loop time of each ack
    _waiting: asyncio.Future[dict[str, Any]] | None = None

    def frame(self, n: int, text: str) -> dict[str, Any]:
        if self.name == "visitor":
            return {"type": "message", "id": f"v{n}", "text": text}
        return {"type": "message", "chat": self.chat, "id": n, "text": text}

    async def read(self) -> None:
        other = "volunteer" if self.name == "visitor" else "visitor"
        async for raw in self.ws:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "message" and frame.get("from") == other:
                self.received.append(frame["text"])
                self.received_seq.append(frame["seq"])
            elif kind in ("ack", "error") and self._waiting is not None and not self._waiting.done():
                self._waiting.set_result(frame)
            elif kind != "message":
                self.others.append(f"{kind} {frame.get('code') or frame.get('by') or ''}".strip())

    async def write(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        n = 0
        while not stop.is_set():
            n += 1
            text = f"{self.label} {self.name} {n}"
            while True:
                self._waiting = loop.create_future()
                await self.ws.send(json.dumps(self.frame(n, text)))
                try:
                    answer = await asyncio.wait_for(self._waiting, LINE_TIMEOUT_S)
                except TimeoutError:
                    raise AssertionError(f"{text!r}: neither acked nor refused within {LINE_TIMEOUT_S:.0f} s") from None
                if answer["type"] == "ack":
                    self.acked[text] = answer["seq"]
                    self.acked_at.append(loop.time())
                    break
                if answer.get("code") != "unavailable":
                    raise AssertionError(f"{text!r}: {answer}")
                self.refused += 1
                await asyncio.sleep(RESEND_S)


@dataclass
class Outcome:
    acked: int
    acked_after: int                 # acknowledged after the failover (the chat went on)
    lost: list[str]                  # acknowledged, missing from the replay log
    undelivered: list[str]           # acknowledged, in the log, never seen live by the other side
    refused: int


class ChatLoad:
    """Both sides of one chat writing until ``stop``; then ``outcome``."""

    def __init__(self, vis: Any, vol: Any, chat: str, label: str) -> None:
        self.sides = [Side(vis, "visitor", chat, label), Side(vol, "volunteer", chat, label)]
        self.tasks: list[asyncio.Task[None]] = []
        self.writers: list[asyncio.Task[None]] = []

    def start(self, stop: asyncio.Event) -> None:
        for side in self.sides:
            self.tasks.append(asyncio.create_task(side.read()))
        self.writers = [asyncio.create_task(side.write(stop)) for side in self.sides]

    async def finish(self) -> None:
        """Wait for the writers (they stop at ``stop``), then for deliveries to settle."""
        await asyncio.gather(*self.writers)
        vis, vol = self.sides
        for _ in range(50):
            if set(vis.acked) <= set(vol.received) and set(vol.acked) <= set(vis.received):
                break
            await asyncio.sleep(0.1)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def outcome(self, log: set[str], after: float) -> Outcome:
        vis, vol = self.sides
        acked = {**vis.acked, **vol.acked}
        lost = [t for t in acked if t not in log]
        got = set(vis.received) | set(vol.received)
        undelivered = [t for t in acked if t in log and t not in got]
        return Outcome(len(acked), sum(1 for s in self.sides for t in s.acked_at if t > after), lost,
                       undelivered, sum(s.refused for s in self.sides))


async def replay_log(ws: Any, timeout: float = 10.0) -> set[str]:
    """Every line a visitor resuming with ``last_seq: 0`` is sent: up to ``assigned`` (or
    ``queued`` or ``ended``, should a failover have lost the chat's assignment)."""
    texts: set[str] = set()
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await ws.recv())
            if frame["type"] == "message" and frame["from"] in ("visitor", "volunteer"):
                texts.add(frame["text"])
            elif frame["type"] in ("assigned", "queued", "ended"):
                return texts
