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
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from . import inference

DEFAULT_THRESHOLD = 5
NOISE = (-2, -1, 0, 1, 2)
PROBABILITIES = (0.05, 0.20, 0.50, 0.20, 0.05)
KEY_MODULUS = 2 ** 32
METHODS = ("suppress", "cellkey")


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
