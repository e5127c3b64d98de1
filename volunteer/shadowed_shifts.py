"""Trainees' shadowed shifts, stored: a supervisor marks the days a trainee spent beside volunteers.

The training record of an account holds, besides its courses (``Training``), the
shifts it shadowed as a trainee (``ShadowedShift``): which day, and which account
marked it. Nothing points to a chat. A supervisor marks and unmarks them (in the
console, over the HTTP API below); an admin sees them with every account
(``GET /api/admin/accounts``, ``jourchatt volunteer list``/``shifts``).

The HTTP API is in ``volunteer.trainees``. (Booked shifts, the roster, are ``volunteer.shifts``.)
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .accounts import normalize_username
from .exceptions import AccountError, UnknownAccount
from .models import Account, ShadowedShift

Maker = async_sessionmaker[AsyncSession]
# How many shadowed shifts a trainee needs before answering alone (Tjejjouren: at least two);
# the lists show the count against it; giving a trainee short of it a chat role takes an
# admin's confirmation (volunteer.manage.set_role, despite_shifts).
SHIFTS_REQUIRED = 2




async def shifts_by_account(db: Maker) -> dict[str, list[dict[str, str]]]:
    """Every account's shadowed shifts, oldest first: {account id: [{day, marked_by}]} (display names)."""
    async with db() as session:
        rows = (await session.scalars(select(ShadowedShift).order_by(ShadowedShift.day))).all()
        names = {a.id: a.display_name for a in (await session.scalars(select(Account))).all()}
    out: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        out.setdefault(r.account_id, []).append({"day": r.day.isoformat(), "marked_by": names.get(r.marked_by, "")})
    return out


async def _trainee(session: AsyncSession, username: str) -> Account:
    account = await session.scalar(select(Account).where(Account.username == normalize_username(username)))
    if account is None or account.role != "trainee":
        raise UnknownAccount(f"no trainee is called {normalize_username(username)!r}")
    return account


async def mark_shift(db: Maker, username: str, day: date, *, by: str, today: date) -> tuple[str, bool]:
    """Mark ``day`` as a shift the trainee shadowed: (its id, whether it was new)."""
    if day > today:
        raise AccountError("day: a shift cannot be marked before it took place")
    try:
        async with db() as session, session.begin():
            account = await _trainee(session, username)
            found = await session.scalar(select(ShadowedShift).where(
                ShadowedShift.account_id == account.id, ShadowedShift.day == day))
            if found is not None:
                return account.id, False
            session.add(ShadowedShift(account_id=account.id, day=day, marked_by=by[:32],
                                      marked_at=datetime.now(timezone.utc)))
    except IntegrityError:          # marked at the same moment by someone else
        return await trainee_id(db, username), False
    return account.id, True


async def unmark_shift(db: Maker, username: str, day: date) -> tuple[str, bool]:
    async with db() as session, session.begin():
        account = await _trainee(session, username)
        result = await session.execute(delete(ShadowedShift).where(
            ShadowedShift.account_id == account.id, ShadowedShift.day == day))
    return account.id, bool(getattr(result, "rowcount", 0))


async def trainee_id(db: Maker, username: str) -> str:
    async with db() as session:
        return (await _trainee(session, username)).id


async def trainees(db: Maker) -> list[dict[str, Any]]:
    """Every enabled trainee account with its shadowed shifts, by username."""
    async with db() as session:
        accounts = (await session.scalars(select(Account).where(Account.role == "trainee", Account.disabled.is_(False))
                                          .order_by(Account.username))).all()
        listed = [(a.id, a.username, a.display_name) for a in accounts]
    shifts = await shifts_by_account(db)
    return [{"id": aid, "username": username, "display_name": name, "shifts": shifts.get(aid, []),
             "required": SHIFTS_REQUIRED} for aid, username, name in listed]
