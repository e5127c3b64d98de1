"""chat/frames.py: every error code, every normalisation, and no echo of client input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat.kernel.exceptions import FrameError
from chat.frames import MAX_FRAME_BYTES, MAX_TEXT_CHARS, decode, parse_visitor, parse_volunteer

CHAT = "chat_Abc-123"          # a well-formed chat id (8-64 of [A-Za-z0-9_-])
TOKEN = "t" * 43               # a well-formed resume token (20-100 of [A-Za-z0-9_-])
MARKER = "ZQXmarkerZQX"        # client text that must never come back in an error detail


def visitor(obj: Any) -> dict[str, Any]:
    return parse_visitor(json.dumps(obj))


def volunteer(obj: Any) -> dict[str, Any]:
    return parse_volunteer(json.dumps(obj))


def visitor_error(raw: Any) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse_visitor(raw if isinstance(raw, (str, bytes, bytearray)) or raw is None else json.dumps(raw))
    return info.value


def volunteer_error(raw: Any) -> FrameError:
    with pytest.raises(FrameError) as info:
        parse_volunteer(raw if isinstance(raw, (str, bytes, bytearray)) or raw is None else json.dumps(raw))
    return info.value


# -- decoding: invalid_json, invalid_frame, frame_too_large, unknown_type ----------------

@pytest.mark.parametrize("raw", ["", "{", "nope", "{'type': 'hello'}", '{"type": "hello",}',
                                 '{"type": "hello", "last_seq": ' + "1" * 5000 + "}"])
def test_text_that_is_not_json_is_invalid_json(raw: str) -> None:
    assert visitor_error(raw).code == "invalid_json"
    assert volunteer_error(raw).code == "invalid_json"


@pytest.mark.parametrize("raw", [
    "[" * 60000,
    '{"type": "hello", "x": ' + "[" * 60000,
    '{"a":' * 10000 + "1" + "}" * 10000,
])
def test_deeply_nested_json_is_invalid_json_not_a_crash(raw: str) -> None:
    assert len(raw) <= MAX_FRAME_BYTES
    assert visitor_error(raw).code == "invalid_json"


def test_deep_nesting_beyond_the_size_limit_is_refused_by_size_first() -> None:
    assert visitor_error("[" * 100000).code == "frame_too_large"


@pytest.mark.parametrize("raw", [b'{"type": "hello"}', bytearray(b'{"type": "hello"}'), None])
def test_binary_or_missing_frame_is_invalid_frame(raw: Any) -> None:
    assert visitor_error(raw).code == "invalid_frame"
    assert volunteer_error(raw).code == "invalid_frame"


@pytest.mark.parametrize("raw", ["[]", "1", '"hello"', "null", "true", "NaN", '[{"type": "hello"}]'])
def test_json_that_is_not_an_object_is_invalid_frame(raw: str) -> None:
    assert visitor_error(raw).code == "invalid_frame"


@pytest.mark.parametrize("obj", [{}, {"type": ""}, {"type": None}, {"type": 5}, {"type": ["hello"]},
                                 {"kind": "hello"}])
def test_object_without_a_string_type_is_invalid_frame(obj: dict[str, Any]) -> None:
    assert visitor_error(obj).code == "invalid_frame"
    assert volunteer_error(obj).code == "invalid_frame"


@pytest.mark.parametrize("kind", ["status", "refer", "wrapup", "end", "HELLO", "hello ", "welcome"])
def test_visitor_frame_of_unknown_type_is_unknown_type(kind: str) -> None:
    assert visitor_error({"type": kind}).code == "unknown_type"


@pytest.mark.parametrize("kind", ["hello", "intake", "leave", "Status", "assigned"])
def test_volunteer_frame_of_unknown_type_is_unknown_type(kind: str) -> None:
    assert volunteer_error({"type": kind, "chat": CHAT}).code == "unknown_type"


def test_frame_of_more_than_max_frame_bytes_is_frame_too_large() -> None:
    assert visitor_error("x" * (MAX_FRAME_BYTES + 1)).code == "frame_too_large"
    assert volunteer_error("x" * (MAX_FRAME_BYTES + 1)).code == "frame_too_large"


def test_frame_of_exactly_max_frame_bytes_is_accepted() -> None:
    head, tail = '{"type": "leave", "pad": "', '"}'
    raw = head + "a" * (MAX_FRAME_BYTES - len(head) - len(tail)) + tail
    assert len(raw) == MAX_FRAME_BYTES
    assert parse_visitor(raw) == {"type": "leave"}


def test_decode_returns_the_object_with_unknown_fields_intact() -> None:
    assert decode('{"type": "x", "extra": 1}') == {"type": "x", "extra": 1}


# -- text_too_long ------------------------------------------------------------------

def test_visitor_text_of_exactly_max_chars_is_accepted() -> None:
    text = "å" * MAX_TEXT_CHARS    # counted in code points, not bytes
    assert visitor({"type": "message", "id": 1, "text": text})["text"] == text


def test_visitor_text_one_char_over_the_limit_is_text_too_long() -> None:
    err = visitor_error({"type": "message", "id": 1, "text": "a" * (MAX_TEXT_CHARS + 1)})
    assert err.code == "text_too_long"


def test_volunteer_text_of_exactly_max_chars_is_accepted_and_one_more_is_too_long() -> None:
    ok = volunteer({"type": "message", "chat": CHAT, "id": "m1", "text": "a" * MAX_TEXT_CHARS})
    assert len(ok["text"]) == MAX_TEXT_CHARS
    err = volunteer_error({"type": "message", "chat": CHAT, "id": "m1", "text": "a" * (MAX_TEXT_CHARS + 1)})
    assert err.code == "text_too_long"


# -- invalid_field: every field of every frame type -------------------------------------

VISITOR_BAD_FIELDS = [
    # hello
    ("lang", {"type": "hello", "lang": "de"}),
    ("lang", {"type": "hello", "lang": "SV"}),
    ("lang", {"type": "hello", "lang": 5}),
    ("channel", {"type": "hello", "channel": "Web"}),
    ("channel", {"type": "hello", "channel": ""}),
    ("channel", {"type": "hello", "channel": "-web"}),
    ("channel", {"type": "hello", "channel": "a" * 41}),
    ("channel", {"type": "hello", "channel": 5}),
    ("resume", {"type": "hello", "resume": "short"}),
    ("resume", {"type": "hello", "resume": "t" * 101}),
    ("resume", {"type": "hello", "resume": "t" * 30 + "!"}),
    ("resume", {"type": "hello", "resume": 12345678901234567890123}),
    ("last_seq", {"type": "hello", "last_seq": -1}),
    ("last_seq", {"type": "hello", "last_seq": 1.5}),
    ("last_seq", {"type": "hello", "last_seq": 16.0}),
    ("last_seq", {"type": "hello", "last_seq": True}),
    ("last_seq", {"type": "hello", "last_seq": "3"}),
    ("last_seq", {"type": "hello", "last_seq": 2**53}),
    # intake
    ("age", {"type": "intake", "age": 0}),
    ("age", {"type": "intake", "age": 121}),
    ("age", {"type": "intake", "age": True}),
    ("age", {"type": "intake", "age": 16.0}),
    ("age", {"type": "intake", "age": "16"}),
    ("gender", {"type": "intake", "gender": "man"}),
    ("gender", {"type": "intake", "gender": 1}),
    ("gender", {"type": "intake", "gender": ["girl"]}),
    ("municipality", {"type": "intake", "municipality": "9999"}),
    ("municipality", {"type": "intake", "municipality": "Stockholm"}),
    ("municipality", {"type": "intake", "municipality": 180}),
    ("district", {"type": "intake", "district": "atlantis"}),
    ("district", {"type": "intake", "municipality": "0182", "district": "bromma"}),
    ("district", {"type": "intake", "municipality": "other", "district": "bromma"}),
    ("district", {"type": "intake", "municipality": None, "district": "bromma"}),
    ("district", {"type": "intake", "municipality": "0180", "district": "Bromma"}),
    ("district", {"type": "intake", "municipality": "0180", "district": 5}),
    ("first_contact", {"type": "intake", "first_contact": "maybe"}),
    ("first_contact", {"type": "intake", "first_contact": "Yes"}),
    # message
    ("id", {"type": "message", "text": "hej"}),
    ("id", {"type": "message", "id": None, "text": "hej"}),
    ("id", {"type": "message", "id": True, "text": "hej"}),
    ("id", {"type": "message", "id": 1.5, "text": "hej"}),
    ("id", {"type": "message", "id": "", "text": "hej"}),
    ("id", {"type": "message", "id": "x" * 65, "text": "hej"}),
    ("id", {"type": "message", "id": -1, "text": "hej"}),
    ("id", {"type": "message", "id": 2**53, "text": "hej"}),
    ("id", {"type": "message", "id": [1], "text": "hej"}),
    ("text", {"type": "message", "id": 1}),
    ("text", {"type": "message", "id": 1, "text": None}),
    ("text", {"type": "message", "id": 1, "text": 5}),
    ("text", {"type": "message", "id": 1, "text": ["hej"]}),
    ("text", {"type": "message", "id": 1, "text": ""}),
    ("text", {"type": "message", "id": 1, "text": " \n\t "}),
    # typing
    ("active", {"type": "typing"}),
    ("active", {"type": "typing", "active": "true"}),
    ("active", {"type": "typing", "active": 1}),
    ("active", {"type": "typing", "active": None}),
    # followup_choice: wait for the follow-up code's volunteer, or not
    ("wait", {"type": "followup_choice"}),
    ("wait", {"type": "followup_choice", "wait": None}),
    ("wait", {"type": "followup_choice", "wait": "true"}),
    ("wait", {"type": "followup_choice", "wait": 0}),
    ("wait", {"type": "followup_choice", "wait": [True]}),
]


@pytest.mark.parametrize("field, obj", VISITOR_BAD_FIELDS)
def test_visitor_bad_field_is_invalid_field_naming_the_field(field: str, obj: dict[str, Any]) -> None:
    err = visitor_error(obj)
    assert err.code == "invalid_field"
    assert err.detail.startswith(field + ": ")


VOLUNTEER_BAD_FIELDS = [
    # status
    ("state", {"type": "status"}),
    ("state", {"type": "status", "state": "away"}),
    ("state", {"type": "status", "state": True}),
    # message
    ("chat", {"type": "message", "id": 1, "text": "hej"}),
    ("chat", {"type": "message", "chat": "short", "id": 1, "text": "hej"}),
    ("chat", {"type": "message", "chat": "has space 1", "id": 1, "text": "hej"}),
    ("chat", {"type": "message", "chat": "c" * 65, "id": 1, "text": "hej"}),
    ("chat", {"type": "message", "chat": 12345678, "id": 1, "text": "hej"}),
    ("id", {"type": "message", "chat": CHAT, "text": "hej"}),
    ("id", {"type": "message", "chat": CHAT, "id": False, "text": "hej"}),
    ("id", {"type": "message", "chat": CHAT, "id": "x" * 65, "text": "hej"}),
    ("text", {"type": "message", "chat": CHAT, "id": 1}),
    ("text", {"type": "message", "chat": CHAT, "id": 1, "text": "   "}),
    # typing
    ("chat", {"type": "typing", "active": True}),
    ("active", {"type": "typing", "chat": CHAT}),
    ("active", {"type": "typing", "chat": CHAT, "active": 0}),
    # refer
    ("services", {"type": "refer", "chat": CHAT}),
    ("services", {"type": "refer", "chat": CHAT, "services": []}),
    ("services", {"type": "refer", "chat": CHAT, "services": "rvc"}),
    ("services", {"type": "refer", "chat": CHAT, "services": [f"s{i}" for i in range(11)]}),
    ("services", {"type": "refer", "chat": CHAT, "services": ["Bad Slug"]}),
    ("services", {"type": "refer", "chat": CHAT, "services": [5]}),
    ("chat", {"type": "refer", "services": ["rvc"]}),
    ("facts", {"type": "refer", "chat": CHAT, "services": ["rvc"], "facts": [19]}),
    ("facts", {"type": "refer", "chat": CHAT, "services": ["rvc"], "facts": {"gender": "girl"}}),
    ("facts.age", {"type": "refer", "chat": CHAT, "services": ["rvc"], "facts": {"age": "19"}}),
    ("facts.district", {"type": "refer", "chat": CHAT, "services": ["rvc"],
                        "facts": {"municipality": "0182", "district": "bromma"}}),
    # end
    ("chat", {"type": "end"}),
    ("chat", {"type": "end", "chat": None}),
    # wrapup
    ("report", {"type": "wrapup", "chat": CHAT}),
    ("report", {"type": "wrapup", "chat": CHAT, "report": "exposed"}),
    ("report", {"type": "wrapup", "chat": CHAT, "report": ["exposed"]}),
    ("report.topic", {"type": "wrapup", "chat": CHAT, "report": {}}),
    ("report.topic", {"type": "wrapup", "chat": CHAT, "report": {"topic": None, "non_data": None}}),
    ("report.topic", {"type": "wrapup", "chat": CHAT, "report": {"topic": "victim"}}),
    ("report.non_data", {"type": "wrapup", "chat": CHAT, "report": {"non_data": "spam"}}),
    ("report.violence", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "violence": "physical"}}),
    ("report.violence", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "violence": ["kicking"]}}),
    ("report.violence", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "violence": [1]}}),
    ("report.age", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "age": 0}}),
    ("report.gender", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "gender": "man"}}),
    ("report.municipality", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "municipality": "1"}}),
    ("report.district", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "district": "atlantis"}}),
    ("report.first_contact", {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "first_contact": "x"}}),
    ("chat", {"type": "wrapup", "report": {"topic": "other"}}),
]


@pytest.mark.parametrize("field, obj", VOLUNTEER_BAD_FIELDS)
def test_volunteer_bad_field_is_invalid_field_naming_the_field(field: str, obj: dict[str, Any]) -> None:
    err = volunteer_error(obj)
    assert err.code == "invalid_field"
    assert err.detail.startswith(field + ": ")


@pytest.mark.parametrize("value", [[True], {}, {"yes": 1}])
def test_first_contact_of_unhashable_type_is_invalid_field_not_a_crash(value: Any) -> None:
    # A list or object here must be a FrameError, never a TypeError (which would
    # become internal_error and not count towards the bad-frame limit).
    err = visitor_error({"type": "intake", "first_contact": value})
    assert err.code == "invalid_field"
    assert err.detail.startswith("first_contact: ")


@pytest.mark.parametrize("value", [1, 0, 1.0])
def test_first_contact_as_a_number_is_refused(value: Any) -> None:
    # protocol.md: true/false/null or "yes"/"no"/"not_stated"; 1 is not true.
    err = visitor_error({"type": "intake", "first_contact": value})
    assert err.code == "invalid_field"


@pytest.mark.parametrize("value", [False, 0, [], {}])
def test_hello_lang_that_is_neither_a_language_nor_missing_null_or_empty_is_refused(value: Any) -> None:
    # protocol.md: lang is "sv" or "en"; only missing, null or "" mean "sv".
    err = visitor_error({"type": "hello", "lang": value})
    assert err.code == "invalid_field"
    assert err.detail.startswith("lang: ")


@pytest.mark.parametrize("raw", [
    '{"type": "message", "id": 1, "text": "hej \\ud800 d\\u00e5"}',
    '{"type": "message", "id": "a\\udfff", "text": "hej"}',
])
def test_visitor_strings_that_cannot_be_encoded_as_utf8_are_refused(raw: str) -> None:
    # A lone surrogate decodes to a Python str that can never be sent on as UTF-8
    # (endpoints use ensure_ascii=False), so it must stop at the edge.
    err = visitor_error(raw)
    assert err.code == "invalid_field"


# -- valid frames are normalised ------------------------------------------------------

def test_hello_defaults_to_swedish_web_and_last_seq_zero() -> None:
    assert visitor({"type": "hello"}) == {
        "type": "hello", "lang": "sv", "channel": "web", "resume": None, "last_seq": 0,
    }


@pytest.mark.parametrize("lang", [None, ""])
def test_hello_null_or_empty_lang_means_swedish(lang: Any) -> None:
    assert visitor({"type": "hello", "lang": lang, "last_seq": None})["lang"] == "sv"


def test_hello_keeps_given_lang_channel_resume_and_last_seq() -> None:
    frame = visitor({"type": "hello", "lang": "en", "channel": "app_2", "resume": TOKEN, "last_seq": 7})
    assert frame == {"type": "hello", "lang": "en", "channel": "app_2", "resume": TOKEN, "last_seq": 7}


def test_unknown_fields_are_dropped_from_the_parsed_frame() -> None:
    frame = visitor({"type": "hello", "text": "secret", "ip": "10.0.0.1"})
    assert set(frame) == {"type", "lang", "channel", "resume", "last_seq"}


def test_empty_intake_has_no_fields() -> None:
    assert visitor({"type": "intake"}) == {"type": "intake"}


def test_intake_null_gender_becomes_not_stated_and_null_age_is_kept() -> None:
    assert visitor({"type": "intake", "gender": None, "age": None}) == {
        "type": "intake", "gender": "not_stated", "age": None,
    }


@pytest.mark.parametrize("given, stored", [
    (True, "yes"), (False, "no"), (None, "not_stated"),
    ("yes", "yes"), ("no", "no"), ("not_stated", "not_stated"),
])
def test_intake_first_contact_is_normalised_to_the_vocabulary(given: Any, stored: str) -> None:
    assert visitor({"type": "intake", "first_contact": given})["first_contact"] == stored


def test_intake_accepts_a_district_of_the_municipality_in_the_same_frame() -> None:
    frame = visitor({"type": "intake", "age": 16, "gender": "girl", "municipality": "0180",
                     "district": "sodermalm", "first_contact": True})
    assert frame == {"type": "intake", "age": 16, "gender": "girl", "municipality": "0180",
                     "district": "sodermalm", "first_contact": "yes"}


@pytest.mark.parametrize("municipality", ["0182", "other", None])
def test_intake_null_district_is_accepted_with_any_municipality(municipality: Any) -> None:
    frame = visitor({"type": "intake", "municipality": municipality, "district": None})
    assert frame["district"] is None
    assert frame["municipality"] == municipality


@pytest.mark.parametrize("msg_id", [0, 2**53 - 1, "x", "x" * 64])
def test_message_accepts_ids_at_their_limits_and_keeps_text_as_sent(msg_id: Any) -> None:
    frame = visitor({"type": "message", "id": msg_id, "text": "  hej\n"})
    assert frame == {"type": "message", "id": msg_id, "text": "  hej\n"}


def test_followup_choice_is_parsed_without_other_fields() -> None:
    assert visitor({"type": "followup_choice", "wait": True}) == {"type": "followup_choice", "wait": True}
    assert visitor({"type": "followup_choice", "wait": False, "chat": "abcdefgh12"}) == {
        "type": "followup_choice", "wait": False}


def test_a_practice_chat_cannot_play_a_followup_choice() -> None:
    err = volunteer_error({"type": "practice_visitor", "chat": "abcdefgh12",
                           "frame": {"type": "followup_choice", "wait": True}})
    assert err.code == "invalid_field" and err.detail.startswith("frame: ")


def test_typing_and_leave_are_parsed() -> None:
    assert visitor({"type": "typing", "active": False}) == {"type": "typing", "active": False}
    assert visitor({"type": "leave", "why": "bye"}) == {"type": "leave"}


@pytest.mark.parametrize("state", ["available", "paused"])
def test_volunteer_status_is_parsed(state: str) -> None:
    assert volunteer({"type": "status", "state": state}) == {"type": "status", "state": state}


def test_volunteer_message_typing_and_end_carry_the_chat_id() -> None:
    assert volunteer({"type": "message", "chat": CHAT, "id": 3, "text": "hej"}) == {
        "type": "message", "chat": CHAT, "id": 3, "text": "hej"}
    assert volunteer({"type": "typing", "chat": CHAT, "active": True}) == {
        "type": "typing", "chat": CHAT, "active": True}
    assert volunteer({"type": "end", "chat": CHAT}) == {"type": "end", "chat": CHAT}


def test_refer_removes_duplicate_services_keeping_first_order() -> None:
    frame = volunteer({"type": "refer", "chat": CHAT, "services": ["rvc", "bris", "rvc", "bris", "a1"]})
    assert frame == {"type": "refer", "chat": CHAT, "services": ["rvc", "bris", "a1"]}


def test_refer_carries_the_facts_the_volunteer_learned() -> None:
    frame = volunteer({"type": "refer", "chat": CHAT, "services": ["rvc"],
                       "facts": {"age": 19, "municipality": "0180", "district": "bromma"}})
    assert frame["facts"] == {"age": 19, "municipality": "0180", "district": "bromma"}


def test_refer_accepts_exactly_ten_services() -> None:
    services = [f"s{i}" for i in range(10)]
    assert volunteer({"type": "refer", "chat": CHAT, "services": services})["services"] == services


def test_wrapup_violence_is_deduplicated_and_sorted_and_corrections_kept() -> None:
    frame = volunteer({"type": "wrapup", "chat": CHAT, "report": {
        "topic": "exposed", "violence": ["digital", "physical", "digital"],
        "age": 17, "gender": None, "municipality": "0180", "district": "bromma",
        "first_contact": False, "note": "free text is ignored"}})
    assert frame == {"type": "wrapup", "chat": CHAT, "report": {
        "non_data": None, "topic": "exposed", "violence": ["digital", "physical"],
        "corrections": {"age": 17, "gender": "not_stated", "municipality": "0180",
                        "district": "bromma", "first_contact": "no"}}}


def test_wrapup_without_violence_or_corrections_has_empty_ones() -> None:
    report = volunteer({"type": "wrapup", "chat": CHAT, "report": {"topic": "friend_relative"}})["report"]
    assert report == {"non_data": None, "topic": "friend_relative", "violence": [], "corrections": {}}


@pytest.mark.parametrize("non_data", ["test", "silent", "prank", "abusive"])
def test_wrapup_marked_non_data_needs_no_topic(non_data: str) -> None:
    report = volunteer({"type": "wrapup", "chat": CHAT, "report": {"non_data": non_data}})["report"]
    assert report["non_data"] == non_data
    assert report["topic"] is None


# -- errors never echo what the client sent ---------------------------------------------

ECHO_CASES = [
    (parse_visitor, {"type": MARKER}),
    (parse_visitor, {"type": "hello", "lang": MARKER}),
    (parse_visitor, {"type": "hello", "channel": MARKER}),
    (parse_visitor, {"type": "hello", "resume": MARKER + "!" * 20}),
    (parse_visitor, {"type": "hello", "last_seq": MARKER}),
    (parse_visitor, {"type": "intake", "age": MARKER}),
    (parse_visitor, {"type": "intake", "gender": MARKER}),
    (parse_visitor, {"type": "intake", "municipality": MARKER}),
    (parse_visitor, {"type": "intake", "municipality": "0180", "district": MARKER}),
    (parse_visitor, {"type": "intake", "first_contact": MARKER}),
    (parse_visitor, {"type": "message", "id": MARKER * 6, "text": "hej"}),
    (parse_visitor, {"type": "message", "id": 1, "text": MARKER * 400}),
    (parse_visitor, {"type": "typing", "active": MARKER}),
    (parse_volunteer, {"type": MARKER}),
    (parse_volunteer, {"type": "status", "state": MARKER}),
    (parse_volunteer, {"type": "end", "chat": MARKER + " x"}),
    (parse_volunteer, {"type": "message", "chat": CHAT, "id": 1, "text": MARKER * 400}),
    (parse_volunteer, {"type": "refer", "chat": CHAT, "services": [MARKER]}),
    (parse_volunteer, {"type": "wrapup", "chat": CHAT, "report": {"topic": MARKER}}),
    (parse_volunteer, {"type": "wrapup", "chat": CHAT, "report": {"non_data": MARKER}}),
    (parse_volunteer, {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "violence": [MARKER]}}),
    (parse_volunteer, {"type": "wrapup", "chat": CHAT, "report": {"topic": "other", "gender": MARKER}}),
    (parse_volunteer, {"type": "wrapup", "chat": CHAT, "report": MARKER}),
]


@pytest.mark.parametrize("parse, obj", ECHO_CASES)
def test_error_detail_never_contains_the_offending_value(parse: Any, obj: dict[str, Any]) -> None:
    with pytest.raises(FrameError) as info:
        parse(json.dumps(obj))
    assert MARKER.lower() not in info.value.detail.lower()
    assert MARKER.lower() not in str(info.value).lower()


@pytest.mark.parametrize("raw", ['{"type": "' + MARKER, MARKER, "x" * MAX_FRAME_BYTES + MARKER,
                                 '["' + MARKER + '"]'])
def test_decode_errors_never_contain_the_frame_text(raw: str) -> None:
    err = visitor_error(raw)
    assert MARKER.lower() not in str(err).lower()


@pytest.mark.parametrize("topic", ["exposed", "uses_violence", "both", "friend_relative", "other", None])
def test_intake_topic_from_the_role_vocabulary_or_null(topic: Any) -> None:
    assert visitor({"type": "intake", "topic": topic})["topic"] == topic


@pytest.mark.parametrize("topic", ["violence", "", 3, ["uses_violence"], {"a": 1}, True])
def test_intake_topic_outside_the_vocabulary_names_the_field(topic: Any) -> None:
    err = visitor_error({"type": "intake", "topic": topic})
    assert err.detail.startswith("topic: ")
