"""The typed frames (chat.frame_types) are what the parser (chat.frames) really returns."""

from __future__ import annotations

import json
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import pytest

from chat import frame_types as T
from chat.frames import VISITOR_TYPES, VOLUNTEER_TYPES, parse_visitor, parse_volunteer

CHAT = "abcdefgh12"
VISITOR_SAMPLES: list[dict[str, Any]] = [
    {"type": "hello"},
    {"type": "hello", "lang": "en", "channel": "app", "resume": "r" * 24, "last_seq": 3, "followup": "ABCD-EFGH"},
    {"type": "hello", "topic": "uses_violence"},
    {"type": "intake", "topic": "both"},
    {"type": "intake", "age": 15, "gender": "girl", "municipality": "0180", "first_contact": True},
    {"type": "intake"},
    {"type": "message", "id": 1, "text": "hej"},
    {"type": "message", "id": "c-1", "text": "hej"},
    {"type": "typing", "active": True},
    {"type": "leave"},
    {"type": "followup_choice", "wait": True},
    {"type": "followup_choice", "wait": False},
]
VOLUNTEER_SAMPLES: list[dict[str, Any]] = [
    {"type": "status", "state": "available"},
    {"type": "message", "chat": CHAT, "id": 1, "text": "hej"},
    {"type": "typing", "chat": CHAT, "active": False},
    {"type": "refer", "chat": CHAT, "services": ["a", "b"]},
    {"type": "refer", "chat": CHAT, "services": ["a"], "facts": {"age": 16, "municipality": "0182"}},
    {"type": "end", "chat": CHAT},
    {"type": "wrapup", "chat": CHAT, "report": {"topic": "exposed", "violence": ["digital"], "age": 15}},
    {"type": "escalate", "chat": CHAT, "kind": "acute"},
    {"type": "transfer", "chat": CHAT, "to": "acct-1"},
    {"type": "transfer", "chat": CHAT, "to": {"queue": "en"}},
    {"type": "followup", "chat": CHAT},
    {"type": "supervise", "active": True},
    {"type": "observe", "chat": CHAT, "active": True},
    {"type": "whisper", "chat": CHAT, "id": 2, "text": "psst"},
    {"type": "join", "chat": CHAT},
    {"type": "takeover", "chat": CHAT},
    {"type": "route_any", "chat": CHAT},
    {"type": "dismiss", "alert": "0123456789ab"},
    {"type": "block", "chat": CHAT, "hours": 24},
    {"type": "offer", "chat": CHAT, "to": {"volunteer": "acct-1"}, "note": "Hon vill prata om skolan."},
    {"type": "offer", "chat": CHAT, "to": {"skill": "honour"}},
    {"type": "offer_reply", "offer": "0123456789ab", "accept": True},
    {"type": "offer_cancel", "offer": "0123456789ab"},
    {"type": "colleagues"},
    {"type": "debrief", "chat": CHAT},
    {"type": "wrapup", "chat": CHAT, "report": {"topic": "uses_violence", "violence": [], "heavy": True}},
    {"type": "shadowable"},
    {"type": "shadow", "chat": CHAT, "active": True},
    {"type": "shadow_answer", "chat": CHAT, "trainee": "acct-2", "accept": False},
    {"type": "practice_partners"},
    {"type": "practice_open", "partner": "acct-2", "lang": "en"},
    {"type": "practice_visitor", "chat": CHAT, "frame": {"type": "message", "id": 1, "text": "hej"}},
    {"type": "practice_visitor", "chat": CHAT, "frame": {"type": "intake", "age": 15}},
    {"type": "practice_resume", "resume_token": "r" * 24, "last_seq": 2},
]


def _by_type(union: Any) -> dict[str, type]:
    out: dict[str, type] = {}
    for cls in get_args(union):
        [tag] = get_args(get_type_hints(cls)["type"])
        assert tag not in out
        out[tag] = cls
    return out


def _conforms(value: Any, hint: Any) -> bool:
    """``value`` has the run-time shape ``hint`` promises (enough for these TypedDicts)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return value in get_args(hint)
    if origin in (Union, getattr(__import__("types"), "UnionType")):
        return any(_conforms(value, h) for h in get_args(hint))
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, get_args(hint)[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(v, get_args(hint)[1]) for v in value.values())
    if hint is type(None):
        return value is None
    if isinstance(hint, type) and hasattr(hint, "__required_keys__"):
        return _is_typed_dict(value, hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def _is_typed_dict(value: Any, cls: Any) -> bool:
    hints = get_type_hints(cls)
    return (isinstance(value, dict) and cls.__required_keys__ <= set(value) <= set(hints)
            and all(_conforms(v, hints[k]) for k, v in value.items()))


def test_every_frame_type_has_its_typed_dict() -> None:
    assert set(_by_type(T.VisitorFrame)) == set(VISITOR_TYPES)
    assert set(_by_type(T.VolunteerFrame)) == set(VOLUNTEER_TYPES)


@pytest.mark.parametrize("frame", VISITOR_SAMPLES, ids=lambda f: f["type"])
def test_a_parsed_visitor_frame_is_its_typed_dict(frame: dict[str, Any]) -> None:
    parsed = parse_visitor(json.dumps(frame))
    assert _is_typed_dict(parsed, _by_type(T.VisitorFrame)[frame["type"]]), parsed


@pytest.mark.parametrize("frame", VOLUNTEER_SAMPLES, ids=lambda f: f["type"])
def test_a_parsed_volunteer_frame_is_its_typed_dict(frame: dict[str, Any]) -> None:
    parsed = parse_volunteer(json.dumps(frame))
    assert _is_typed_dict(parsed, _by_type(T.VolunteerFrame)[frame["type"]]), parsed


def test_the_samples_cover_every_frame_type() -> None:
    assert {f["type"] for f in VISITOR_SAMPLES} == set(VISITOR_TYPES)
    assert {f["type"] for f in VOLUNTEER_SAMPLES} == set(VOLUNTEER_TYPES)


def test_the_check_refuses_a_missing_an_extra_and_a_mistyped_field() -> None:
    assert not _is_typed_dict({"type": "message", "id": 1}, T.VisitorMessage)
    assert not _is_typed_dict({"type": "message", "id": 1, "text": "x", "chat": "y"}, T.VisitorMessage)
    assert not _is_typed_dict({"type": "message", "id": True, "text": "x"}, T.VisitorMessage)
    assert _is_typed_dict({"type": "message", "id": 1, "text": "x"}, T.VisitorMessage)
