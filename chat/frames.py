"""Validation of client frames: the edge of the socket protocol.

``parse_visitor`` and ``parse_volunteer`` take the raw text of a WebSocket frame
and return a plain dict with exactly the fields the hub may use, every one of
the right type and within its limits, typed per frame type (``chat.frame_types``);
anything else raises ``FrameError`` with a registered code (``chat.kernel.error_codes``).
Unknown *fields* are ignored, for forward compatibility; unknown *types* are
errors. Pure functions, no I/O.

The JSON is decoded by msgspec (C); only text it refuses goes through ``json.loads``
as well, so every frame is judged exactly as the standard library reads it (a lone
surrogate escape, ``NaN``, an integer of 5,000 digits). bench/frames.py measures it:
a chat line's JSON decodes about 4x faster (the checks below then cost more than it).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, TypeVar

import msgspec

from referral import geography, vocab

from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .frame_types import (Block, Colleagues, Debrief, Dismiss, End, Escalate, Followup, FollowupChoice, Hello, Intake, IntakeFrame,
                          Join, Leave, Observe, Offer, OfferCancel, OfferReply, PracticeOpen, PracticePartners,
                          PracticeResume, PracticeVisitor, Refer, Report, RouteAny, Shadow, ShadowAnswer, Shadowable, Status,
                          Supervise, Takeover, Transfer, VisitorFrame,
                          VisitorMessage, VisitorTyping, VolunteerFrame, VolunteerMessage, VolunteerTyping,
                          Whisper, Wrapup)

MAX_TEXT_CHARS = 4000       # one chat line; a long paragraph, far short of abuse
MAX_CLIENT_ID_CHARS = 64    # the client's own message id, echoed in ack
MAX_FRAME_BYTES = 64 * 1024  # uvicorn's ws_max_size; OWASP suggests <= 64 KiB
MAX_SERVICES = 10           # services in one refer frame
MAX_AGE = 120

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_CHAT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_FOLLOWUP = re.compile(r"^[A-Za-z0-9 -]{4,20}$")

Frame = dict[str, Any]
F = TypeVar("F")
_JSON = msgspec.json.Decoder()


def decode(raw: str | bytes | None) -> Frame:
    """JSON text → an object with a string ``type``; raise FrameError otherwise."""
    if raw is None or isinstance(raw, (bytes, bytearray)):
        raise FrameError.of(codes.INVALID_FRAME, "send JSON text frames, not binary ones")
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError.of(codes.FRAME_TOO_LARGE, f"a frame may be at most {MAX_FRAME_BYTES} bytes")
    try:
        obj = _JSON.decode(raw)
    except (msgspec.MsgspecError, ValueError, RecursionError):
        obj = _stdlib_json(raw)
    if not isinstance(obj, dict):
        raise FrameError.of(codes.INVALID_FRAME, "a frame must be a JSON object with a \"type\"")
    kind = obj.get("type")
    if not isinstance(kind, str) or not kind:
        raise FrameError.of(codes.INVALID_FRAME, "a frame must have a string \"type\"")
    return obj


def _stdlib_json(raw: str) -> Any:
    """The slow path for text msgspec refused: judged as ``json.loads`` judges it."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise FrameError.of(codes.INVALID_JSON, "the frame is nested too deeply") from None
    except ValueError:
        raise FrameError.of(codes.INVALID_JSON) from None


# -- field checkers -------------------------------------------------------------

def _bad(field: str, why: str) -> FrameError:
    return FrameError.of(codes.INVALID_FIELD, f"{field}: {why}")


def _opt_str(obj: Frame, field: str, check: Callable[[str], bool], why: str) -> str | None:
    value = obj.get(field)
    if value is None:
        return None
    if not isinstance(value, str) or not check(value):
        raise _bad(field, why)
    return value


def _encodable(value: str) -> bool:
    """JSON may carry lone surrogates (\\ud800); they cannot be sent on, so refuse them here."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bool(obj: Frame, field: str) -> bool:
    value = obj.get(field)
    if not isinstance(value, bool):
        raise _bad(field, "must be true or false")
    return value


def _text(obj: Frame) -> str:
    value = obj.get("text")
    if not isinstance(value, str):
        raise _bad("text", "must be a string")
    if len(value) > MAX_TEXT_CHARS:
        raise FrameError.of(codes.TEXT_TOO_LONG, f"a message may be at most {MAX_TEXT_CHARS} characters")
    if not value.strip():
        raise _bad("text", "must not be empty")
    if not _encodable(value):
        raise _bad("text", "must be valid Unicode text")
    return value


def _client_id(obj: Frame) -> str | int:
    value = obj.get("id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad("id", "must be a string or an integer of your choice")
    if isinstance(value, str) and not (0 < len(value) <= MAX_CLIENT_ID_CHARS and _encodable(value)):
        raise _bad("id", f"must be 1 to {MAX_CLIENT_ID_CHARS} characters of valid Unicode")
    if isinstance(value, int) and not (0 <= value < 2**53):
        raise _bad("id", "must be between 0 and 2^53")
    return value


def _chat(obj: Frame) -> str:
    value = obj.get("chat")
    if not isinstance(value, str) or not _CHAT_ID.match(value):
        raise _bad("chat", "must be a chat id from an assigned frame")
    return value


def _seq(obj: Frame, field: str) -> int:
    value = obj.get(field, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value >= 2**53:
        raise _bad(field, "must be a non-negative integer")
    return value


def intake_fields(obj: Frame) -> Intake:
    """The optional intake answers present in ``obj`` (absent fields are left out).

    ``null`` means "vill inte svara" and is kept as None / not_stated.
    """
    out: Intake = {}
    if "age" in obj:
        age = obj["age"]
        if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= MAX_AGE):
            raise _bad("age", f"must be a whole number from 1 to {MAX_AGE}, or null")
        out["age"] = age
    if "gender" in obj:
        g = obj["gender"]
        if g is None:
            g = "not_stated"
        if g not in vocab.GENDERS:
            raise _bad("gender", f"must be one of {', '.join(vocab.GENDERS)}")
        out["gender"] = g
    if "municipality" in obj:
        out["municipality"] = _opt_str(
            obj, "municipality", geography.valid_municipality,
            "must be a four-digit SCB code such as \"0180\", \"other\" or null",
        )
    if "district" in obj:
        district = obj["district"]
        if district is not None:
            # Checked against a municipality in the same frame; alone, it must be a
            # known district (the hub checks it against the chat's municipality).
            municipality = out.get("municipality")
            if not isinstance(district, str) or not (
                    geography.valid_district(municipality, district) if "municipality" in out
                    else geography.known_district(district)):
                raise _bad("district", "must be a district id (of the given municipality), or null")
        out["district"] = district
    if "first_contact" in obj:
        fc = obj["first_contact"]
        if fc is True:
            fc = "yes"
        elif fc is False:
            fc = "no"
        elif fc is None:
            fc = "not_stated"
        if not isinstance(fc, str) or fc not in vocab.FIRST_CONTACT:
            raise _bad("first_contact", "must be true, false, null, or yes/no/not_stated")
        out["first_contact"] = fc
    return out


# -- visitor frames -------------------------------------------------------------

def _v_hello(obj: Frame) -> Hello:
    lang = obj.get("lang")
    if lang is None or lang == "":
        lang = "sv"
    if not isinstance(lang, str) or lang not in vocab.LANGUAGES:
        raise _bad("lang", f"must be one of {', '.join(vocab.LANGUAGES)}")
    channel = _opt_str(obj, "channel", lambda s: bool(_SLUG.match(s)), "must be a short lower-case id") or "web"
    resume = _opt_str(obj, "resume", lambda s: bool(_TOKEN.match(s)), "must be a resume_token from welcome")
    followup = _opt_str(obj, "followup", lambda s: bool(_FOLLOWUP.match(s)),
                        "must be a follow-up code such as \"ABCD-EFGH\"")
    hello: Hello = {"type": "hello", "lang": lang, "channel": channel, "resume": resume,
             "last_seq": _seq(obj, "last_seq")}
    if followup:
        hello["followup"] = followup
    topic = obj.get("topic")
    if topic is not None:
        # The widget asks the topic before the chat starts: given here, it steers the very
        # first matching (an intake frame a moment later could arrive after it).
        if topic not in vocab.ROLES:
            raise _bad("topic", f"must be one of {', '.join(vocab.ROLES)}, or null")
        hello["topic"] = topic
    return hello


def _v_intake(obj: Frame) -> IntakeFrame:
    out: IntakeFrame = {"type": "intake", **intake_fields(obj)}
    if "topic" in obj:
        # Only the visitor's frame carries it: a wrap-up's ``topic`` is the volunteer's own field.
        topic = obj["topic"]
        if topic is not None and topic not in vocab.ROLES:
            raise _bad("topic", f"must be one of {', '.join(vocab.ROLES)}, or null")
        out["topic"] = topic
    return out


def _v_message(obj: Frame) -> VisitorMessage:
    return {"type": "message", "id": _client_id(obj), "text": _text(obj)}


def _v_typing(obj: Frame) -> VisitorTyping:
    return {"type": "typing", "active": _bool(obj, "active")}


def _v_leave(obj: Frame) -> Leave:
    if obj.get("quick") is None:
        return {"type": "leave"}
    return {"type": "leave", "quick": _bool(obj, "quick")}


def _v_followup_choice(obj: Frame) -> FollowupChoice:
    return {"type": "followup_choice", "wait": _bool(obj, "wait")}


_VISITOR: dict[str, Callable[[Frame], VisitorFrame]] = {
    "hello": _v_hello, "intake": _v_intake, "message": _v_message,
    "typing": _v_typing, "leave": _v_leave, "followup_choice": _v_followup_choice,
}


# -- volunteer frames -----------------------------------------------------------

def _o_status(obj: Frame) -> Status:
    state = obj.get("state")
    if state not in ("available", "paused"):
        raise _bad("state", "must be available or paused")
    return {"type": "status", "state": state}


def _o_message(obj: Frame) -> VolunteerMessage:
    return {"type": "message", "chat": _chat(obj), "id": _client_id(obj), "text": _text(obj)}


def _o_typing(obj: Frame) -> VolunteerTyping:
    return {"type": "typing", "chat": _chat(obj), "active": _bool(obj, "active")}


def _o_refer(obj: Frame) -> Refer:
    services = obj.get("services")
    if (not isinstance(services, list) or not 0 < len(services) <= MAX_SERVICES
            or not all(isinstance(s, str) and _SLUG.match(s) for s in services)):
        raise _bad("services", f"must be a list of 1 to {MAX_SERVICES} service ids")
    out: Refer = {"type": "refer", "chat": _chat(obj), "services": list(dict.fromkeys(services))}
    facts = obj.get("facts")
    if facts is not None:
        # What the volunteer learned in the conversation, checked instead of the intake.
        if not isinstance(facts, dict) or set(facts) - {"age", "municipality", "district"}:
            raise _bad("facts", "must be an object with age, municipality and/or district")
        try:
            out["facts"] = intake_fields(facts)
        except FrameError as exc:
            raise FrameError(exc.code, "facts." + exc.detail) from None
    return out


def _o_end(obj: Frame) -> End:
    return {"type": "end", "chat": _chat(obj)}


def _o_wrapup(obj: Frame) -> Wrapup:
    report = obj.get("report")
    if not isinstance(report, dict):
        raise _bad("report", "must be an object with topic, violence and any intake correction")
    non_data = report.get("non_data")
    if non_data is not None and non_data not in vocab.NON_DATA:
        raise _bad("report.non_data", f"must be one of {', '.join(vocab.NON_DATA)} or null")
    topic = report.get("topic")
    if topic is None and non_data is None:
        raise _bad("report.topic", f"is required: one of {', '.join(vocab.ROLES)}")
    if topic is not None and topic not in vocab.ROLES:
        raise _bad("report.topic", f"must be one of {', '.join(vocab.ROLES)}")
    violence = report.get("violence", [])
    if (not isinstance(violence, list) or len(violence) > len(vocab.VIOLENCE)
            or not all(isinstance(v, str) and v in vocab.VIOLENCE for v in violence)):
        raise _bad("report.violence", f"must be a list drawn from {', '.join(vocab.VIOLENCE)}")
    try:
        corrections = intake_fields(report)
    except FrameError as exc:
        raise FrameError(exc.code, "report." + exc.detail) from None
    out: Report = {"non_data": non_data, "topic": topic, "violence": sorted(set(violence)),
                   "corrections": corrections}
    heavy = report.get("heavy")
    if heavy is not None:
        if not isinstance(heavy, bool):
            raise _bad("report.heavy", "must be true or false")
        out["heavy"] = heavy
    return {"type": "wrapup", "chat": _chat(obj), "report": out}


# -- supervision frames (chat.supervision; the console's supervisor tools) --------

_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ALERT_ID = re.compile(r"^[a-f0-9]{12}$")
BLOCK_HOURS = (24, 72, 168)
ESCALATIONS = ("help", "acute")


def _o_supervise(obj: Frame) -> Supervise:
    return {"type": "supervise", "active": _bool(obj, "active")}


def _o_observe(obj: Frame) -> Observe:
    return {"type": "observe", "chat": _chat(obj), "active": _bool(obj, "active")}


def _o_whisper(obj: Frame) -> Whisper:
    return {"type": "whisper", "chat": _chat(obj), "id": _client_id(obj), "text": _text(obj)}


def _o_join(obj: Frame) -> Join:
    return {"type": "join", "chat": _chat(obj)}


def _o_takeover(obj: Frame) -> Takeover:
    return {"type": "takeover", "chat": _chat(obj)}


def _o_route_any(obj: Frame) -> RouteAny:
    return {"type": "route_any", "chat": _chat(obj)}


def _o_escalate(obj: Frame) -> Escalate:
    kind = obj.get("kind")
    if kind not in ESCALATIONS:
        raise _bad("kind", "must be help or acute")
    return {"type": "escalate", "chat": _chat(obj), "kind": kind}


def _o_dismiss(obj: Frame) -> Dismiss:
    alert = obj.get("alert")
    if not isinstance(alert, str) or not _ALERT_ID.match(alert):
        raise _bad("alert", "must be an alert id from an overview")
    return {"type": "dismiss", "alert": alert}


def _o_block(obj: Frame) -> Block:
    hours = obj.get("hours")
    if not isinstance(hours, int) or isinstance(hours, bool) or hours not in BLOCK_HOURS:
        raise _bad("hours", "must be 24, 72 or 168")
    return {"type": "block", "chat": _chat(obj), "hours": hours}


def _o_followup(obj: Frame) -> Followup:
    return {"type": "followup", "chat": _chat(obj)}


def _o_transfer(obj: Frame) -> Transfer:
    to = obj.get("to")
    if isinstance(to, str) and _ACCOUNT_ID.match(to):
        target: dict[str, str] = {"volunteer": to}
    elif isinstance(to, dict) and to.get("queue") in vocab.LANGUAGES:
        target = {"queue": to["queue"]}
    else:
        raise _bad("to", "must be a volunteer id from an overview, or {\"queue\": \"sv\"|\"en\"}")
    return {"type": "transfer", "chat": _chat(obj), "to": target}


MAX_NOTE_CHARS = 500        # a handover note: a few sentences, for the receiver only
_SKILL = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _o_offer(obj: Frame) -> Offer:
    to = obj.get("to")
    if isinstance(to, dict) and isinstance(to.get("volunteer"), str) and _ACCOUNT_ID.match(to["volunteer"]):
        target: dict[str, str] = {"volunteer": to["volunteer"]}
    elif isinstance(to, dict) and to.get("language") in vocab.LANGUAGES:
        target = {"language": to["language"]}
    elif isinstance(to, dict) and isinstance(to.get("skill"), str) and _SKILL.match(to["skill"]):
        target = {"skill": to["skill"]}
    else:
        raise _bad("to", "must be {\"volunteer\": id}, {\"language\": \"sv\"|\"en\"} or {\"skill\": skill}")
    note = obj.get("note")
    if note is None:
        note = ""
    if not isinstance(note, str) or not _encodable(note):
        raise _bad("note", "must be a string of valid Unicode text")
    if len(note) > MAX_NOTE_CHARS:
        raise _bad("note", f"may be at most {MAX_NOTE_CHARS} characters")
    return {"type": "offer", "chat": _chat(obj), "to": target, "note": note.strip()}


def _o_offer_reply(obj: Frame) -> OfferReply:
    offer = obj.get("offer")
    if not isinstance(offer, str) or not _ALERT_ID.match(offer):
        raise _bad("offer", "must be an offer id from an offer frame")
    return {"type": "offer_reply", "offer": offer, "accept": _bool(obj, "accept")}


def _o_offer_cancel(obj: Frame) -> OfferCancel:
    offer = obj.get("offer")
    if not isinstance(offer, str) or not _ALERT_ID.match(offer):
        raise _bad("offer", "must be an offer id from an offer_sent frame")
    return {"type": "offer_cancel", "offer": offer}


def _o_colleagues(_obj: Frame) -> Colleagues:
    return {"type": "colleagues"}


def _o_debrief(obj: Frame) -> Debrief:
    return {"type": "debrief", "chat": _chat(obj)}


# -- trainees and practice chats (chat.shadowing, chat.practice) ------------------------

def _o_shadowable(_obj: Frame) -> Shadowable:
    return {"type": "shadowable"}


def _o_shadow(obj: Frame) -> Shadow:
    return {"type": "shadow", "chat": _chat(obj), "active": _bool(obj, "active")}


def _account(obj: Frame, field: str, why: str) -> str:
    value = obj.get(field)
    if not isinstance(value, str) or not _ACCOUNT_ID.match(value):
        raise _bad(field, why)
    return value


def _o_shadow_answer(obj: Frame) -> ShadowAnswer:
    return {"type": "shadow_answer", "chat": _chat(obj),
            "trainee": _account(obj, "trainee", "must be the trainee id from shadow_request"),
            "accept": _bool(obj, "accept")}


def _o_practice_partners(_obj: Frame) -> PracticePartners:
    return {"type": "practice_partners"}


def _o_practice_open(obj: Frame) -> PracticeOpen:
    lang = obj.get("lang", "sv")
    if not isinstance(lang, str) or lang not in vocab.LANGUAGES:
        raise _bad("lang", f"must be one of {', '.join(vocab.LANGUAGES)}")
    return {"type": "practice_open", "partner": _account(obj, "partner", "must be an id from practice_partners"),
            "lang": lang}


PLAYED_TYPES = ("intake", "message", "typing", "leave")


def _o_practice_visitor(obj: Frame) -> PracticeVisitor:
    inner = obj.get("frame")
    if not isinstance(inner, dict) or inner.get("type") not in PLAYED_TYPES:
        raise _bad("frame", f"must be a young person's frame: one of {', '.join(PLAYED_TYPES)}")
    played = _VISITOR[inner["type"]](inner)
    assert played["type"] != "hello" and played["type"] != "followup_choice"
    return {"type": "practice_visitor", "chat": _chat(obj), "frame": played}


def _o_practice_resume(obj: Frame) -> PracticeResume:
    token = obj.get("resume_token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise _bad("resume_token", "must be the resume_token of the practice chat's welcome")
    return {"type": "practice_resume", "resume_token": token, "last_seq": _seq(obj, "last_seq")}


_VOLUNTEER: dict[str, Callable[[Frame], VolunteerFrame]] = {
    "status": _o_status, "message": _o_message, "typing": _o_typing,
    "refer": _o_refer, "end": _o_end, "wrapup": _o_wrapup,
    "escalate": _o_escalate, "transfer": _o_transfer, "followup": _o_followup,
    "supervise": _o_supervise, "observe": _o_observe, "whisper": _o_whisper, "join": _o_join,
    "takeover": _o_takeover, "dismiss": _o_dismiss, "block": _o_block,
    "offer": _o_offer, "offer_reply": _o_offer_reply, "offer_cancel": _o_offer_cancel,
    "colleagues": _o_colleagues, "debrief": _o_debrief,
    "route_any": _o_route_any,
    "shadowable": _o_shadowable, "shadow": _o_shadow, "shadow_answer": _o_shadow_answer,
    "practice_partners": _o_practice_partners, "practice_open": _o_practice_open,
    "practice_visitor": _o_practice_visitor, "practice_resume": _o_practice_resume,
}
# Frames only an account with the supervisor role may send.
SUPERVISOR_TYPES = ("supervise", "observe", "whisper", "join", "takeover", "dismiss", "block", "route_any")
# Frames chat.supervision handles (the rest go to the hub).
SUPERVISION_TYPES = ("escalate", "transfer", "followup", *SUPERVISOR_TYPES,
                     "offer", "offer_reply", "offer_cancel", "colleagues", "debrief")
# Frames chat.shadowing and chat.practice handle; who may send which (volunteer.accounts roles).
TRAINING_TYPES = ("shadowable", "shadow", "shadow_answer", "practice_partners", "practice_open",
                  "practice_visitor", "practice_resume")
TRAINEE_ONLY_TYPES = ("shadowable", "shadow")
# What a trainee may send: its shadowing, a whisper while it follows, and the frames of
# the practice chats it answers.
TRAINEE_TYPES = ("shadowable", "shadow", "whisper", "message", "typing", "end", "refer", "wrapup")
# Frames about a chat that mean nothing in a practice chat (no alert, no code, no block, no handing over).
NOT_IN_PRACTICE = ("escalate", "transfer", "followup", "block", "takeover", "join", "offer", "debrief")


def _parse(raw: str | bytes | None, table: dict[str, Callable[[Frame], F]]) -> F:
    obj = decode(raw)
    handler = table.get(obj["type"])
    if handler is None:
        raise FrameError.of(codes.UNKNOWN_TYPE, f"unknown frame type; expected one of {', '.join(table)}")
    return handler(obj)


def parse_visitor(raw: str | bytes | None) -> VisitorFrame:
    return _parse(raw, _VISITOR)


def parse_volunteer(raw: str | bytes | None) -> VolunteerFrame:
    return _parse(raw, _VOLUNTEER)


VISITOR_TYPES = tuple(_VISITOR)
VOLUNTEER_TYPES = tuple(_VOLUNTEER)
