"""Topic routing in the statistics: chats by the young person's own topic, and whether
topic chats reached a volunteer trained for it, with their waits (issue 18).

Over the records of a report's scope (``scope.where``), from two columns the chat
writes (``referral.record``): ``intake_topic`` (the widget's question; not the
wrap-up's ``topic``, the volunteer's judgement) and ``specialist`` (whether the
volunteer who took a topic chat held that topic as a skill; null when no volunteer
took it). Read in the one grouped scan of the records beside the splits
(``beside.read``, with care and the languages), folded here (``TopicFigures.fold``);
waits are kept to 10 s, so the groups are few.

The block, ``topic_routing`` in ``GET /api/stats`` and the partnership report::

    {"by_intake_topic": {"exposed": n, ..., "not_stated": n},        # contacts
     "<topic>": {"answered": n, "reached_specialist": n, "other_volunteer": n,
                 "median_wait_s": s, "median_wait_specialist_s": s}, ...}

The counts are cells of the report's table (``disclosure.Table``, ``add_to``):
``by_intake_topic`` adds up to ``contacts``, and a topic's ``reached_specialist`` and
``other_volunteer`` to at most its ``answered`` (a line, so neither can be worked out
from the other). A published report withholds or perturbs them with every other
count (``disclosure.publish``); a median wait is withheld when its count is withheld
or fewer than the threshold (``waits``), as the queue's are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import vocab
from . import disclosure

SUPPRESSED = disclosure.SUPPRESSED
NOT_STATED = "not_stated"
PREFIX = "topic_routing"
COUNTS = ("answered", "reached_specialist", "other_volunteer")


@dataclass
class TopicFigures:
    contacts: dict[str, int] = field(default_factory=dict)            # intake topic -> records
    answered: dict[str, int] = field(default_factory=dict)
    specialist: dict[str, int] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)
    waits: dict[tuple[str, bool], dict[int, int]] = field(default_factory=dict)   # (topic, specialist) -> hist
    keys: dict[str, dict[str, int]] = field(default_factory=dict)     # the same four counts' record-key sums

    def add(self, which: str, topic: str, n: int, key: int) -> None:
        counts: dict[str, int] = getattr(self, which)
        counts[topic] = counts.get(topic, 0) + int(n)
        sums = self.keys.setdefault(which, {})
        sums[topic] = sums.get(topic, 0) + int(key or 0)

    def fold(self, topic: str | None, specialist: bool | None, answered: bool, wait_s: int, n: int,
             key: int) -> None:
        """One grouped row of records (``beside.read``): their intake topic, whether the one who took
        them held it as a skill, whether a volunteer answered, their wait, how many, their key sum."""
        t = topic if topic in vocab.ROLES else NOT_STATED
        self.add("contacts", t, n, key)
        if t == NOT_STATED or not answered:
            return
        self.add("answered", t, n, key)
        if specialist is True:
            self.add("specialist", t, n, key)
        elif specialist is False:
            self.add("other", t, n, key)
        hist = self.waits.setdefault((t, specialist is True), {})
        hist[int(wait_s)] = hist.get(int(wait_s), 0) + int(n)


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


def add_to(table: disclosure.Table, f: TopicFigures) -> None:
    """The counts of ``f`` as cells of a report's table (``topic_routing.…``), with their lines."""
    topics = (*vocab.ROLES, NOT_STATED)
    sums = f.keys
    cells = table.add_block(f"{PREFIX}.by_intake_topic", {t: f.contacts.get(t, 0) for t in topics},
                            sums.get("contacts", {}))
    table.line("contacts", cells)
    for t in vocab.ROLES:
        row = {"answered": f.answered.get(t, 0), "reached_specialist": f.specialist.get(t, 0),
               "other_volunteer": f.other.get(t, 0)}
        row_keys = {"answered": sums.get("answered", {}).get(t, 0),
                    "reached_specialist": sums.get("specialist", {}).get(t, 0),
                    "other_volunteer": sums.get("other", {}).get(t, 0)}
        table.add_block(f"{PREFIX}.{t}", row, row_keys)
        table.line(f"{PREFIX}.{t}.answered", [f"{PREFIX}.{t}.reached_specialist", f"{PREFIX}.{t}.other_volunteer"])


def waits(block_: dict[str, Any], f: TopicFigures, *, publish: bool = False, threshold: int = 5,
          method: str = "suppress") -> None:
    """Put each topic's median waits into its published row (``block_`` is ``topic_routing``).

    Published, a median is withheld as ``disclosure.measure_withheld`` says: under
    ``suppress`` when the count it is over is withheld or small, under ``cellkey`` when
    that count as published is small."""
    def hidden(value: Any, n: int) -> bool:
        return publish and disclosure.measure_withheld(value, n, method=method, threshold=threshold)

    for t in vocab.ROLES:
        row = block_.setdefault(t, {})
        both = _median(_merge(f.waits.get((t, True), {}), f.waits.get((t, False), {})))
        spec = _median(f.waits.get((t, True), {}))
        row["median_wait_s"] = SUPPRESSED if hidden(row.get("answered"), f.answered.get(t, 0)) else both
        row["median_wait_specialist_s"] = (SUPPRESSED if hidden(row.get("reached_specialist"), f.specialist.get(t, 0))
                                           else spec)


def cell(block_: dict[str, Any] | None, *path: str) -> Any:
    value: Any = block_ or {}
    for key in path:
        value = value.get(key) if isinstance(value, dict) and value != SUPPRESSED else None
    return value

