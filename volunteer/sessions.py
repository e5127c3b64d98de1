"""Server-side login sessions that logout really ends.

The cookie carries 32 random bytes; the database keeps only their SHA-256, so a
leaked database holds no usable session. A session ends on logout, after
``session_idle_s`` without use, and ``session_max_s`` after it began.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .accounts import Profile, load_profile
from .models import Account, LoginSession

# Refresh last_seen_at at most this often: one write per minute, not per request.
TOUCH_EVERY = timedelta(seconds=60)
TOKEN_BYTES = 32
# A restricted session (password only: second factor or new password still to come)
# lasts at most this long: enough to set up an authenticator app, no more.
RESTRICTED_MAX = timedelta(minutes=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utc(dt: datetime) -> datetime:
    # SQLite hands back naive datetimes; they were stored as UTC.
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


async def start(sessions: async_sessionmaker[AsyncSession], account_id: str,
                now: datetime | None = None) -> str:
    now = now or datetime.now(timezone.utc)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    async with sessions() as session, session.begin():
        session.add(LoginSession(token_hash=_hash(token), account_id=account_id,
                                 created_at=now, last_seen_at=now))
    return token


async def lookup(sessions: async_sessionmaker[AsyncSession], token: str, *, idle_s: float,
                 max_s: float, now: datetime | None = None) -> Profile | None:
    """The profile of the session's enabled account, or None (an expired session is deleted)."""
    now = now or datetime.now(timezone.utc)
    if not token or len(token) > 100:
        return None
    async with sessions() as session, session.begin():
        row = await session.get(LoginSession, _hash(token))
        if row is None:
            return None
        last, created = _utc(row.last_seen_at), _utc(row.created_at)
        if now - last > timedelta(seconds=idle_s) or now - created > timedelta(seconds=max_s):
            await session.delete(row)
            return None
        account = await session.get(Account, row.account_id)
        if account is None or account.disabled:
            return None
        profile = await load_profile(session, account, now.date())
        if profile.restricted and now - created > RESTRICTED_MAX:
            await session.delete(row)           # a password-only session does not linger
            return None
        if now - last > TOUCH_EVERY:
            row.last_seen_at = now
        return profile


async def end(sessions: async_sessionmaker[AsyncSession], token: str) -> str | None:
    """End the session; return its account id (None if there was no such session)."""
    async with sessions() as session, session.begin():
        row = await session.get(LoginSession, _hash(token))
        if row is None:
            return None
        await session.delete(row)
        return row.account_id


async def end_all(sessions: async_sessionmaker[AsyncSession], account_id: str) -> None:
    async with sessions() as session, session.begin():
        await session.execute(delete(LoginSession).where(LoginSession.account_id == account_id))


async def purge_expired(sessions: async_sessionmaker[AsyncSession], *, idle_s: float,
                        max_s: float, now: datetime | None = None) -> int:
    now = now or datetime.now(timezone.utc)
    async with sessions() as session, session.begin():
        rows = (await session.scalars(select(LoginSession))).all()
        gone = [r for r in rows if now - _utc(r.last_seen_at) > timedelta(seconds=idle_s)
                or now - _utc(r.created_at) > timedelta(seconds=max_s)]
        for r in gone:
            await session.delete(r)
        return len(gone)
