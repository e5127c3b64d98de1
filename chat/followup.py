"""Follow-up codes: a young person may come back to the same volunteer without an identity.

A volunteer gives a code (``followup {chat}``); the visitor sees it once
(``followup {code, valid_days}``) and may write it down. Coming back with
``hello {followup: CODE}`` within ``VALID_DAYS`` routes the new chat straight to that
volunteer when they are on shift with a free slot, and to the ordinary queue
otherwise. The code is never stored: only its keyed hash (HMAC-SHA256 under the
server secret), the volunteer's account id and the expiry. It names no chat and
no visitor. A code can be used again until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import DateTime, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from .kernel.db import Base

# No 0/O, 1/I/L: a code read aloud or copied by hand survives.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_CHARS = 8          # 31^8 ≈ 8.5e11 codes: guessing one in 14 days is hopeless
VALID_DAYS = 14


class FollowupCode(Base):
    __tablename__ = "followup_codes"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str | None:
    """Upper case, without dashes and spaces; None unless it could be a code."""
    raw = code.upper().replace("-", "").replace(" ", "")
    if len(raw) != CODE_CHARS or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(secret: bytes, code: str) -> str:
    norm = normalise(code) or ""
    return hmac.new(secret, b"followup\x00" + norm.encode(), hashlib.sha256).hexdigest()


async def issue(sessions: async_sessionmaker[AsyncSession], secret: bytes, account_id: str, *,
                now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    code = new_code()
    async with sessions() as session, session.begin():
        session.add(FollowupCode(hash=code_hash(secret, code), account_id=account_id,
                                 expires_at=now + timedelta(days=VALID_DAYS)))
    return code


async def resolve(sessions: async_sessionmaker[AsyncSession], secret: bytes, code: str, *,
                  now: datetime | None = None) -> str | None:
    """The account that gave ``code``, if it is valid now; expired codes are removed."""
    if normalise(code) is None:
        return None
    now = now or datetime.now(timezone.utc)
    async with sessions() as session, session.begin():
        await session.execute(delete(FollowupCode).where(FollowupCode.expires_at < now))
        row = await session.scalar(select(FollowupCode).where(FollowupCode.hash == code_hash(secret, code)))
        return row.account_id if row is not None else None
