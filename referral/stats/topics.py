"""Topic routing in the statistics: chats by the young person's own topic, and whether
topic chats reached a volunteer trained for it, with their waits (issue 18).

Over the records of a report's scope (``scope.where``), from two columns the chat
writes (``referral.record``): ``intake_topic`` (the widget's question; not the
wrap-up's ``topic``, the volunteer's judgement) and ``specialist`` (whether the
volunteer who took a topic chat held that topic as a skill; null when no volunteer
took it). One grouped query per scope; waits are kept to 10 s, so the groups are few.

The block, ``topic_routing`` in ``GET /api/stats`` and the partnership report::

    {"by_intake_topic": {"exposed": n, ..., "not_stated": n},        # contacts
     "<topic>": {"answered": n, "reached_specialist": n, "other_volunteer": n,
                 "median_wait_s": s, "median_wait_specialist_s": s}, ...}

A published report withholds counts of 1 to threshold - 1 (and, where a total would
give one away, its neighbour), and the waits of a topic whose answered count is
withheld, like every other figure (``disclosure``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import vocab
from .scope import ANSWERED, CR, Scope, where

SUPPRESSED = {"suppressed": True}
NOT_STATED = "not_stated"


@dataclass
class TopicFigures:
    contacts: dict[str, int] = field(default_factory=dict)            # intake topic -> records
    answered: dict[str, int] = field(default_factory=dict)
    specialist: dict[str, int] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)
    waits: dict[tuple[str, bool], dict[int, int]] = field(default_factory=dict)   # (topic, specialist) -> hist


async def figures(conn: AsyncConnection, scope: Scope) -> TopicFigures:
    answered = case((CR.c.outcome.in_(ANSWERED), 1), else_=0)
    q = (select(CR.c.intake_topic, CR.c.specialist, answered.label("answered"), CR.c.wait_s,
                func.count().label("n"))
         .where(and_(*where(scope, "all")))
         .group_by(CR.c.intake_topic, CR.c.specialist, answered, CR.c.wait_s))
    f = TopicFigures()
    for topic, specialist, was_answered, wait_s, n in (await conn.execute(q)).all():
        key = topic if topic in vocab.ROLES else NOT_STATED
        f.contacts[key] = f.contacts.get(key, 0) + n
        if key == NOT_STATED or not was_answered:
            continue
        f.answered[key] = f.answered.get(key, 0) + n
        if specialist is True:
            f.specialist[key] = f.specialist.get(key, 0) + n
        elif specialist is False:
            f.other[key] = f.other.get(key, 0) + n
        hist = f.waits.setdefault((key, specialist is True), {})
        hist[int(wait_s)] = hist.get(int(wait_s), 0) + n
    return f


def _median(hist: dict[int, int]) -> float | None:
    total = sum(hist.values())
    if not total:
        return None
    seen, half = 0, total / 2
    for value in sorted(hist):
        seen += hist[value]
        if seen >= half:
            return float(value)
    return None


def _merge(*hists: dict[int, int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for h in hists:
        for k, v in h.items():
            out[k] = out.get(k, 0) + v
    return out


def block(f: TopicFigures, *, publish: bool = False, threshold: int = 5) -> dict[str, Any]:
    """The JSON block; with ``publish`` small counts are withheld (see the module docstring)."""
    def small(n: int) -> bool:
        return publish and 0 < n < threshold

    contacts: dict[str, Any] = {t: f.contacts.get(t, 0) for t in (*vocab.ROLES, NOT_STATED)}
    withheld = [t for t, n in contacts.items() if small(n)]
    if len(withheld) == 1:              # the total of contacts would give a lone withheld cell away
        others = sorted((n, t) for t, n in contacts.items() if t not in withheld and n > 0)
        if others:
            withheld.append(others[0][1])
    for t in withheld:
        contacts[t] = SUPPRESSED
    out: dict[str, Any] = {"by_intake_topic": contacts}
    for t in vocab.ROLES:
        answered = f.answered.get(t, 0)
        spec, other = f.specialist.get(t, 0), f.other.get(t, 0)
        row: dict[str, Any] = {
            "answered": answered, "reached_specialist": spec, "other_volunteer": other,
            "median_wait_s": _median(_merge(f.waits.get((t, True), {}), f.waits.get((t, False), {}))),
            "median_wait_specialist_s": _median(f.waits.get((t, True), {})),
        }
        if publish:
            if small(answered):
                row = {k: SUPPRESSED for k in row}
            elif small(spec) or small(other):
                # answered = specialist + other + (topic given after the chat was taken):
                # withhold both parts so neither can be worked out from the other.
                row["reached_specialist"] = row["other_volunteer"] = SUPPRESSED
                row["median_wait_specialist_s"] = SUPPRESSED
        out[t] = row
    return out


def cell(block_: dict[str, Any] | None, *path: str) -> Any:
    value: Any = block_ or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) and value != SUPPRESSED else None
    return value

