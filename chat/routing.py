"""The routing queue: who waits, who is free, who gets which chat.

Pure and synchronous: no I/O, no event loop, the clock passed in as ``now``
(seconds, any monotonic origin). The hub glues it to sockets.

Rules
* Fair FIFO: chats are matched in arrival order; a chat that lost its volunteer
  goes back to the *front* (``enqueue(front=True)``).
* A volunteer is eligible when available and its load (active chats plus chats
  whose wrap-up is still due) is below its capacity.
* Among eligible volunteers a chat goes to one who speaks its language when
  there is one, then the least loaded, then the longest idle (the one whose load
  changed longest ago).
* The queue is bounded (``max_queue``); overflow policy: refuse the newcomer
  (``QueueFull``), never drop someone already waiting.
"""

from __future__ import annotations

import heapq
import math
from collections import OrderedDict
from dataclasses import dataclass, field

# Until real chats have been measured, assume a chat occupies a volunteer this long.
DEFAULT_SERVICE_TIME_S = 20 * 60
# Weight of the newest observation in the moving average of chat durations.
EWMA_ALPHA = 0.2
# Estimated waits are rounded up to this step: a promise, not a stopwatch.
WAIT_STEP_S = 30


class QueueFull(Exception):
    """The queue holds ``max_queue`` chats already."""


@dataclass
class _Waiting:
    lang: str
    since: float


@dataclass
class _Volunteer:
    languages: frozenset[str]
    capacity: int
    available: bool
    idle_since: float
    chats: set[str] = field(default_factory=set)

    @property
    def load(self) -> int:
        return len(self.chats)

    def eligible(self) -> bool:
        return self.available and self.load < self.capacity


class Router:
    """Queue of waiting chats and the volunteers who can take them."""

    def __init__(self, max_queue: int = 2000) -> None:
        self.max_queue = max_queue
        self._queue: OrderedDict[str, _Waiting] = OrderedDict()
        self._volunteers: dict[str, _Volunteer] = {}
        self._service_time = float(DEFAULT_SERVICE_TIME_S)

    # -- the queue ---------------------------------------------------------------
    def enqueue(self, chat: str, lang: str, now: float, *, front: bool = False) -> None:
        if chat in self._queue:
            return
        if not front and len(self._queue) >= self.max_queue:
            raise QueueFull(chat)
        self._queue[chat] = _Waiting(lang, now)
        if front:
            self._queue.move_to_end(chat, last=False)

    def dequeue(self, chat: str) -> bool:
        """Take a chat out of the queue (the visitor left); True if it was there."""
        return self._queue.pop(chat, None) is not None

    def waiting(self) -> int:
        return len(self._queue)

    def is_waiting(self, chat: str) -> bool:
        return chat in self._queue

    def positions(self) -> dict[str, int]:
        return {chat: i for i, chat in enumerate(self._queue, start=1)}

    def wait_per_position(self) -> float:
        """Expected seconds between two answered chats: mean chat length / open slots."""
        slots = sum(v.capacity for v in self._volunteers.values() if v.available)
        return self._service_time / max(slots, 1)

    @staticmethod
    def round_wait(seconds: float) -> int:
        return int(math.ceil(seconds / WAIT_STEP_S) * WAIT_STEP_S)

    def estimated_wait(self, position: int) -> int:
        """Seconds until a chat at ``position`` is likely answered (rounded up to 30 s)."""
        return self.round_wait(position * self.wait_per_position())

    # -- volunteers ----------------------------------------------------------------
    def set_volunteer(self, vid: str, *, languages: frozenset[str], capacity: int,
                      available: bool, now: float) -> None:
        v = self._volunteers.get(vid)
        if v is None:
            self._volunteers[vid] = _Volunteer(languages, max(1, capacity), available, now)
            return
        if available and not v.available:
            v.idle_since = now
        v.languages, v.capacity, v.available = languages, max(1, capacity), available

    def remove_volunteer(self, vid: str) -> set[str]:
        """Forget a volunteer; return the chats it held (the caller re-queues them)."""
        v = self._volunteers.pop(vid, None)
        return set(v.chats) if v else set()

    def hold(self, vid: str, chat: str, now: float) -> None:
        """Count ``chat`` against the volunteer's capacity (an assignment or a resumed one)."""
        v = self._volunteers[vid]
        v.chats.add(chat)
        v.idle_since = now

    def release(self, vid: str, chat: str, now: float, *, duration_s: float | None = None) -> None:
        """The chat no longer occupies the volunteer (wrap-up filed, or handed back)."""
        v = self._volunteers.get(vid)
        if v is not None and chat in v.chats:
            v.chats.discard(chat)
            v.idle_since = now
        if duration_s is not None and duration_s > 0:
            self._service_time += EWMA_ALPHA * (duration_s - self._service_time)

    def load(self, vid: str) -> int:
        v = self._volunteers.get(vid)
        return v.load if v else 0

    def volunteers_online(self) -> int:
        return sum(1 for v in self._volunteers.values() if v.available)

    # -- matching ------------------------------------------------------------------
    def match(self, now: float) -> list[tuple[str, str]]:
        """Assign waiting chats to eligible volunteers; return [(chat, volunteer)].

        O((chats + volunteers) · log volunteers): the eligible volunteers sit in one
        heap by (load, idle since, id) and in one heap per language they speak; an
        entry made stale by an assignment is skipped when it comes to the top.
        """
        out: list[tuple[str, str]] = []
        if not self._queue:
            return out
        stamp: dict[str, int] = {}                 # eligible volunteer -> its current entries
        heaps: dict[str | None, list[tuple[int, float, str, int]]] = {None: []}
        for vid, v in self._volunteers.items():
            if v.eligible():
                stamp[vid] = 0
                entry = (v.load, v.idle_since, vid, 0)
                heaps[None].append(entry)
                for lang in v.languages:
                    heaps.setdefault(lang, []).append(entry)
        if not stamp:
            return out
        for heap in heaps.values():
            heapq.heapify(heap)

        def best(heap: list[tuple[int, float, str, int]] | None) -> str | None:
            while heap:
                vid, entry_stamp = heap[0][2], heap[0][3]
                if stamp.get(vid) == entry_stamp:
                    return vid
                heapq.heappop(heap)
            return None

        for chat, waiting in list(self._queue.items()):
            chosen = best(heaps.get(waiting.lang))       # a speaker of the chat's language first
            if chosen is None:
                chosen = best(heaps[None])
            assert chosen is not None
            del self._queue[chat]
            self.hold(chosen, chat, now)
            out.append((chat, chosen))
            v = self._volunteers[chosen]
            if v.eligible():
                stamp[chosen] += 1
                entry = (v.load, v.idle_since, chosen, stamp[chosen])
                heapq.heappush(heaps[None], entry)
                for lang in v.languages:
                    heapq.heappush(heaps[lang], entry)
            else:
                del stamp[chosen]
                if not stamp:
                    break
        return out
