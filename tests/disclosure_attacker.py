"""An attacker on published statistics: from one export, work out the withheld cells.

It knows what docs/statistics.md says every figure means, and so every linear
relation between the published figures: each total and its parts (rows, columns,
margins), the same counts in different breakdowns (``counted`` is the sum of the
genders, of the topics, of the age bands, of the municipalities, of the
first-contact answers), ``total`` as the answered outcomes, ``age_stated`` as
``counted`` minus the age band ``not_stated``, the queue block repeating
``total`` and ``by_outcome.left_queued``, referrals redeemed never more than
suggested, a form of violence never more than ``counted``; the blocks beside them
too: the languages add up to ``total`` (conversations) and to ``contacts``, the intake
topics to ``contacts``, ``care.chats`` is ``total``, and a topic's specialist and other
chats, and the care counts of conversations, are never more than what they are part
of. Every count is a whole number and never negative.

Exports used to say why each cell was withheld, and "fewer than 5" bounded a cell
to 1–4 (with that, the attacker recovered 726 cells of 150 data sets). Every withheld
cell now has the same reason; ``stated_bounds`` still reads such a reason should one
ever come back, so the attack stays as strong as the export lets it be.

Two attacks on each withheld cell:

* **exactly**: is the cell's unit vector in the row space of the relations over
  the unknowns? (Gaussian elimination in exact fractions: then the cell is a
  combination of published numbers.)
* **by bounds**: the interval each unknown can take, by propagating every
  relation and every relation derived by the elimination (interval arithmetic
  in fractions, to a fixed point; the "shuttle" attack on tables), rounded to
  whole numbers. A cell whose interval is a single number is recovered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from referral import vocab

ANSWERED = ("completed", "visitor_left", "dropped")
SUPPRESSED = {"suppressed": True}
# Figures inside the count blocks that are not counts (no relation ties them to a count).
MEASURES = ("median_wait_s", "median_wait_specialist_s", "response_rate")


def flatten(block: dict[str, Any], prefix: str = "") -> dict[str, int | None]:
    """Every count of one block: cell -> number, or None when withheld."""
    out: dict[str, int | None] = {}

    def walk(node: dict[str, Any], name: str) -> None:
        for key, value in node.items():
            if key in MEASURES:
                continue
            if value == SUPPRESSED:
                out[name + key] = None
            elif isinstance(value, dict):
                walk(value, f"{name}{key}.")
            elif isinstance(value, int) and not isinstance(value, bool):
                out[name + key] = value

    walk({k: v for k, v in block.items() if k not in (
        "period", "scope", "year_earlier", "published", "disclosure", "mean_age", "queue", "volunteers")},
        prefix)
    queue = block.get("queue") or {}
    for key in ("answered", "left_queue"):
        if key in queue:
            out[f"{prefix}queue.{key}"] = None if queue[key] == SUPPRESSED else queue[key]
    return out


def relations(cells: dict[str, Any], p: str = "") -> tuple[list[tuple[str, list[str]]], list[tuple[str, str]]]:
    """(equalities total = sum of parts, inequalities a <= b) among the cells of one block."""
    have = set(cells)

    def group(prefix: str) -> list[str]:
        return sorted(c for c in have if c.startswith(p + prefix) and c.count(".") == (p + prefix).count("."))

    eqs: list[tuple[str, list[str]]] = []

    def eq(total: str, parts: list[str]) -> None:
        if total in have and parts and all(x in have for x in parts):
            eqs.append((total, parts))

    eq(p + "contacts", [f"{p}by_outcome.{o}" for o in vocab.OUTCOMES])
    eq(p + "total", [f"{p}by_outcome.{o}" for o in ANSWERED])
    eq(p + "total", [p + "counted", *(f"{p}non_data.{k}" for k in vocab.NON_DATA)])
    for g in ("by_gender.", "by_topic.", "by_age_band.", "by_residence.", "by_first_contact."):
        eq(p + "counted", group(g))
    topics = [c.split(".")[-1] for c in group("by_topic.")]
    genders = [c.split(".")[-1] for c in group("by_gender.")]
    for t in topics:
        eq(f"{p}by_topic.{t}", [f"{p}by_topic_gender.{t}.{g}" for g in genders])
    for g in genders:
        eq(f"{p}by_gender.{g}", [f"{p}by_topic_gender.{t}.{g}" for t in topics])
    for code in (c.split(".")[-1] for c in group("by_residence.")):
        eq(f"{p}by_residence.{code}", group(f"by_district.{code}."))
    eq(p + "total", group("by_week."))
    services = sorted({c.split(".")[-2] for c in have if c.startswith(p + "referrals.")})
    for kind in ("suggested", "redeemed"):
        eq(f"{p}referrals_total.{kind}", [f"{p}referrals.{s}.{kind}" for s in services])
    eq(p + "counted", [p + "age_stated", p + "by_age_band.not_stated"])
    eq(p + "total", group("by_language."))
    eq(p + "contacts", group("by_language_contacts."))
    eq(p + "contacts", group("topic_routing.by_intake_topic."))
    eq(p + "total", [p + "care.chats"])
    eq(p + "queue.answered", [p + "total"])
    eq(p + "queue.left_queue", [p + "by_outcome.left_queued"])
    les = [(f"{p}referrals.{s}.redeemed", f"{p}referrals.{s}.suggested") for s in services]
    les += [(c, p + "counted") for c in group("by_violence.")]
    for t in vocab.ROLES:
        row = f"{p}topic_routing.{t}."
        les += [(row + "reached_specialist", row + "answered"), (row + "other_volunteer", row + "answered"),
                (row + "answered", f"{p}topic_routing.by_intake_topic.{t}")]
    les += [(f"{p}care.{k}", p + "care.chats") for k in ("chats_escalated", "debriefs", "heavy")]
    les = [(a, b) for a, b in les if a in have and b in have]
    return eqs, les


@dataclass
class Attack:
    unknowns: list[str]
    exact: dict[str, Fraction] = field(default_factory=dict)
    bounds: dict[str, tuple[int, int | None]] = field(default_factory=dict)

    @property
    def recovered(self) -> set[str]:
        return set(self.exact) | {c for c, (lo, hi) in self.bounds.items() if hi is not None and lo == hi}


def stated_bounds(rep: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """What the export itself says of withheld cells: "fewer than N" means 1 to N - 1."""
    out = {}
    for item in rep.get("disclosure", {}).get("suppressed", []):
        if item["reason"].startswith("fewer than "):
            out[item["cell"]] = (1, int(item["reason"].split()[2]) - 1)
    return out


def attack(cells: dict[str, int | None], eqs: list[tuple[str, list[str]]],
           les: list[tuple[str, str]], known: dict[str, tuple[int, int]] | None = None) -> Attack:
    """Try to determine every withheld cell of ``cells`` from the relations (and ``known``
    bounds of some)."""
    unknowns = sorted(c for c, v in cells.items() if v is None)
    index = {c: i for i, c in enumerate(unknowns)}
    n = len(unknowns)
    rows: list[tuple[list[Fraction], Fraction]] = []
    for total, parts in eqs:
        coeffs, const = [Fraction(0)] * n, Fraction(0)
        for cell, sign in [(total, 1), *((x, -1) for x in parts)]:
            value = cells[cell]
            if value is None:
                coeffs[index[cell]] += sign
            else:
                const -= sign * value
        if any(coeffs):
            rows.append((coeffs, const))
    reduced = _rref(rows, n)
    out = Attack(unknowns)
    for coeffs, const in reduced:
        nonzero = [i for i, a in enumerate(coeffs) if a]
        if len(nonzero) == 1:
            out.exact[unknowns[nonzero[0]]] = const / coeffs[nonzero[0]]
    out.bounds = _bounds(unknowns, cells, rows + reduced, les, known or {})
    return out


def _rref(rows: list[tuple[list[Fraction], Fraction]], n: int) -> list[tuple[list[Fraction], Fraction]]:
    m = [(list(c), k) for c, k in rows]
    pivot_row = 0
    for col in range(n):
        pick = next((r for r in range(pivot_row, len(m)) if m[r][0][col]), None)
        if pick is None:
            continue
        m[pivot_row], m[pick] = m[pick], m[pivot_row]
        coeffs, const = m[pivot_row]
        a = coeffs[col]
        coeffs, const = [x / a for x in coeffs], const / a
        m[pivot_row] = (coeffs, const)
        for r in range(len(m)):
            if r != pivot_row and m[r][0][col]:
                f = m[r][0][col]
                m[r] = ([x - f * y for x, y in zip(m[r][0], coeffs)], m[r][1] - f * const)
        pivot_row += 1
    return [r for r in m[:pivot_row]]


def _bounds(unknowns: list[str], cells: dict[str, int | None], rows: list[tuple[list[Fraction], Fraction]],
            les: list[tuple[str, str]], known: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int | None]]:
    """Whole-number intervals by propagation to a fixed point (None: no upper bound)."""
    lo: list[Fraction] = [Fraction(known[c][0]) if c in known else Fraction(0) for c in unknowns]
    hi: list[Fraction | None] = [Fraction(known[c][1]) if c in known else None for c in unknowns]
    index = {c: i for i, c in enumerate(unknowns)}
    for _ in range(200):
        changed = False
        for coeffs, const in rows:
            terms = [(i, a) for i, a in enumerate(coeffs) if a]
            for k, ak in terms:
                # ak * x_k = const - sum of the others: bound that sum from the others' intervals.
                low: Fraction | None = const
                high: Fraction | None = const
                for i, a in terms:
                    if i == k:
                        continue
                    span_lo = a * lo[i] if a > 0 else (a * hi[i] if hi[i] is not None else None)
                    span_hi = (a * hi[i] if hi[i] is not None else None) if a > 0 else a * lo[i]
                    high = None if high is None or span_lo is None else high - span_lo
                    low = None if low is None or span_hi is None else low - span_hi
                new_lo, new_hi = (low, high) if ak > 0 else (high, low)
                new_lo = None if new_lo is None else new_lo / ak
                new_hi = None if new_hi is None else new_hi / ak
                if new_lo is not None and math.ceil(new_lo) > lo[k]:
                    lo[k], changed = Fraction(math.ceil(new_lo)), True
                if new_hi is not None and (hi[k] is None or math.floor(new_hi) < hi[k]):
                    hi[k], changed = Fraction(math.floor(new_hi)), True
        for a, b in les:
            av = cells[a] if cells[a] is not None else None
            bv = cells[b] if cells[b] is not None else None
            if a in index:
                cap = bv if bv is not None else hi[index[b]]
                if cap is not None and (hi[index[a]] is None or cap < hi[index[a]]):
                    hi[index[a]], changed = Fraction(cap), True
            if b in index:
                floor_ = av if av is not None else lo[index[a]]
                if floor_ > lo[index[b]]:
                    lo[index[b]], changed = Fraction(floor_), True
        if not changed:
            break
    return {c: (int(lo[i]), None if hi[i] is None else int(hi[i])) for i, c in enumerate(unknowns)}
