"""The typed shapes of the socket frames, one TypedDict per frame type.

``chat.frames`` returns these: plain dicts at run time (the hub reads
``frame["text"]``), typed for mypy, each narrowed by its ``type`` literal. The
visitor's and the volunteer's client frames are the two unions ``VisitorFrame``
and ``VolunteerFrame``; docs/protocol.md describes each field.
"""

# No "from __future__ import annotations" here: Python 3.11 reads NotRequired only in
# evaluated annotations (for __required_keys__, which the tests check).
from typing import Any, Literal, NotRequired, TypedDict, Union

ClientId = str | int


class Intake(TypedDict, total=False):
    """The optional intake answers (``None``: the visitor chose not to answer)."""

    age: int | None
    gender: str
    municipality: str | None
    district: str | None
    first_contact: str
    topic: str | None           # what the young person wants to talk about (the role vocabulary)


# -- visitor → server ---------------------------------------------------------------

class Hello(TypedDict):
    type: Literal["hello"]
    lang: str
    channel: str
    resume: str | None
    last_seq: int
    followup: NotRequired[str]
    topic: NotRequired[str]                   # the intake topic, known before the chat is queued
    followup_vid: NotRequired[str | None]     # added by the endpoint: the code's volunteer


class IntakeFrame(Intake):
    type: Literal["intake"]


class VisitorMessage(TypedDict):
    type: Literal["message"]
    id: ClientId
    text: str


class VisitorTyping(TypedDict):
    type: Literal["typing"]
    active: bool


class Leave(TypedDict):
    type: Literal["leave"]
    quick: NotRequired[bool]        # quick exit: no survey is offered


class FollowupChoice(TypedDict):
    type: Literal["followup_choice"]
    wait: bool                      # wait for the follow-up code's volunteer, or anyone free now


VisitorFrame = Union[Hello, IntakeFrame, VisitorMessage, VisitorTyping, Leave, FollowupChoice]
# What the player of a practice chat sends as the young person (chat.practice).
PlayedFrame = Union[IntakeFrame, VisitorMessage, VisitorTyping, Leave]


# -- volunteer → server ---------------------------------------------------------------

class Status(TypedDict):
    type: Literal["status"]
    state: Literal["available", "paused"]


class VolunteerMessage(TypedDict):
    type: Literal["message"]
    chat: str
    id: ClientId
    text: str


class VolunteerTyping(TypedDict):
    type: Literal["typing"]
    chat: str
    active: bool


class Refer(TypedDict):
    type: Literal["refer"]
    chat: str
    services: list[str]
    facts: NotRequired[Intake]


class End(TypedDict):
    type: Literal["end"]
    chat: str


class Report(TypedDict):
    non_data: str | None
    topic: str | None
    violence: list[str]
    corrections: Intake
    heavy: NotRequired[bool]        # the volunteer found the chat heavy (chat.care counts it)


class Wrapup(TypedDict):
    type: Literal["wrapup"]
    chat: str
    report: Report


class Escalate(TypedDict):
    type: Literal["escalate"]
    chat: str
    kind: Literal["help", "acute"]


class Transfer(TypedDict):
    type: Literal["transfer"]
    chat: str
    to: dict[str, str]          # {"volunteer": id} or {"queue": lang}


class Offer(TypedDict):
    type: Literal["offer"]
    chat: str
    to: dict[str, str]          # {"volunteer": id}, {"language": lang} or {"skill": skill}
    note: str                   # the handover note, for the receiver only ("" when none)


class OfferReply(TypedDict):
    type: Literal["offer_reply"]
    offer: str
    accept: bool


class OfferCancel(TypedDict):
    type: Literal["offer_cancel"]
    offer: str


class Colleagues(TypedDict):
    type: Literal["colleagues"]


class Debrief(TypedDict):
    type: Literal["debrief"]
    chat: str


class Followup(TypedDict):
    type: Literal["followup"]
    chat: str


class Supervise(TypedDict):
    type: Literal["supervise"]
    active: bool


class Observe(TypedDict):
    type: Literal["observe"]
    chat: str
    active: bool


class Whisper(TypedDict):
    type: Literal["whisper"]
    chat: str
    id: ClientId
    text: str


class Join(TypedDict):
    type: Literal["join"]
    chat: str


class Takeover(TypedDict):
    type: Literal["takeover"]
    chat: str


class RouteAny(TypedDict):
    """A supervisor hands a chat kept for a busy specialist to any volunteer at once."""

    type: Literal["route_any"]
    chat: str


class Dismiss(TypedDict):
    type: Literal["dismiss"]
    alert: str


class Block(TypedDict):
    type: Literal["block"]
    chat: str
    hours: int


# -- trainees and practice chats (chat.shadowing, chat.practice) ------------------------

class Shadowable(TypedDict):
    type: Literal["shadowable"]


class Shadow(TypedDict):
    type: Literal["shadow"]
    chat: str
    active: bool


class ShadowAnswer(TypedDict):
    type: Literal["shadow_answer"]
    chat: str
    trainee: str
    accept: bool


class PracticePartners(TypedDict):
    type: Literal["practice_partners"]


class PracticeOpen(TypedDict):
    type: Literal["practice_open"]
    partner: str                # the account that answers it
    lang: str


class PracticeVisitor(TypedDict):
    type: Literal["practice_visitor"]
    chat: str
    frame: PlayedFrame


class PracticeResume(TypedDict):
    type: Literal["practice_resume"]
    resume_token: str
    last_seq: int


# The frames about one chat the console holds (or, for a supervisor, joined).
ChatFrame = Union[VolunteerMessage, VolunteerTyping, Refer, End]

# The frames chat.supervision and its neighbours take (chat.frames.SUPERVISION_TYPES).
SupervisionFrame = Union[Escalate, Transfer, Followup, Supervise, Observe, Whisper, Join, Takeover, Dismiss, Block,
                         Offer, OfferReply, OfferCancel, Colleagues, Debrief, RouteAny]

# The frames chat.shadowing and chat.practice take (chat.frames.TRAINING_TYPES).
TrainingFrame = Union[Shadowable, Shadow, ShadowAnswer, PracticePartners, PracticeOpen, PracticeVisitor,
                      PracticeResume]

VolunteerFrame = Union[Status, VolunteerMessage, VolunteerTyping, Refer, End, Wrapup, Escalate, Transfer,
                       Followup, Supervise, Observe, Whisper, Join, Takeover, Dismiss, Block,
                       Offer, OfferReply, OfferCancel, Colleagues, Debrief, Shadowable, Shadow,
                       ShadowAnswer, PracticePartners, PracticeOpen, PracticeVisitor, PracticeResume, RouteAny]


# -- server → client (the shapes the edge writes itself) ------------------------------

class ErrorFrame(TypedDict):
    type: Literal["error"]
    code: str
    detail: str


# Any frame, as the outbox takes it.
OutFrame = dict[str, Any]
