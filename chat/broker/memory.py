"""The in-memory broker: one process, nothing on disk (``memory://``)."""

from __future__ import annotations

import bisect
import time
from collections import deque

from .base import MAX_LOG_ENTRIES

SWEEP_EVERY = 1000


class MemoryBroker:
    def __init__(self, url: str = "memory://", *, clock: object = time.monotonic) -> None:
        self.url = url
        self._clock = clock
        self._logs: dict[str, deque[tuple[int, bytes]]] = {}
        self._expires: dict[str, float] = {}
        self._appends = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._logs.clear()
        self._expires.clear()

    async def ping(self) -> None:
        return None

    def _now(self) -> float:
        return self._clock()  # type: ignore[operator,no-any-return]

    def _live(self, chat: str) -> deque[tuple[int, bytes]] | None:
        exp = self._expires.get(chat)
        if exp is not None and exp <= self._now():
            self._logs.pop(chat, None)
            self._expires.pop(chat, None)
            return None
        return self._logs.get(chat)

    async def append(self, chat: str, seq: int, payload: bytes, ttl_s: float) -> None:
        log = self._live(chat)
        if log is None:
            log = self._logs[chat] = deque(maxlen=MAX_LOG_ENTRIES)
        log.append((seq, payload))
        self._expires[chat] = self._now() + ttl_s
        self._sweep()

    async def read(self, chat: str, after_seq: int) -> list[tuple[int, bytes]]:
        log = self._live(chat)
        if not log:
            return []
        entries = list(log)
        start = bisect.bisect_right([s for s, _ in entries], after_seq)
        return entries[start:]

    async def delete(self, chat: str) -> None:
        self._logs.pop(chat, None)
        self._expires.pop(chat, None)

    def _sweep(self) -> None:
        # Drop expired logs once every SWEEP_EVERY appends: amortised O(1), no task.
        self._appends += 1
        if self._appends % SWEEP_EVERY:
            return
        now = self._now()
        for chat in [c for c, exp in self._expires.items() if exp <= now]:
            self._logs.pop(chat, None)
            self._expires.pop(chat, None)

    def __len__(self) -> int:
        return len(self._logs)
