"""What a reader can work out about withheld cells from the published ones (pure).

Suppression (``disclosure.suppress``) first makes every line safe on its own;
but lines share cells (``counted`` is the total of five breakdowns, a topic ×
gender cell sits in a row and a column), so a withheld cell can still follow
from several lines together. ``pinned`` finds every such cell, as an attacker
would:

* exactly: the lines, with the published cells moved to the constant side, are
  a linear system over the withheld cells; a withheld cell whose unit vector is
  in its row space is a combination of published numbers (reduced row echelon
  form in exact fractions: the unit vector is then one of its rows);
* by bounds: every count is a whole number and never negative (and the caller
  may know more of some cells); propagating those bounds through every line and
  every row of the echelon form, to a fixed point, may leave a cell a single
  possible value.

``disclosure.suppress`` withholds more cells until nothing is pinned.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable, Mapping

Row = tuple[dict[int, Fraction], Fraction]     # sum(coeff * unknown) == constant
# Propagation passes; it converges in a handful on the reports' tables.
MAX_PASSES = 100


def pinned(counts: Mapping[str, int], lines: Iterable[tuple[str, list[str]]],
           bounds: Mapping[str, tuple[int, int | None]]) -> list[str]:
    """The withheld cells (the keys of ``bounds``, with what a reader knows of each)
    that the published cells and ``lines`` determine."""
    unknowns = sorted(bounds)
    index = {c: i for i, c in enumerate(unknowns)}
    rows: list[Row] = []
    for total, parts in lines:
        coeffs: dict[int, Fraction] = {}
        const = Fraction(0)
        for cell, sign in [(total, 1), *((p, -1) for p in parts)]:
            if cell in index:
                i = index[cell]
                coeffs[i] = coeffs.get(i, Fraction(0)) + sign
            else:
                const -= sign * counts[cell]
        coeffs = {i: a for i, a in coeffs.items() if a}
        if coeffs:
            rows.append((coeffs, const))
    echelon = _rref(rows)
    found = {unknowns[next(iter(c))] for c, _ in echelon if len(c) == 1}
    lo = [Fraction(low) for low, _ in (bounds[c] for c in unknowns)]
    hi = [None if high is None else Fraction(high) for _, high in (bounds[c] for c in unknowns)]
    _propagate(rows + echelon, lo, hi)
    found |= {c for i, c in enumerate(unknowns) if hi[i] is not None and lo[i] == hi[i]}
    return sorted(found)


def _rref(rows: list[Row]) -> list[Row]:
    """Reduced row echelon form (sparse rows, exact)."""
    done: list[Row] = []
    for coeffs, const in rows:
        coeffs = dict(coeffs)
        for pivot_coeffs, pivot_const in done:
            col = next(iter(pivot_coeffs))
            f = coeffs.get(col)
            if f:
                for i, a in pivot_coeffs.items():
                    v = coeffs.get(i, Fraction(0)) - f * a
                    if v:
                        coeffs[i] = v
                    else:
                        coeffs.pop(i, None)
                const -= f * pivot_const
        if not coeffs:
            continue
        col = min(coeffs)
        a = coeffs[col]
        new = ({col: Fraction(1), **{i: v / a for i, v in coeffs.items() if i != col}}, const / a)
        # Clear the new pivot column from the rows before it (reduced form).
        for k, (c2, k2) in enumerate(done):
            f = c2.get(col)
            if f:
                c3 = dict(c2)
                for i, v in new[0].items():
                    w = c3.get(i, Fraction(0)) - f * v
                    if w:
                        c3[i] = w
                    else:
                        c3.pop(i, None)
                done[k] = (c3, k2 - f * new[1])
        done.append(new)
    # Every row keeps its pivot as its first key (dicts keep insertion order, and
    # clearing a later pivot never touches an earlier pivot's column).
    return done


def _propagate(rows: list[Row], lo: list[Fraction], hi: list[Fraction | None]) -> None:
    """Tighten whole-number bounds through ``rows`` until nothing changes."""
    for _ in range(MAX_PASSES):
        changed = False
        for coeffs, const in rows:
            # Each term's least and greatest value (None: unbounded that way).
            least: dict[int, Fraction | None] = {}
            most: dict[int, Fraction | None] = {}
            for i, a in coeffs.items():
                low, high = a * lo[i], (None if (h := hi[i]) is None else a * h)
                least[i], most[i] = (low, high) if a > 0 else (high, low)
            least_sum = sum((v for v in least.values() if v is not None), Fraction(0))
            most_sum = sum((v for v in most.values() if v is not None), Fraction(0))
            least_open = sum(1 for v in least.values() if v is None)
            most_open = sum(1 for v in most.values() if v is None)
            for k, a in coeffs.items():
                # a * x_k = const - (the others): bound the others' sum from their terms.
                others_least = None if least_open - (least[k] is None) else least_sum - (least[k] or 0)
                others_most = None if most_open - (most[k] is None) else most_sum - (most[k] or 0)
                top = None if others_least is None else const - others_least
                bottom = None if others_most is None else const - others_most
                new_lo, new_hi = (bottom, top) if a > 0 else (top, bottom)
                if new_lo is not None:
                    v = Fraction(math.ceil(new_lo / a))
                    if v > lo[k]:
                        lo[k], changed = v, True
                if new_hi is not None:
                    v = Fraction(math.floor(new_hi / a))
                    if hi[k] is None or v < hi[k]:   # type: ignore[operator]
                        hi[k], changed = v, True
        if not changed:
            return
