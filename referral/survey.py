"""The anonymous survey after a chat: one-time tokens and fixed-choice answers.

When a chat that had a volunteer ends with the visitor still connected, the live
chat draws the chat's record id ahead of time and a one-time token (``issue``);
the visitor's ``ended`` frame carries the token. ``POST /api/survey`` hands it
back with up to three answers (``answer``), within ``TOKEN_TTL_S``.

Where the token lives: in the database, so that every node answers it and an
answer given before the record is written still counts. ``survey_tokens`` keeps
only the token's keyed hash (HMAC under a key derived from the server secret),
its expiry (to the minute) and the record id it will answer for. Using the token
clears the record id from it; so does a sweep once it has expired; after
``TOKEN_KEPT_S`` the row goes. ``survey_responses`` holds the answers, keyed by
the record id and nothing else: no time, no token, no address. The record is
written when the volunteer files the wrap-up; the statistics join the two
tables, so the order does not matter.

Answers (contract "After the chat"): each optional, each a word of ``QUESTIONS``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Boolean, Integer, String, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel import error_codes as codes
from chat.kernel.db import Base

from .exceptions import ReferralError

# The questions and their fixed answers (contract "After the chat").
QUESTIONS: dict[str, tuple[str, ...]] = {
    "helped": ("yes", "partly", "no"),
    "knows_where_to_turn": ("yes", "no", "unsure"),
    "would_return": ("yes", "no", "unsure"),
}
# A token answers for 30 minutes after the chat ended (contract): long enough to
# read a referral card first, short enough that an old tab cannot answer later.
TOKEN_TTL_S = 30 * 60
# A used or expired token is still told apart from an unknown one (409, not 400)
# for this long; then its row (a hash and an expiry, no record id) is deleted.
TOKEN_KEPT_S = 7 * 24 * 3600
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class SurveyToken(Base):
    __tablename__ = "survey_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str | None] = mapped_column(String(32))
    expires: Mapped[int] = mapped_column(Integer, index=True)      # epoch seconds, to the minute
    used: Mapped[bool] = mapped_column(Boolean, default=False)


class SurveyResponse(Base):
    __tablename__ = "survey_responses"

    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    helped: Mapped[str | None] = mapped_column(String(8))
    knows_where_to_turn: Mapped[str | None] = mapped_column(String(8))
    would_return: Mapped[str | None] = mapped_column(String(8))


class SurveyError(ReferralError):
    """A survey answer refused; ``field`` names what was wrong (the edge sends it)."""

    def __init__(self, detail: str, *, code: codes.Code, field: str) -> None:
        super().__init__(detail, code=code)
        self.field = field


def token_key(secret: bytes) -> bytes:
    """The key under which tokens are hashed, derived from the server secret."""
    return hmac.new(secret, b"jourchatt/survey-token/v1", hashlib.sha256).digest()


def token_hash(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _minute_up(t: float) -> int:
    return int(math.ceil(t / 60.0)) * 60


def validate(body: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(token, answers) of a request body; SurveyError names the field that is wrong."""
    unknown = sorted(set(body) - {"token", "answers"})
    if unknown:
        raise SurveyError(f"{unknown[0][:40]}: unknown field; send token and answers",
                          code=codes.INVALID_BODY, field=unknown[0][:40])
    token = body.get("token")
    if not isinstance(token, str) or not _TOKEN.match(token):
        raise SurveyError("token: must be the survey token of the ended frame", code=codes.UNKNOWN_SURVEY,
                          field="token")
    answers = body.get("answers", {})
    if answers is None:
        answers = {}
    if not isinstance(answers, dict):
        raise SurveyError("answers: must be an object such as {\"helped\": \"yes\"}", code=codes.INVALID_ANSWER,
                          field="answers")
    out: dict[str, str] = {}
    for name, value in answers.items():
        if name not in QUESTIONS:
            raise SurveyError(f"answers.{str(name)[:40]}: unknown question; the questions are "
                              f"{', '.join(QUESTIONS)}", code=codes.INVALID_ANSWER, field=f"answers.{str(name)[:40]}")
        if value is None:
            continue
        if value not in QUESTIONS[name]:
            raise SurveyError(f"answers.{name}: must be one of {', '.join(QUESTIONS[name])}",
                              code=codes.INVALID_ANSWER, field=f"answers.{name}")
        out[name] = value
    return token, out


async def _sweep(session: AsyncSession, now: float) -> None:
    """Expired tokens forget their record; long-expired ones go."""
    await session.execute(update(SurveyToken).where(SurveyToken.expires < now, SurveyToken.record_id.is_not(None))
                          .values(record_id=None))
    await session.execute(delete(SurveyToken).where(SurveyToken.expires < now - TOKEN_KEPT_S))


async def issue(sessions: async_sessionmaker[AsyncSession], key: bytes, token: str, record_id: str,
                now: float) -> None:
    """Keep ``token`` (its hash) as the survey of record ``record_id``, for ``TOKEN_TTL_S``."""
    async with sessions() as session, session.begin():
        await _sweep(session, now)
        session.add(SurveyToken(token_hash=token_hash(key, token), record_id=record_id,
                                expires=_minute_up(now + TOKEN_TTL_S), used=False))


async def withdraw(sessions: async_sessionmaker[AsyncSession], key: bytes, token: str) -> None:
    """Forget a token that was issued but never sent (the chat had ended already)."""
    async with sessions() as session, session.begin():
        await session.execute(delete(SurveyToken).where(SurveyToken.token_hash == token_hash(key, token)))


async def answer(sessions: async_sessionmaker[AsyncSession], key: bytes, token: str, answers: dict[str, str],
                 now: float) -> None:
    """Use ``token`` once and keep ``answers`` beside its record; SurveyError if it cannot be used."""
    h = token_hash(key, token)
    async with sessions() as session, session.begin():
        row = (await session.execute(select(SurveyToken.record_id, SurveyToken.expires, SurveyToken.used)
                                     .where(SurveyToken.token_hash == h))).first()
        if row is None:
            raise SurveyError("token: no such survey (the link may be mistyped)", code=codes.UNKNOWN_SURVEY,
                              field="token")
        record_id, expires, used = row
        # One use only, even for two requests at once: the update that flips ``used`` wins.
        done = await session.execute(update(SurveyToken)
                                     .where(SurveyToken.token_hash == h, SurveyToken.used.is_(False),
                                            SurveyToken.expires >= now)
                                     .values(used=True, record_id=None))
        if getattr(done, "rowcount", 0) != 1 or record_id is None:
            raise SurveyError("token: this survey was already answered or its 30 minutes are over"
                              if used or expires < now else "token: this survey is closed",
                              code=codes.SURVEY_CLOSED, field="token")
        if answers:
            session.add(SurveyResponse(record_id=record_id, **answers))
        await _sweep(session, now)


async def sweep(sessions: async_sessionmaker[AsyncSession], now: float) -> None:
    async with sessions() as session, session.begin():
        await _sweep(session, now)
