"""The routing queue: who waits, who is free, who gets which chat.

Pure and synchronous: no I/O, no event loop, the clock passed in as ``now``
(seconds, any monotonic origin). The hub glues it to sockets.

Rules
* Fair FIFO: chats are matched in arrival order; a chat that lost its volunteer
  goes back to the *front* (``enqueue(front=True)``).
* A volunteer is eligible when available and its load (active chats plus chats
  whose wrap-up is still due) is below its capacity.
* Among eligible volunteers a chat goes to one who speaks its language when
  there is one, then the least loaded, then (for a chat that does not ask for a
  specialist) one without skills before one with skills, so that specialists stay
  free for the chats that need them, then the longest idle (the one whose load
  changed longest ago).
* Topic and specialists: a chat with a ``skill`` (the topic the young person
  chose) that some volunteer *on duty* holds (available, free or at capacity)
  goes first to a free volunteer with that skill, even when another is freer;
  among them a speaker of the chat's language first. Topic chats are matched to
  specialists before the rest of a pass, so a plain chat that arrived earlier
  does not take the specialist a topic chat needs (it gets another volunteer in
  the same pass if one is free; if only the specialist is free, the topic chat
  has it). While every such volunteer
  is busy the chat waits for one until ``since + specialist_wait_s``, then goes
  to anyone. With no such volunteer on duty it is routed at once like any chat.
  A chat waiting for a specialist never blocks the chats behind it: they are
  matched past it, and it keeps its place (it is first again when it falls back).
* A chat kept for a named volunteer (``keep``: a young person back with a follow-up
  code, ``chat.followup_frames``) goes to that volunteer, before any other chat, as
  soon as they have a free slot, and to nobody else while they are on duty (available)
  and its ``keep_until`` has not passed; like a chat kept for a specialist it blocks
  nobody and keeps its place. With that volunteer not on duty it is routed like any chat.
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
# A topic chat waits this long at most for a busy specialist (JOURCHATT_SPECIALIST_WAIT_S):
# two minutes is about what a young person waits for a chat at all before giving up.
DEFAULT_SPECIALIST_WAIT_S = 120.0


def specialist_wait(plain_s: float, *, ahead: int, service_time_s: float, slots: int,
                    fallback_in_s: float) -> float:
    """Seconds until a chat kept for a specialist is likely answered (not rounded).

    ``plain_s`` is what its place in the queue alone promises; it is also waiting for
    one of ``slots`` specialist slots to free, ``ahead`` chats of its topic in turn
    (itself included), but never past its fallback (``fallback_in_s`` from now) plus
    its place in line.
    """
    specialist = ahead * service_time_s / max(slots, 1)
    return max(plain_s, min(specialist, max(0.0, fallback_in_s) + plain_s))


class QueueFull(Exception):
    """The queue holds ``max_queue`` chats already."""


@dataclass
class _Waiting:
    lang: str
    since: float
    skill: str | None = None     # wait for a volunteer with this skill (until since + the wait)
    keep: str | None = None      # kept for this volunteer (a follow-up code) until keep_until
    keep_until: float = 0.0


@dataclass
class _Volunteer:
    languages: frozenset[str]
    capacity: int
    available: bool
    idle_since: float
    chats: set[str] = field(default_factory=set)
    skills: frozenset[str] = frozenset()

    @property
    def load(self) -> int:
        return len(self.chats)

    def eligible(self) -> bool:
        return self.available and self.load < self.capacity


class Router:
    """Queue of waiting chats and the volunteers who can take them."""

    def __init__(self, max_queue: int = 2000,
                 specialist_wait_s: float = DEFAULT_SPECIALIST_WAIT_S) -> None:
        self.max_queue = max_queue
        self.specialist_wait_s = specialist_wait_s
        self._queue: OrderedDict[str, _Waiting] = OrderedDict()
        self._volunteers: dict[str, _Volunteer] = {}
        self._service_time = float(DEFAULT_SERVICE_TIME_S)

    # -- the queue ---------------------------------------------------------------
    def enqueue(self, chat: str, lang: str, now: float, *, front: bool = False,
                skill: str | None = None, since: float | None = None,
                keep: str | None = None, keep_until: float = 0.0) -> None:
        """Queue ``chat``; ``skill`` asks for a specialist, waited for from ``since`` (default now);
        ``keep`` keeps it for that volunteer until ``keep_until`` while they are on duty."""
        if chat in self._queue:
            return
        if not front and len(self._queue) >= self.max_queue:
            raise QueueFull(chat)
        self._queue[chat] = _Waiting(lang, now if since is None else since, skill or None,
                                     keep or None, keep_until)
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
                      available: bool, now: float, skills: frozenset[str] = frozenset()) -> None:
        v = self._volunteers.get(vid)
        if v is None:
            self._volunteers[vid] = _Volunteer(languages, max(1, capacity), available, now,
                                               skills=skills)
            return
        if available and not v.available:
            v.idle_since = now
        v.languages, v.capacity, v.available, v.skills = languages, max(1, capacity), available, skills

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

    # -- specialists ---------------------------------------------------------------
    def skills_on_duty(self) -> dict[str, int]:
        """Skill -> chat slots of the volunteers on duty (available, free or busy) holding it."""
        out: dict[str, int] = {}
        for v in self._volunteers.values():
            if v.available:
                for skill in v.skills:
                    out[skill] = out.get(skill, 0) + v.capacity
        return out

    def _kept(self, w: _Waiting, now: float) -> bool:
        """Is the chat kept for its named volunteer now (on duty, and its time not up)?"""
        if w.keep is None or now >= w.keep_until:
            return False
        v = self._volunteers.get(w.keep)
        return v is not None and v.available

    def holding_for_volunteer(self, now: float) -> dict[str, str]:
        """Chats now kept for a named volunteer (busy: a free one takes them at the next match)."""
        return {chat: w.keep for chat, w in self._queue.items() if w.keep is not None and self._kept(w, now)}

    def holding_for_specialist(self, now: float) -> dict[str, float]:
        """Chats now kept for a busy specialist -> when they fall back to anyone."""
        on_duty = self.skills_on_duty()
        free = {s for v in self._volunteers.values() if v.eligible() for s in v.skills}
        return {chat: w.since + self.specialist_wait_s for chat, w in self._queue.items()
                if w.skill in on_duty and w.skill not in free
                and now < w.since + self.specialist_wait_s and not self._kept(w, now)}

    def estimate_for(self, chat: str, now: float) -> int:
        """An honest estimate for one waiting chat (rounded up to 30 s).

        Its place in the queue as for any chat; one kept for a busy specialist also
        waits for one of them to be free (the specialists' slots in turn, for the
        topic chats ahead of it), but never past its fallback time plus its place.
        """
        order = list(self._queue)
        position = order.index(chat) + 1
        plain = position * self.wait_per_position()
        w = self._queue[chat]
        slots = self.skills_on_duty().get(w.skill or "", 0)
        if not slots:
            return self.round_wait(plain)
        ahead = 1 + sum(1 for c in order[:position - 1] if self._queue[c].skill == w.skill)
        return self.round_wait(specialist_wait(plain, ahead=ahead, service_time_s=self._service_time,
                                               slots=slots, fallback_in_s=w.since + self.specialist_wait_s - now))

    # -- matching ------------------------------------------------------------------
    def match(self, now: float) -> list[tuple[str, str]]:
        """Assign waiting chats to eligible volunteers; return [(chat, volunteer)].

        O((chats + volunteers) · log volunteers): the eligible volunteers sit in one
        heap by (load, idle since, id), one per language they speak, one per skill
        and one per (skill, language); an entry made stale by an assignment is
        skipped when it comes to the top.
        """
        out: list[tuple[str, str]] = []
        if not self._queue:
            return out
        on_duty = {s for v in self._volunteers.values() if v.available for s in v.skills}
        stamp: dict[str, int] = {}                 # eligible volunteer -> its current entries
        heaps: dict[object, list[tuple[int, int, float, str, int]]] = {None: []}

        def keys(v: _Volunteer) -> list[object]:
            out: list[object] = [None, *v.languages, *((s,) for s in v.skills)]
            out.extend((s, lang) for s in v.skills for lang in v.languages)
            return out

        def entry(v: _Volunteer, vid: str, key: object) -> tuple[int, int, float, str, int]:
            # For a chat without a specialist's topic, a volunteer without skills before one
            # with skills at equal load: the specialists stay free for the chats that need them.
            spare = 1 if v.skills and not isinstance(key, tuple) else 0
            return (v.load, spare, v.idle_since, vid, stamp[vid])

        for vid, v in self._volunteers.items():
            if v.eligible():
                stamp[vid] = 0
                for key in keys(v):
                    heaps.setdefault(key, []).append(entry(v, vid, key))
        if not stamp:
            return out
        for heap in heaps.values():
            heapq.heapify(heap)

        def best(heap: list[tuple[int, int, float, str, int]] | None) -> str | None:
            while heap:
                vid, entry_stamp = heap[0][3], heap[0][4]
                if stamp.get(vid) == entry_stamp:
                    return vid
                heapq.heappop(heap)
            return None

        def assign(chat: str, chosen: str) -> bool:
            """Give ``chat`` to ``chosen``; False once nobody is free any more."""
            del self._queue[chat]
            self.hold(chosen, chat, now)
            out.append((chat, chosen))
            v = self._volunteers[chosen]
            if v.eligible():
                stamp[chosen] += 1
                for key in keys(v):
                    heapq.heappush(heaps[key], entry(v, chosen, key))
            else:
                del stamp[chosen]
            return bool(stamp)

        order = {chat: i for i, chat in enumerate(self._queue)}
        kept = {chat for chat, w in self._queue.items() if self._kept(w, now)}
        # First the chats kept for a named volunteer, each to that volunteer if they are free:
        # nobody else takes them, so they come before anything that volunteer could be given.
        for chat in sorted(kept, key=order.__getitem__):
            w = self._queue[chat]
            if w.keep in stamp:
                assert w.keep is not None
                if not assign(chat, w.keep):
                    return sorted(out, key=lambda pair: order[pair[0]])
        # Then the topic chats, in arrival order, each to a free specialist: a chat that
        # arrived earlier without a topic must not take the specialist a topic chat needs
        # while anyone else is free for it (it gets that one in the pass below).
        for chat, waiting in list(self._queue.items()):
            skill = waiting.skill
            if skill is not None and skill in on_duty and chat not in kept:
                # A specialist speaking the chat's language, then any specialist.
                chosen = best(heaps.get((skill, waiting.lang))) or best(heaps.get((skill,)))
                if chosen is not None and not assign(chat, chosen):
                    return sorted(out, key=lambda pair: order[pair[0]])
        # Then everyone in arrival order; a topic chat still here waits for its specialist
        # (and blocks nobody) until its time is up, then goes like any chat.
        for chat, waiting in list(self._queue.items()):
            skill = waiting.skill
            if chat in kept or (skill is not None and skill in on_duty
                                and now < waiting.since + self.specialist_wait_s):
                continue
            chosen = best(heaps.get(waiting.lang))       # a speaker of the chat's language first
            if chosen is None:
                chosen = best(heaps[None])
            assert chosen is not None
            if not assign(chat, chosen):
                break
        # In arrival order, as one pass hands them out at one instant.
        return sorted(out, key=lambda pair: order[pair[0]])
