"""The broker contract, written down before the second implementation.

A broker keeps what a live chat needs beyond one socket: today, the **replay log**
of each chat (sealed lines, see ``chat.sealing``) from which a reconnecting
client gets what it missed.

Replay log
* ``append(chat, seq, payload)``: payloads are opaque bytes, sealed before they
  get here. Within one chat, callers append in strictly increasing ``seq``.
* ``read(chat, after_seq)``: every entry with seq > after_seq, in seq order.
  An unknown or expired chat reads as empty.
* Each chat's log is bounded (``MAX_LOG_ENTRIES``; overflow policy: the oldest
  entries are dropped) and expires ``ttl_s`` after its last append; ``delete``
  removes it at once when the chat ends.
* ``ping()`` raises ``BrokerError`` when the broker cannot be reached; so does any
  operation that could not be carried out. No operation fails silently.
"""

from __future__ import annotations

from typing import Protocol

# A chat longer than this many lines keeps only its newest ones for replay.
MAX_LOG_ENTRIES = 5000


class Broker(Protocol):
    url: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None: ...

    async def append(self, chat: str, seq: int, payload: bytes, ttl_s: float) -> None: ...

    async def read(self, chat: str, after_seq: int) -> list[tuple[int, bytes]]: ...

    async def delete(self, chat: str) -> None: ...
