"""What this node holds of a socket: a visitor's chat, a volunteer's console, a feed of lines."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from volunteer.accounts import Profile

from ..outbox import Outbox


class Feed:
    """What one socket has of one chat's lines: every seq up to ``last`` is settled.

    A seq is settled when it was delivered, acknowledged to this side as its own
    line, or read from the log and found not meant for this side. Own lines
    acknowledged ahead of ``last`` wait in ``own`` until the hole below closes.
    """

    __slots__ = ("last", "own", "lock")

    def __init__(self, last: int = 0) -> None:
        self.last = last
        self.own: set[int] = set()
        self.lock = asyncio.Lock()

    def settle(self, seq: int) -> None:
        if seq == self.last + 1:
            self.last = seq
            while self.last + 1 in self.own:
                self.last += 1
                self.own.discard(self.last)
        elif seq > self.last:
            self.own.add(seq)

    def settle_through(self, seq: int) -> None:
        if seq > self.last:
            self.last = seq
            self.own = {s for s in self.own if s > seq}
            while self.last + 1 in self.own:
                self.last += 1
                self.own.discard(self.last)


@dataclass(eq=False, slots=True)
class Visitor:
    """A visitor's socket on this node, for one chat."""

    id: str                     # the chat
    outbox: Outbox
    lang: str
    feed: Feed
    started: float
    channel: str
    state: str = "queued"       # queued | active | ended (as last heard)
    last_queued: tuple[int, int, bool] | None = None
    token: str = ""             # hash of the resume token (its key's TTL is refreshed with the chat's)
    topic: str | None = None    # the intake topic, for an honest estimate while kept for a specialist
    kept_for: str = ""          # the volunteer the chat is kept for (a follow-up code), as last heard
    kept_until: float = 0.0


@dataclass(eq=False)
class Console:
    """A volunteer's console socket on this node."""

    profile: Profile
    outbox: Outbox
    feeds: dict[str, Feed] = field(default_factory=dict)   # active chats
    wrapups: set[str] = field(default_factory=set)
    skills: frozenset[str] = frozenset()                    # topic routing: the account's skills

    def __post_init__(self) -> None:
        if not self.skills:
            self.skills = self.profile.skills

    @property
    def lang(self) -> str:
        # The console speaks sv and en only; a volunteer's other languages are for the chats they take.
        return "en" if "sv" not in self.profile.languages and "en" in self.profile.languages else "sv"


def hash_token(token: str) -> str:
    """What the broker keeps of a resume token."""
    return hashlib.sha256(token.encode()).hexdigest()
