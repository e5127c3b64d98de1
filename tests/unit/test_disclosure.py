"""Disclosure control: primary and secondary suppression, and the cell key method."""

from __future__ import annotations

import random

import pytest

from referral.stats import disclosure
from referral.stats.disclosure import cellkey, perturb, suppress
from referral.stats.parts import record_key

SECRET = b"s" * 32


def _safe(counts: dict[str, int], lines: list[tuple[str, list[str]]], hidden: set[str], threshold: int) -> None:
    """No line has exactly one withheld member, nor a small withheld remainder."""
    for total, parts in lines:
        members = [total, *parts]
        n_hidden = sum(1 for m in members if m in hidden)
        assert n_hidden != 1, (total, parts, hidden)
        if n_hidden and total not in hidden:
            rest = sum(counts[p] for p in parts if p in hidden)
            assert rest == 0 or rest >= threshold, (total, rest)


def test_counts_of_one_to_four_are_withheld_zeros_and_five_are_not() -> None:
    counts = {"a": 0, "b": 1, "c": 4, "d": 5, "e": 17}
    out = suppress(counts, [], 5)
    assert set(out.reasons) == {"b", "c"}
    assert out.reasons["b"] == "small"


def test_a_total_would_reveal_one_small_cell_so_a_second_cell_is_withheld() -> None:
    # girls 12, boys 3, non-binary 0, not stated 5; total 20 is published.
    counts = {"total": 20, "g.girl": 12, "g.boy": 3, "g.nonbinary": 0, "g.not_stated": 5}
    lines = [("total", ["g.girl", "g.boy", "g.nonbinary", "g.not_stated"])]
    out = suppress(counts, lines, 5)
    assert out.reasons["g.boy"] == "small"
    assert out.reasons["g.not_stated"] == "secondary:total"      # the smallest other non-zero cell
    assert "g.girl" not in out and "total" not in out and "g.nonbinary" not in out
    # What a reader can still work out: boy + not_stated = 8, not either of them.
    _safe(counts, lines, set(out.reasons), 5)


def test_two_small_cells_that_add_up_to_a_small_number_take_a_third() -> None:
    counts = {"t": 30, "a": 1, "b": 2, "c": 7, "d": 20}
    lines = [("t", ["a", "b", "c", "d"])]
    out = suppress(counts, lines, 5)
    assert set(out.reasons) == {"a", "b", "c"}      # 1 + 2 = 3 would be known: add c


def test_a_cross_table_is_safe_in_every_row_and_column() -> None:
    # topic x gender with margins: one small cell ripples through its row and column.
    cells = {("exposed", "girl"): 40, ("exposed", "boy"): 12, ("uses", "girl"): 9, ("uses", "boy"): 3,
             ("friend", "girl"): 15, ("friend", "boy"): 8}
    counts: dict[str, int] = {f"x.{t}.{g}": n for (t, g), n in cells.items()}
    topics, genders = ["exposed", "uses", "friend"], ["girl", "boy"]
    for t in topics:
        counts[f"topic.{t}"] = sum(cells[(t, g)] for g in genders)
    for g in genders:
        counts[f"gender.{g}"] = sum(cells[(t, g)] for t in topics)
    counts["total"] = sum(cells.values())
    lines = [(f"topic.{t}", [f"x.{t}.{g}" for g in genders]) for t in topics]
    lines += [(f"gender.{g}", [f"x.{t}.{g}" for t in topics]) for g in genders]
    lines += [("total", [f"topic.{t}" for t in topics]), ("total", [f"gender.{g}" for g in genders])]
    out = suppress(counts, lines, 5)
    assert "x.uses.boy" in out and "x.uses.girl" in out       # its row
    assert "x.friend.boy" in out                               # its column (smallest other)
    assert "x.friend.girl" in out                              # and that row in turn
    _safe(counts, lines, set(out.reasons), 5)


def test_random_tables_never_leave_a_cell_recoverable() -> None:
    rng = random.Random(7)
    for _ in range(300):
        rows, cols = rng.randint(1, 5), rng.randint(1, 5)
        cells = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 6, 9, 14, 30]) for r in range(rows) for c in range(cols)}
        counts = {f"x.{r}.{c}": n for (r, c), n in cells.items()}
        for r in range(rows):
            counts[f"r.{r}"] = sum(cells[(r, c)] for c in range(cols))
        for c in range(cols):
            counts[f"c.{c}"] = sum(cells[(r, c)] for r in range(rows))
        counts["t"] = sum(cells.values())
        lines = [(f"r.{r}", [f"x.{r}.{c}" for c in range(cols)]) for r in range(rows)]
        lines += [(f"c.{c}", [f"x.{r}.{c}" for r in range(rows)]) for c in range(cols)]
        lines += [("t", [f"r.{r}" for r in range(rows)]), ("t", [f"c.{c}" for c in range(cols)])]
        threshold = rng.choice([3, 5])
        out = suppress(counts, lines, threshold)
        assert all(c in out for c, n in counts.items() if 0 < n < threshold)
        _safe(counts, lines, set(out.reasons), threshold)


def test_the_same_cell_gets_the_same_noise_in_two_different_tables() -> None:
    records = [f"{i:06x}" + "0" * 26 for i in range(0, 4000, 37)]
    girls_who_are_exposed = records[:9]
    key = sum(record_key(r) for r in girls_who_are_exposed)
    # Table 1: gender x topic; table 2: the same records appear as "exposed, Stockholm".
    table1 = cellkey({"exposed.girl": 9, "exposed.boy": 4}, {"exposed.girl": key, "exposed.boy": 123}, SECRET)
    table2 = cellkey({"0180.exposed": 9}, {"0180.exposed": key}, SECRET)
    assert table1["exposed.girl"] == table2["0180.exposed"]
    assert abs(table1["exposed.girl"] - 9) <= 2
    # Asking again never changes it.
    assert cellkey({"a": 9}, {"a": key}, SECRET)["a"] == table1["exposed.girl"]


def test_perturbation_is_bounded_never_negative_and_leaves_zero_alone() -> None:
    seen: set[int] = set()
    for n in range(0, 30):
        for k in range(200):
            value = perturb(n, k / 200)
            assert value >= 0 and abs(value - n) <= 2
            if n == 0:
                assert value == 0
            if n >= 2:
                seen.add(value - n)
    assert seen == set(disclosure.NOISE)            # every step of the table is used


def test_totals_are_perturbed_on_their_own_key_so_they_match_across_tables() -> None:
    cells = {"girl": (151, 1000), "boy": (35, 2000), "not_stated": (42, 3000)}
    total_n, total_key = sum(n for n, _ in cells.values()), sum(k for _, k in cells.values())
    by_gender = cellkey({**{c: n for c, (n, _) in cells.items()}, "total": total_n},
                        {**{c: k for c, (_, k) in cells.items()}, "total": total_key}, SECRET)
    by_topic = cellkey({"exposed": 152, "total": total_n}, {"exposed": 77, "total": total_key}, SECRET)
    assert by_gender["total"] == by_topic["total"]
    assert by_gender["total"] == perturb(total_n, disclosure.cell_key(SECRET, total_key))


def test_another_secret_gives_other_noise() -> None:
    values = {perturb(50, disclosure.cell_key(bytes([i]) * 32, 4242)) for i in range(40)}
    assert len(values) > 1


def test_record_keys_come_from_the_id() -> None:
    assert record_key("00000a" + "f" * 26) == 10
    assert record_key("ffffff") == 16 ** 6 - 1
    assert record_key("FFFFFF") == record_key("ffffff")


def test_lines_that_share_cells_are_checked_together() -> None:
    """A withheld cell can follow from several lines together though each line has two
    withheld members: the check finds it, and suppression withholds until none does."""
    from referral.stats import inference

    counts = {"total": 40, "counted": 38, "nd": 2, "g1": 30, "g2": 8, "t1": 35, "t2": 3}
    lines = [("total", ["counted", "nd"]), ("counted", ["g1", "g2"]), ("counted", ["t1", "t2"])]
    # nd, counted and t2 withheld: lines 1 and 3 each hold two, but line 2 (both parts
    # published) gives counted, and with it nd and t2.
    weak = {c: (0, None) for c in ("nd", "counted", "t2")}
    assert inference.pinned(counts, lines, weak) == ["counted", "nd", "t2"]
    out = suppress(counts, lines, 5)
    assert {"nd", "t2"} <= set(out.reasons)
    assert inference.pinned(counts, lines, {c: (0, None) for c in out.reasons}) == []


# -- the one mechanism for every block of counts (disclosure.publish, publish_block, Table) ----

HIDDEN = disclosure.SUPPRESSED


def test_a_dict_of_counts_is_made_safe_in_its_own_shape() -> None:
    care = {"chats": 40, "escalations_help": 3, "debriefs": 0, "heavy": 12}
    out, withheld = disclosure.publish_block(care, prefix="care", threshold=5)
    assert out == {"chats": 40, "escalations_help": HIDDEN, "debriefs": 0, "heavy": 12}
    assert withheld == ["care.escalations_help"]
    # Exact when nothing is small: the block comes back as it went in.
    assert disclosure.publish_block({"a": 0, "b": 7}, prefix="x") == ({"a": 0, "b": 7}, [])


def test_a_dict_of_dicts_keeps_its_nesting_and_its_lines_take_a_second_cell() -> None:
    routing = {"by_intake_topic": {"exposed": 30, "uses_violence": 2, "other": 9},
               "uses_violence": {"answered": 9, "reached_specialist": 7, "other_volunteer": 2}}
    lines = [("t.uses_violence.answered", ["t.uses_violence.reached_specialist", "t.uses_violence.other_volunteer"])]
    out, withheld = disclosure.publish_block(routing, prefix="t", lines=lines, threshold=5)
    assert out["by_intake_topic"] == {"exposed": 30, "uses_violence": HIDDEN, "other": 9}   # no line: alone
    # other_volunteer (2) is small; answered = specialist + other would give it away, so
    # the specialists go too (the total stays).
    assert out["uses_violence"] == {"answered": 9, "reached_specialist": HIDDEN, "other_volunteer": HIDDEN}
    assert set(withheld) == {"t.by_intake_topic.uses_violence", "t.uses_violence.other_volunteer",
                             "t.uses_violence.reached_specialist"}


def test_a_block_joins_a_table_and_is_checked_with_the_figure_it_adds_up_to() -> None:
    table = disclosure.Table()
    table.add("total", 35)
    cells = table.add_block("by_language", {"sv": 20, "ar": 7, "ti": 2, "uk": 6})
    table.line("total", cells)
    values, withheld = disclosure.publish(table, threshold=5)
    # ti alone would follow from the published total: uk (the smallest other) goes too.
    assert withheld == ["by_language.ti", "by_language.uk"]
    assert disclosure.nest(values, "by_language") == {"sv": 20, "ar": 7, "ti": HIDDEN, "uk": HIDDEN}
    assert values["total"] == 35
    # The same block on its own, without the total, withholds only the small one: which is
    # why a report puts every block into its one table.
    alone, hidden = disclosure.publish_block({"sv": 20, "ar": 7, "ti": 2, "uk": 6}, prefix="by_language")
    assert hidden == ["by_language.ti"] and alone["uk"] == 6


def test_lines_naming_a_cell_the_table_does_not_hold_are_left_out() -> None:
    table = disclosure.Table()
    table.add_block("care", {"chats": 3, "heavy": 0})
    table.line("total", ["care.chats"])            # a report asked for one split: no total
    values, withheld = disclosure.publish(table, threshold=5)
    assert values == {"care.chats": HIDDEN, "care.heavy": 0} and withheld == ["care.chats"]


def test_the_cell_key_method_perturbs_every_block_and_withholds_nothing() -> None:
    records = [f"{i:06x}" + "0" * 26 for i in range(0, 9000, 41)]
    key = sum(record_key(r) for r in records[:3])
    block = {"by_topic": {"exposed": 3, "other": 0}, "care": {"chats": 3}}
    keys = {"by_topic": {"exposed": key, "other": 0}, "care": {"chats": key}}
    seen = set()
    for i in range(60):
        secret = bytes([i]) * 32
        out, withheld = disclosure.publish_block(block, keys=keys, method="cellkey", secret=secret,
                                                 lines=[("by_topic.exposed", ["care.chats"])])
        assert withheld == []
        assert out["by_topic"]["other"] == 0                        # a zero stays zero
        assert abs(out["by_topic"]["exposed"] - 3) <= 2
        # The same records in two blocks: the same noise, so nothing is learnt by comparing.
        assert out["by_topic"]["exposed"] == out["care"]["chats"]
        seen.add(out["care"]["chats"])
    assert len(seen) > 1                                              # and the noise is really there


def test_a_table_keeps_each_cells_key_sum_and_an_unknown_method_is_refused() -> None:
    table = disclosure.Table()
    table.add_block("a", {"x": 2, "y": {"z": 5}}, {"x": 11, "y": {"z": 13}})
    table.add("a.x", 1, 4)
    assert table.counts == {"a.x": 3, "a.y.z": 5} and table.keys == {"a.x": 15, "a.y.z": 13}
    assert disclosure.nest(disclosure.flatten({"x": 2, "y": {"z": 5}}, "a"), "a") == {"x": 2, "y": {"z": 5}}
    with pytest.raises(ValueError, match="unknown disclosure method"):
        disclosure.publish(table, method="round")


def test_a_measure_under_cellkey_is_withheld_by_the_published_count_alone() -> None:
    # Decided on the exact count, a median shown beside a perturbed 3 would say the exact count
    # is at least 5 (so exactly 5, the noise being at most 2); on the published one it says nothing.
    for exact in (3, 4, 5, 6, 7):
        assert disclosure.measure_withheld(3, exact, method="cellkey") is True
        assert disclosure.measure_withheld(6, exact, method="cellkey") is False
    assert disclosure.measure_withheld(disclosure.SUPPRESSED, 9, method="cellkey") is True
    # suppress: withheld with its count, or over fewer than the threshold records.
    assert disclosure.measure_withheld(disclosure.SUPPRESSED, 9) is True
    assert disclosure.measure_withheld(4, 4) is True
    assert disclosure.measure_withheld(5, 5) is False
    assert disclosure.measure_withheld(0, 0) is False       # nothing to measure: the measure is None anyway
