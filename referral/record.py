"""The de-identified record: the only lasting trace of a chat (domain.md).

One row per chat, written once, when the chat is over and the volunteer has
filed the wrap-up (or the wrap-up is overdue). Every column is a number, a date
or a word from a vocabulary: no free text, no time of day finer than a
three-hour band, no address, no user agent, the volunteer only as a keyed
pseudonym. ``build_record`` is pure; ``write_record`` does the insert.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, Date, Integer, SmallInteger, String, false
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base

from . import geography, vocab
from .store import link

ROUND_TO_S = 10     # wait and duration are kept to the nearest 10 s (domain.md)
BAND_HOURS = 3      # the time of day is kept as a three-hour band, e.g. "18-21"
MAX_COUNTED = 99    # escalations of one chat are counted up to this (a SmallInteger, and no outlier)


class ChatRecord(Base):
    __tablename__ = "chat_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    time_band: Mapped[str] = mapped_column(String(5))
    channel: Mapped[str] = mapped_column(String(40))
    lang: Mapped[str] = mapped_column(String(5))
    outcome: Mapped[str] = mapped_column(String(16))
    ended_by: Mapped[str | None] = mapped_column(String(12))
    wait_s: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[int] = mapped_column(Integer)
    age: Mapped[int | None] = mapped_column(SmallInteger)
    gender: Mapped[str] = mapped_column(String(12))
    municipality: Mapped[str | None] = mapped_column(String(8))
    district: Mapped[str | None] = mapped_column(String(40))
    topic: Mapped[str | None] = mapped_column(String(20))
    v_physical: Mapped[bool] = mapped_column(Boolean, default=False)
    v_psychological: Mapped[bool] = mapped_column(Boolean, default=False)
    v_sexual: Mapped[bool] = mapped_column(Boolean, default=False)
    v_digital: Mapped[bool] = mapped_column(Boolean, default=False)
    v_economic: Mapped[bool] = mapped_column(Boolean, default=False)
    v_honour: Mapped[bool] = mapped_column(Boolean, default=False)
    first_contact: Mapped[str] = mapped_column(String(10))
    volunteer: Mapped[str | None] = mapped_column(String(24))
    non_data: Mapped[str | None] = mapped_column(String(10))
    wrapup_filed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Care (migration 0015_care): counts and flags, never a reason in free text.
    escalations_help: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    escalations_acute: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    debrief: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    heavy: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Topic routing: what the young person chose in the widget, and whether the
    # volunteer who took the chat held it as a skill (None: no topic, or nobody took it).
    intake_topic: Mapped[str | None] = mapped_column(String(20), default=None)
    specialist: Mapped[bool | None] = mapped_column(Boolean, default=None)
    # The visitor was offered the anonymous survey (referral.survey); its answers, if
    # any, are in survey_responses under this record's id.
    survey_offered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


@dataclass
class ChatFacts:
    """What the hub knows of a chat when it is over (all in memory until then)."""

    started_at: datetime                # aware, UTC
    channel: str
    lang: str
    outcome: str
    ended_by: str | None
    wait_s: float
    duration_s: float
    intake: dict[str, Any] = field(default_factory=dict)
    volunteer_id: str | None = None
    escalations_help: int = 0           # the volunteer asked a supervisor for help (escalate help)
    escalations_acute: int = 0          # the volunteer flagged acute danger (escalate acute)
    debrief: bool = False               # the volunteer asked for a debrief after the chat
    specialist: bool | None = None      # the first volunteer held the intake topic as a skill
    record_id: str | None = None        # drawn when the chat ended, if a survey was offered for it


def round_seconds(seconds: float) -> int:
    return int(round(max(0.0, seconds) / ROUND_TO_S)) * ROUND_TO_S


def time_band(local: datetime) -> str:
    start = (local.hour // BAND_HOURS) * BAND_HOURS
    return f"{start:02d}-{start + BAND_HOURS:02d}"


def volunteer_pseudonym(secret: bytes, account_id: str) -> str:
    """A keyed pseudonym: stable for counting hours, meaningless without the secret."""
    return hmac.new(secret, b"volunteer-pseudonym\x00" + account_id.encode(), hashlib.sha256).hexdigest()[:20]


def build_record(facts: ChatFacts, wrapup: Mapping[str, Any] | None, *, tz: str, secret: bytes) -> dict[str, Any]:
    """The record's columns; ``wrapup`` is the validated report or None (not filed)."""
    intake = dict(facts.intake)
    if wrapup:
        intake.update(wrapup.get("corrections") or {})
    local = facts.started_at.astimezone(ZoneInfo(tz))
    violence = set((wrapup or {}).get("violence") or [])
    municipality = intake.get("municipality")
    row: dict[str, Any] = {
        "id": facts.record_id or secrets.token_hex(16),
        "day": local.date(),
        "time_band": time_band(local),
        "channel": facts.channel,
        "lang": facts.lang,
        "outcome": facts.outcome,
        "ended_by": facts.ended_by,
        "wait_s": round_seconds(facts.wait_s),
        "duration_s": round_seconds(facts.duration_s),
        "age": intake.get("age"),
        "gender": intake.get("gender") or "not_stated",
        "municipality": municipality,
        "district": geography.consistent(municipality, intake.get("district")),
        "topic": (wrapup or {}).get("topic"),
        "first_contact": intake.get("first_contact") or "not_stated",
        "volunteer": volunteer_pseudonym(secret, facts.volunteer_id) if facts.volunteer_id else None,
        "non_data": (wrapup or {}).get("non_data"),
        "wrapup_filed": wrapup is not None,
        "escalations_help": min(facts.escalations_help, MAX_COUNTED),
        "escalations_acute": min(facts.escalations_acute, MAX_COUNTED),
        "debrief": facts.debrief,
        # Heavy: as the volunteer marked it, or as the chat showed it (acute danger, uses violence).
        "heavy": bool((wrapup or {}).get("heavy")) or facts.escalations_acute > 0
                 or (wrapup or {}).get("topic") == "uses_violence",
        "intake_topic": facts.intake.get("topic") if facts.intake.get("topic") in vocab.ROLES else None,
        "specialist": facts.specialist if facts.intake.get("topic") in vocab.ROLES else None,
        "survey_offered": facts.record_id is not None,
    }
    for form in vocab.VIOLENCE:
        row[f"v_{form}"] = form in violence
    assert row["outcome"] in vocab.OUTCOMES
    return row


async def write_record(sessions: async_sessionmaker[AsyncSession], row: dict[str, Any]) -> None:
    """Insert the record; ``row["referrals"]`` (if any) becomes its record_referrals rows, in one transaction."""
    columns = {k: v for k, v in row.items() if k != "referrals"}
    async with sessions() as session, session.begin():
        session.add(ChatRecord(**columns))
        if row.get("referrals"):
            await session.flush()
            await link(session, columns["id"], row["referrals"])
