"""The supervision frames at the edge (chat/frames.py) and follow-up codes (chat/followup.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chat import followup
from chat.kernel.exceptions import FrameError
from chat.frames import SUPERVISION_TYPES, SUPERVISOR_TYPES, parse_visitor, parse_volunteer
from chat.supervision import render_extra

CHAT = "chat_Abc-123"


def volunteer(obj: Any) -> dict[str, Any]:
    return parse_volunteer(json.dumps(obj))


def code_of(obj: Any) -> str:
    with pytest.raises(FrameError) as info:
        volunteer(obj)
    return info.value.code


def test_supervision_frames_are_parsed_to_exactly_their_fields() -> None:
    assert volunteer({"type": "supervise", "active": True, "x": 1}) == {"type": "supervise", "active": True}
    assert volunteer({"type": "observe", "chat": CHAT, "active": False}) == {
        "type": "observe", "chat": CHAT, "active": False}
    assert volunteer({"type": "whisper", "chat": CHAT, "id": 3, "text": "hej"}) == {
        "type": "whisper", "chat": CHAT, "id": 3, "text": "hej"}
    assert volunteer({"type": "join", "chat": CHAT}) == {"type": "join", "chat": CHAT}
    assert volunteer({"type": "takeover", "chat": CHAT}) == {"type": "takeover", "chat": CHAT}
    assert volunteer({"type": "escalate", "chat": CHAT, "kind": "acute"})["kind"] == "acute"
    assert volunteer({"type": "dismiss", "alert": "0123456789ab"})["alert"] == "0123456789ab"
    assert volunteer({"type": "block", "chat": CHAT, "hours": 72})["hours"] == 72
    assert volunteer({"type": "transfer", "chat": CHAT, "to": "a1b2"})["to"] == {"volunteer": "a1b2"}
    assert volunteer({"type": "transfer", "chat": CHAT, "to": {"queue": "en"}})["to"] == {"queue": "en"}
    assert volunteer({"type": "followup", "chat": CHAT}) == {"type": "followup", "chat": CHAT}
    assert set(SUPERVISOR_TYPES) < set(SUPERVISION_TYPES)


def test_offer_frames_are_parsed_to_exactly_their_fields() -> None:
    assert volunteer({"type": "offer", "chat": CHAT, "to": {"volunteer": "a1b2", "skill": "x"}, "note": " Hej ",
                      "x": 1}) == {"type": "offer", "chat": CHAT, "to": {"volunteer": "a1b2"}, "note": "Hej"}
    assert volunteer({"type": "offer", "chat": CHAT, "to": {"language": "en"}})["to"] == {"language": "en"}
    assert volunteer({"type": "offer", "chat": CHAT, "to": {"skill": "honour"}, "note": None})["note"] == ""
    assert volunteer({"type": "offer_reply", "offer": "0123456789ab", "accept": False}) == {
        "type": "offer_reply", "offer": "0123456789ab", "accept": False}
    assert volunteer({"type": "colleagues", "chat": CHAT}) == {"type": "colleagues"}
    assert volunteer({"type": "debrief", "chat": CHAT}) == {"type": "debrief", "chat": CHAT}


@pytest.mark.parametrize("frame", [
    {"type": "supervise"}, {"type": "supervise", "active": 1},
    {"type": "observe", "chat": "short", "active": True},
    {"type": "whisper", "chat": CHAT, "id": True, "text": "x"},
    {"type": "whisper", "chat": CHAT, "id": 1, "text": "   "},
    {"type": "escalate", "chat": CHAT, "kind": "panic"},
    {"type": "dismiss", "alert": "ZZZ"},
    {"type": "block", "chat": CHAT, "hours": 25}, {"type": "block", "chat": CHAT, "hours": True},
    {"type": "block", "chat": CHAT, "hours": 24.0},
    {"type": "transfer", "chat": CHAT, "to": {"queue": "de"}}, {"type": "transfer", "chat": CHAT, "to": "a b"},
    {"type": "transfer", "chat": CHAT},
    {"type": "offer", "chat": CHAT}, {"type": "offer", "chat": CHAT, "to": "a1b2"},
    {"type": "offer", "chat": CHAT, "to": {"language": "de"}}, {"type": "offer", "chat": CHAT, "to": {"skill": "A B"}},
    {"type": "offer", "chat": CHAT, "to": {"volunteer": "a b"}},
    {"type": "offer", "chat": CHAT, "to": {"volunteer": "a1"}, "note": "x" * 501},
    {"type": "offer", "chat": CHAT, "to": {"volunteer": "a1"}, "note": 5},
    {"type": "offer", "chat": CHAT, "to": {"volunteer": "a1"}, "note": "\ud800"},
    {"type": "offer_reply", "offer": "0123456789ab"}, {"type": "offer_reply", "offer": "xyz", "accept": True},
    {"type": "offer_reply", "offer": "0123456789ab", "accept": "yes"},
    {"type": "offer_cancel"}, {"type": "offer_cancel", "offer": "0123456789AB"},
    {"type": "debrief"}, {"type": "debrief", "chat": "short"},
    {"type": "wrapup", "chat": CHAT, "report": {"topic": "exposed", "heavy": "yes"}},
])
def test_bad_supervision_frames_get_invalid_field(frame: dict[str, Any]) -> None:
    assert code_of(frame) == "invalid_field"


def test_whisper_text_limits_are_those_of_a_line() -> None:
    assert code_of({"type": "whisper", "chat": CHAT, "id": 1, "text": "x" * 4001}) == "text_too_long"


def test_hello_carries_a_followup_code_only_when_given() -> None:
    assert "followup" not in parse_visitor(json.dumps({"type": "hello"}))
    assert parse_visitor(json.dumps({"type": "hello", "followup": "abcd-efgh"}))["followup"] == "abcd-efgh"
    with pytest.raises(FrameError):
        parse_visitor(json.dumps({"type": "hello", "followup": "<b>"}))


def test_followup_codes_normalise_and_hash_under_the_secret() -> None:
    code = followup.new_code()
    assert len(code) == 9 and code[4] == "-" and all(c in followup.ALPHABET for c in code.replace("-", ""))
    assert followup.normalise(code.lower().replace("-", " ")) == code.replace("-", "")
    assert followup.normalise("ABCD-EFG0") is None        # 0 is not in the alphabet
    h1, h2 = followup.code_hash(b"k1", code), followup.code_hash(b"k2", code)
    assert h1 != h2 and followup.code_hash(b"k1", code.lower()) == h1 and code not in h1


def test_supervisor_lines_reach_the_visitor_as_the_contracts_volunteer() -> None:
    entry = {"from": "supervisor", "text": "hej", "name": "Sara"}
    frame: dict[str, Any] = {"type": "message", "from": "supervisor"}
    render_extra(frame, entry, "visitor")
    assert frame == {"type": "message", "from": "volunteer", "name": "Sara"}
    frame = {"type": "message", "from": "supervisor"}
    render_extra(frame, entry, "volunteer")
    assert frame["from"] == "supervisor"
