"""Frames waiting to go out on one socket.

One per connection, so it is kept small: a deque and, only while the send loop
waits, one future (an ``asyncio.Queue`` costs three deques; with thousands of
idle visitors that is most of a kilobyte each, see bench/idle.py).

Live frames are bounded (``OUTBOX_FRAMES``). A replay may add a burst beyond
that: it is bounded by the replay log itself, and the allowance it grants
shrinks again as the send loop takes frames out.

A frame is written at once, without waking the send loop, when nothing is
queued or being sent before it and the server can take it (``direct``: the
socket's protocol, chat.server.SocketProtocol, whose ``write_text_now`` says no
when the socket is not open or its transport is full). Order is kept: once one
frame waits, every later one waits behind it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

import msgspec

from .kernel.logs import get_logger

log = get_logger("chat.outbox")

# Frames buffered for one socket. Overflow policy: close the socket (4408); the
# client resumes with last_seq and loses nothing (the lines are in the replay log).
OUTBOX_FRAMES = 512

# Scope key of a socket's protocol (chat.server.SocketProtocol), for ``Outbox.direct``
# and the sockets' loops. The protocol itself, not a bound method or a tuple: with
# 15,000 idle sockets every allocation per connection shows (bench/idle.py).
SOCKET = "jourchatt.socket"


class Writer(Protocol):
    def write_text_now(self, text: str) -> bool: ...


_encode = msgspec.json.Encoder().encode


def dumps(frame: Any) -> str:
    """A frame as compact JSON text, UTF-8 characters unescaped (as ``json.dumps`` with
    ``ensure_ascii=False`` and no spaces writes it). msgspec writes it about 6x faster
    than the standard library's encoder (bench/frames.py)."""
    return _encode(frame).decode()


class Outbox:
    __slots__ = ("frames", "close_code", "conn", "limit", "allowance", "_waiter", "direct", "sending")

    def __init__(self, conn: str, limit: int = OUTBOX_FRAMES) -> None:
        self.conn = conn
        self.frames: deque[dict[str, Any] | None] = deque()
        self.close_code: int | None = None
        self.limit = limit
        self.allowance = 0
        self._waiter: asyncio.Future[None] | None = None
        # Writes a text frame now if the socket can take it (True), else False.
        self.direct: Writer | None = None
        self.sending = False        # the send loop is writing a frame it took out

    def send(self, frame: dict[str, Any], *, replay: bool = False) -> None:
        if self.close_code is not None:
            return
        if (self.direct is not None and not self.frames and not self.sending
                and self.direct.write_text_now(dumps(frame))):
            return
        if replay:
            self.allowance += 1
        elif len(self.frames) >= self.limit + self.allowance:
            log.warning("outbox.overflow", conn=self.conn)
            self.close(4408)
            return
        self.frames.append(frame)
        self._wake()

    def close(self, code: int = 1000) -> None:
        """Ask the send loop to close the socket after what is queued (or at once on overflow)."""
        if self.close_code is not None:
            return
        self.close_code = code
        if code == 4408:     # behind anyway: drop what is queued, the client resumes
            self.frames.clear()
        self.frames.append(None)
        self._wake()

    async def next(self) -> dict[str, Any] | None:
        """The next frame to send; None when the socket is to be closed with ``close_code``."""
        while not self.frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        frame = self.frames.popleft()
        if self.allowance:
            self.allowance -= 1
        return frame

    def pending(self) -> int:
        return len(self.frames)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
