"""Disclosure control for published statistics (pure: no I/O, unit-tested).

Two methods, chosen per export:

``suppress`` (the default)
    Primary suppression: a count of 1 to ``threshold - 1`` (1–4 with the
    default threshold 5) is withheld; zeros are published. Secondary
    suppression: the report's cells are tied by additive *lines* (a total and
    its parts: the gender cells add up to the counted conversations, a row of
    the topic × gender table adds up to that topic, ...). In every line either
    nothing is withheld or at least two members are, and the withheld parts of
    a line whose total is published add up to at least ``threshold``;
    otherwise the smallest published non-zero part (or, if none is left, the
    line's total) is withheld too. This repeats until no line changes, so no
    withheld cell can be worked out from a total and the other cells of its
    row or column, and no small group of cells either. Lines share cells, so
    then the whole system is checked (``inference.pinned``: exact linear
    algebra, and bounds from non-negativity):
    while any withheld cell is still determined, a further cell of one of its
    lines is withheld, and the lines are made safe again.

``cellkey`` (the method Statistics Sweden adopted in 2025)
    Every record has a key (``parts.record_key``: from its id); a cell's key is
    a keyed hash (HMAC-SHA-256 under the server secret) of the sum of its
    records' keys. That cell key picks a perturbation from ``NOISE`` with the
    probabilities ``PROBABILITIES`` (−2…+2, mean 0), never taking a count below
    zero; a zero stays zero. The same set of records always gets the same
    noise, in whatever table it appears, so differencing two tables (or asking
    again) reveals nothing new. Totals are cells like any other: a total gets
    its own noise from its own records' key sum, so published tables are not
    additive, by design, and the same total is the same number in every table.

Every block of counts of a report goes through the one entry point, ``publish``:
a ``Table`` of cells (``"care.debriefs"``, ``"by_language.ti"``,
``"topic_routing.uses_violence.answered"``), their record-key sums (for
``cellkey``) and their lines (for ``suppress``). A block that is a dict of counts,
or a dict of dicts, joins a table with ``Table.add_block``; ``publish_block``
makes one such block safe on its own, and ``nest`` turns published cells back
into the block's shape. A report puts all its blocks into one table, so the lines
between blocks (``by_language`` adds up to ``total``) are checked together.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

from . import inference

DEFAULT_THRESHOLD = 5
NOISE = (-2, -1, 0, 1, 2)
PROBABILITIES = (0.05, 0.20, 0.50, 0.20, 0.05)
KEY_MODULUS = 2 ** 32
METHODS = ("suppress", "cellkey")
# A withheld count, as JSON shows it (never a number).
SUPPRESSED: dict[str, bool] = {"suppressed": True}
# A block of counts: a dict of counts, or a dict of dicts (of dicts ...) of counts.
Block = Mapping[str, Union[int, "Block"]]


@dataclass
class Suppression:
    """Which cells are withheld, and why (``small`` or ``secondary:<line total>``)."""

    reasons: dict[str, str] = field(default_factory=dict)

    def __contains__(self, cell: str) -> bool:
        return cell in self.reasons


def suppress(counts: dict[str, int], lines: list[tuple[str, list[str]]],
             threshold: int = DEFAULT_THRESHOLD) -> Suppression:
    """Primary and secondary suppression over ``counts`` tied by ``lines``."""
    out = Suppression({cell: "small" for cell, n in counts.items() if 0 < n < threshold})
    while True:
        _each_line_safe(counts, lines, threshold, out)
        # Lines share cells: check what they give away together (``inference``).
        # A reader is not told which withheld cells are the small ones: all are >= 0.
        weak = inference.pinned(counts, lines, {cell: (0, None) for cell in out.reasons})
        added = False
        for cell in weak:
            extra = _cover(counts, lines, out, cell)
            if extra is not None and extra[0] not in out:
                out.reasons[extra[0]] = f"secondary:{extra[1]}"
                added = True
        if not added and weak:
            # No one cell covers them: withhold the rest of every line a pinned cell is in
            # (its total too), rather than publish a cell a reader can work out.
            for total, members in lines:
                if any(cell in weak for cell in members) or total in weak:
                    for cell in [total, *members]:
                        if cell not in out and cell in counts:
                            out.reasons[cell] = f"secondary:{total}"
                            added = True
        if not added:
            return out


def _each_line_safe(counts: dict[str, int], lines: list[tuple[str, list[str]]], threshold: int,
                    out: Suppression) -> None:
    """Withhold more until no line has one withheld member or a small withheld remainder."""
    changed = True
    while changed:
        changed = False
        for total, parts in lines:
            members = [total, *parts]
            hidden = [m for m in members if m in out]
            if not hidden:
                continue
            hidden_parts = [p for p in parts if p in out]
            weak = len(hidden) == 1 or (
                total not in out and 0 < sum(counts[p] for p in hidden_parts) < threshold)
            if not weak:
                continue
            open_parts = sorted((p for p in parts if p not in out and counts[p] > 0),
                                key=lambda p: (counts[p], p))
            if open_parts:
                out.reasons[open_parts[0]] = f"secondary:{total}"
            elif total not in out:
                out.reasons[total] = f"secondary:{total}"
            else:
                zero_parts = [p for p in parts if p not in out]
                if not zero_parts:
                    continue
                out.reasons[zero_parts[0]] = f"secondary:{total}"
            changed = True


def _cover(counts: dict[str, int], lines: list[tuple[str, list[str]]], out: Suppression,
           cell: str) -> tuple[str, str] | None:
    """The published cell to withhold so that ``cell`` is no longer determined: the
    smallest non-zero member (else a zero) of a line through it, else of any line
    that already holds a withheld cell."""
    def pick(candidates: list[tuple[str, list[str]]]) -> tuple[str, str] | None:
        choices = [(counts[m] == 0, counts[m], m, total) for total, parts in candidates
                   for m in [total, *parts] if m not in out]
        if not choices:
            return None
        best = min(choices)
        return best[2], best[3]

    return (pick([ln for ln in lines if cell == ln[0] or cell in ln[1]])
            or pick([ln for ln in lines if any(m in out for m in [ln[0], *ln[1]])]))


def cell_key(secret: bytes, key_sum: int) -> float:
    """A number in [0, 1) fixed by the cell's records (their key sum) and the secret."""
    digest = hmac.new(secret, b"jourchatt-cellkey\x00" + str(key_sum % KEY_MODULUS).encode(),
                      hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def perturb(count: int, key: float) -> int:
    """The published value of a cell of ``count`` records whose cell key is ``key``."""
    if count <= 0:
        return 0
    allowed = [(d, p) for d, p in zip(NOISE, PROBABILITIES) if count + d >= 0]
    scale = sum(p for _, p in allowed)
    edge = 0.0
    for d, p in allowed:
        edge += p / scale
        if key < edge:
            return count + d
    return count + allowed[-1][0]


def cellkey(counts: dict[str, int], keys: dict[str, int], secret: bytes) -> dict[str, int]:
    """Every cell perturbed by its own cell key."""
    return {cell: perturb(n, cell_key(secret, keys.get(cell, 0))) for cell, n in counts.items()}


# -- one mechanism for every block of counts ---------------------------------------------

@dataclass
class Table:
    """Cells (exact counts), each cell's record-key sum (``cellkey``), and the lines between
    them (``suppress``): a total and parts that add up to it. A line may also tie parts that
    add up to *at most* the total (topic chats that reached a specialist or not, of those
    answered): suppression then withholds more than it must, never less."""

    counts: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    lines: list[tuple[str, list[str]]] = field(default_factory=list)

    def add(self, cell: str, n: int, key: int = 0) -> None:
        self.counts[cell] = self.counts.get(cell, 0) + int(n)
        self.keys[cell] = self.keys.get(cell, 0) + int(key or 0)

    def line(self, total: str, parts: list[str]) -> None:
        self.lines.append((total, parts))

    def add_block(self, prefix: str, block: Block, keys: Block | None = None) -> list[str]:
        """Every count of ``block`` as a cell ``prefix.key`` (``prefix.key.key2`` for a dict of
        dicts), with its key sum from ``keys`` (the same shape) if given; the cells added."""
        flat, flat_keys = flatten(block, prefix), flatten(keys or {}, prefix)
        for cell, n in flat.items():
            self.add(cell, n, flat_keys.get(cell, 0))
        return list(flat)


def flatten(block: Block, prefix: str = "") -> dict[str, int]:
    """``{"a": 1, "b": {"c": 2}}`` under ``p`` -> ``{"p.a": 1, "p.b.c": 2}``."""
    out: dict[str, int] = {}
    for key, value in block.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(flatten(value, name))
        else:
            out[name] = int(value)
    return out


def nest(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The inverse of ``flatten``: the cells under ``prefix`` back in their block's shape."""
    out: dict[str, Any] = {}
    head = f"{prefix}." if prefix else ""
    for cell, value in values.items():
        if not cell.startswith(head):
            continue
        *path, last = cell[len(head):].split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return out


def publish(table: Table, *, method: str = "suppress", threshold: int = DEFAULT_THRESHOLD,
            secret: bytes = b"") -> tuple[dict[str, Any], list[str]]:
    """Every cell of ``table`` as published, and the withheld cells (in the order withheld).

    ``suppress``: a withheld cell is ``SUPPRESSED``, the others exact (``suppress``);
    ``cellkey``: every cell perturbed by its own key (``cellkey``), nothing withheld.
    Lines naming a cell the table does not hold are left out (a report asked for one split).
    """
    if method == "cellkey":
        return dict(cellkey(table.counts, table.keys, secret)), []
    if method != "suppress":
        raise ValueError(f"unknown disclosure method {method!r}; one of {', '.join(METHODS)}")
    have = table.counts
    lines = [(total, parts) for total, parts in table.lines
             if total in have and parts and all(p in have for p in parts)]
    sup = suppress(have, lines, threshold)
    return {cell: (SUPPRESSED if cell in sup else n) for cell, n in have.items()}, list(sup.reasons)


def measure_withheld(published: Any, exact: int, *, method: str = "suppress",
                     threshold: int = DEFAULT_THRESHOLD) -> bool:
    """Is a measure over a count (a median wait over the chats answered, the mean age over
    those who gave one) to be withheld, given the count as published and as it is?

    ``suppress``: when its count is withheld, or fewer than ``threshold`` records stand
    behind it. ``cellkey``: decided on the published count alone (not a number, or under
    ``threshold``): deciding on the exact count would tell, beside the perturbed count,
    on which side of the threshold the exact one lies, and so often the exact count."""
    if method == "cellkey":
        return not isinstance(published, int) or published < threshold
    return published == SUPPRESSED or 0 < exact < threshold


def publish_block(block: Block, *, prefix: str = "", method: str = "suppress",
                  threshold: int = DEFAULT_THRESHOLD, secret: bytes = b"", keys: Block | None = None,
                  lines: Iterable[tuple[str, list[str]]] = ()) -> tuple[dict[str, Any], list[str]]:
    """One block of counts made safe on its own: its published shape, and its withheld cells.

    ``lines`` name cells as ``prefix.key...``; a block whose counts add up to a published
    figure outside it should rather join that figure's ``Table`` (``Table.add_block``),
    so that the two are checked together."""
    table = Table()
    table.add_block(prefix, block, keys)
    for total, parts in lines:
        table.line(total, parts)
    values, withheld = publish(table, method=method, threshold=threshold, secret=secret)
    return nest(values, prefix), withheld

