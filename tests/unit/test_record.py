"""referral/record.py: the de-identified record, its coarse timings and its fixed schema."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Boolean, Date, Integer, SmallInteger, String, Text

from referral.record import ChatFacts, ChatRecord, build_record, round_seconds, time_band, volunteer_pseudonym

TZ = "Europe/Stockholm"
SECRET = b"s" * 48


def facts(**overrides: Any) -> ChatFacts:
    values: dict[str, Any] = dict(
        started_at=datetime(2026, 5, 12, 10, 15, tzinfo=timezone.utc), channel="web", lang="sv",
        outcome="completed", ended_by="volunteer", wait_s=42.0, duration_s=1234.0,
        intake={}, volunteer_id="acct-1",
    )
    values.update(overrides)
    return ChatFacts(**values)


def wrapup(**overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {"non_data": None, "topic": "exposed", "violence": [], "corrections": {}}
    report.update(overrides)
    return report


def build(f: ChatFacts | None = None, w: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    return build_record(f or facts(), w, tz=kw.get("tz", TZ), secret=kw.get("secret", SECRET))


@pytest.mark.parametrize("seconds, kept", [
    (0, 0), (4.9, 0), (5.1, 10), (9.99, 10), (14, 10), (16, 20), (123.4, 120), (3599.9, 3600), (-3, 0),
])
def test_wait_and_duration_are_rounded_to_ten_seconds(seconds: float, kept: int) -> None:
    assert round_seconds(seconds) == kept
    row = build(facts(wait_s=seconds, duration_s=seconds))
    assert row["wait_s"] == kept
    assert row["duration_s"] == kept


@pytest.mark.parametrize("hour, band", [
    (0, "00-03"), (2, "00-03"), (3, "03-06"), (8, "06-09"), (11, "09-12"),
    (12, "12-15"), (17, "15-18"), (18, "18-21"), (23, "21-24"),
])
def test_time_band_is_a_three_hour_window(hour: int, band: str) -> None:
    assert time_band(datetime(2026, 1, 1, hour, 59)) == band


@pytest.mark.parametrize("utc, day, band", [
    # spring forward, 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST
    (datetime(2026, 3, 28, 22, 59), date(2026, 3, 28), "21-24"),   # 23:59 CET
    (datetime(2026, 3, 28, 23, 0), date(2026, 3, 29), "00-03"),    # 00:00 CET, next local day
    (datetime(2026, 3, 29, 0, 30), date(2026, 3, 29), "00-03"),    # 01:30 CET
    (datetime(2026, 3, 29, 1, 30), date(2026, 3, 29), "03-06"),    # 03:30 CEST
    # fall back, 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET
    (datetime(2026, 10, 24, 21, 59), date(2026, 10, 24), "21-24"),  # 23:59 CEST
    (datetime(2026, 10, 24, 22, 0), date(2026, 10, 25), "00-03"),   # 00:00 CEST
    (datetime(2026, 10, 25, 0, 30), date(2026, 10, 25), "00-03"),   # 02:30 CEST
    (datetime(2026, 10, 25, 1, 30), date(2026, 10, 25), "00-03"),   # 02:30 CET (again)
    (datetime(2026, 10, 25, 2, 0), date(2026, 10, 25), "03-06"),    # 03:00 CET
    # midnight in summer and in winter
    (datetime(2026, 6, 30, 21, 59, 59), date(2026, 6, 30), "21-24"),
    (datetime(2026, 6, 30, 22, 0, 0), date(2026, 7, 1), "00-03"),
    (datetime(2026, 12, 31, 22, 59, 59), date(2026, 12, 31), "21-24"),
    (datetime(2026, 12, 31, 23, 0, 0), date(2027, 1, 1), "00-03"),
])
def test_day_and_time_band_are_local_to_stockholm_across_dst(utc: datetime, day: date, band: str) -> None:
    row = build(facts(started_at=utc.replace(tzinfo=timezone.utc)))
    assert row["day"] == day
    assert row["time_band"] == band


def test_day_follows_the_configured_time_zone() -> None:
    started = datetime(2026, 1, 15, 23, 30, tzinfo=timezone.utc)
    assert build(facts(started_at=started), tz="UTC")["day"] == date(2026, 1, 15)
    assert build(facts(started_at=started), tz=TZ)["day"] == date(2026, 1, 16)


def test_volunteer_pseudonym_is_stable_for_the_same_secret() -> None:
    assert volunteer_pseudonym(SECRET, "acct-1") == volunteer_pseudonym(SECRET, "acct-1")
    assert build()["volunteer"] == build()["volunteer"] == volunteer_pseudonym(SECRET, "acct-1")


def test_volunteer_pseudonym_depends_on_the_secret_and_the_account() -> None:
    one = volunteer_pseudonym(SECRET, "acct-1")
    assert volunteer_pseudonym(b"t" * 48, "acct-1") != one
    assert volunteer_pseudonym(SECRET, "acct-2") != one
    assert build(secret=b"t" * 48)["volunteer"] != build()["volunteer"]


def test_volunteer_pseudonym_is_twenty_hex_chars_without_the_account_id() -> None:
    pseudonym = build(facts(volunteer_id="alice-account"))["volunteer"]
    assert len(pseudonym) == 20
    assert int(pseudonym, 16) >= 0
    assert "alice" not in pseudonym


def test_chat_without_a_volunteer_has_no_pseudonym() -> None:
    assert build(facts(volunteer_id=None, outcome="left_queued"))["volunteer"] is None


def test_record_id_is_fresh_random_hex() -> None:
    a, b = build()["id"], build()["id"]
    assert a != b
    assert len(a) == 32
    int(a, 16)


def test_violence_forms_become_one_flag_each() -> None:
    row = build(w=wrapup(violence=["digital", "physical"]))
    assert row["v_digital"] is True
    assert row["v_physical"] is True
    assert not any(row[f"v_{f}"] for f in ("psychological", "sexual", "economic", "honour"))


def test_wrapup_corrections_override_intake_answers_and_keep_the_rest() -> None:
    intake = {"age": 15, "gender": "girl", "municipality": "0180", "district": "bromma", "first_contact": "yes"}
    row = build(facts(intake=intake), wrapup(corrections={"age": 16, "gender": "nonbinary"}))
    assert (row["age"], row["gender"]) == (16, "nonbinary")
    assert (row["municipality"], row["district"], row["first_contact"]) == ("0180", "bromma", "yes")


def test_district_is_dropped_without_a_municipality() -> None:
    assert build(facts(intake={"district": "bromma"}))["district"] is None
    corrected = build(facts(intake={"municipality": "0180", "district": "bromma"}),
                      wrapup(corrections={"municipality": None}))
    assert corrected["municipality"] is None
    assert corrected["district"] is None


@pytest.mark.parametrize("municipality", ["0182", "other"])
def test_district_is_dropped_when_a_correction_moves_the_municipality(municipality: str) -> None:
    # protocol.md, open point 11: a record must never hold Nacka together with Södermalm.
    row = build(facts(intake={"municipality": "0180", "district": "sodermalm"}),
                wrapup(corrections={"municipality": municipality}))
    assert row["municipality"] == municipality
    assert row["district"] is None


def test_record_without_a_wrapup_is_marked_not_filed_and_has_no_assessment() -> None:
    row = build(facts(intake={"gender": "boy", "age": 14}), None)
    assert row["wrapup_filed"] is False
    assert row["topic"] is None
    assert row["non_data"] is None
    assert not any(row[f"v_{f}"] for f in ("physical", "psychological", "sexual", "digital", "economic", "honour"))
    assert (row["gender"], row["age"]) == ("boy", 14)


def test_filed_wrapup_sets_topic_and_non_data() -> None:
    assert build(w=wrapup(topic="both"))["topic"] == "both"
    row = build(w=wrapup(topic=None, non_data="prank"))
    assert (row["wrapup_filed"], row["topic"], row["non_data"]) == (True, None, "prank")


def test_unanswered_intake_is_recorded_as_not_stated() -> None:
    row = build(facts(intake={}))
    assert (row["age"], row["gender"], row["municipality"], row["district"], row["first_contact"]) == (
        None, "not_stated", None, None, "not_stated")


def test_record_holds_exactly_the_table_columns_and_no_stray_intake_key() -> None:
    row = build(facts(intake={"age": 16, "text": "ZQXmarker", "ip": "10.1.2.3"}),
                wrapup(corrections={"note": "ZQXmarker"}))
    assert set(row) == set(ChatRecord.__table__.columns.keys())
    assert "ZQXmarker" not in repr(row)
    assert "10.1.2.3" not in repr(row)


def test_record_carries_chat_facts_as_given() -> None:
    row = build(facts(channel="app", lang="en", outcome="visitor_left", ended_by="visitor"))
    assert (row["channel"], row["lang"], row["outcome"], row["ended_by"]) == ("app", "en", "visitor_left", "visitor")


# -- schema pin -------------------------------------------------------------------------

EXPECTED_COLUMNS = {
    "id", "day", "time_band", "channel", "lang", "outcome", "ended_by", "wait_s", "duration_s",
    "age", "gender", "municipality", "district", "topic",
    "v_physical", "v_psychological", "v_sexual", "v_digital", "v_economic", "v_honour",
    "first_contact", "volunteer", "non_data", "wrapup_filed",
    # care (0015_care): counts and flags, no reason
    "escalations_help", "escalations_acute", "debrief", "heavy",
    # topic routing (issue 18): a vocabulary word and a yes/no, nothing linkable to the text
    "intake_topic", "specialist",
    "survey_offered",     # a yes/no: the visitor was offered the survey (issue 20)
}


def test_chat_record_columns_are_exactly_the_reviewed_set() -> None:
    # Adding a column to the record is a privacy decision: update this set deliberately.
    assert set(ChatRecord.__table__.columns.keys()) == EXPECTED_COLUMNS


def test_no_record_column_can_hold_free_text_or_an_exact_time() -> None:
    for column in ChatRecord.__table__.columns:
        assert not isinstance(column.type, Text), column.name
        assert isinstance(column.type, (String, Integer, SmallInteger, Boolean, Date)), column.name
        if isinstance(column.type, String):
            assert column.type.length is not None and column.type.length <= 40, column.name


def test_care_counts_and_heavy_come_from_the_facts_and_the_wrapup() -> None:
    from datetime import datetime, timezone

    from referral.record import ChatFacts, build_record

    def row(wrapup: dict[str, Any] | None, **facts: Any) -> dict[str, Any]:
        f = ChatFacts(started_at=datetime(2026, 12, 3, 18, 5, tzinfo=timezone.utc), channel="web", lang="sv",
                      outcome="completed", ended_by="volunteer", wait_s=30, duration_s=600, **facts)
        return build_record(f, wrapup, tz="Europe/Stockholm", secret=b"k" * 32)

    plain = row({"topic": "exposed", "violence": []})
    assert (plain["escalations_help"], plain["escalations_acute"], plain["debrief"], plain["heavy"]) == (0, 0, False, False)
    counted = row(None, escalations_help=2, escalations_acute=1, debrief=True)
    assert (counted["escalations_help"], counted["escalations_acute"], counted["debrief"], counted["heavy"]) == (2, 1, True, True)
    assert row({"topic": "uses_violence", "violence": []})["heavy"] is True
    assert row({"topic": "exposed", "violence": [], "heavy": True})["heavy"] is True
    assert row(None, escalations_help=500)["escalations_help"] == 99


def test_intake_topic_and_specialist_are_kept_only_for_a_topic_from_the_vocabulary() -> None:
    f = facts(intake={"topic": "uses_violence"})
    f.specialist = True
    row = build(f, wrapup(topic="both"))
    assert (row["intake_topic"], row["specialist"], row["topic"]) == ("uses_violence", True, "both")
    f = facts(intake={"topic": "ZQXmarker"})
    f.specialist = True
    row = build(f)
    assert (row["intake_topic"], row["specialist"]) == (None, None)
    row = build(facts(intake={}))
    assert (row["intake_topic"], row["specialist"]) == (None, None)
