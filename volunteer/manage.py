"""Changing accounts: the second factor, passwords, admin acts, training records.

Shared by the HTTP API (volunteer/api.py, volunteer/admin.py) and the CLI
(volunteer/cli.py). Functions take the session maker and return plain values;
errors are ``AccountError`` with a reason a person can act on.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import sessions as login_sessions
from . import totp
from .accounts import CHAT_ROLES, TRAINING_KINDS, add_months, check_skills, normalize_username, parse_skills, training_state

__all__ = ["normalize_username"]  # re-exported for the CLI
from .exceptions import AccountError, ShiftsMissing, UnknownAccount
from .models import ROLES, Account, ShadowedShift, Training
from .shadowed_shifts import SHIFTS_REQUIRED, shifts_by_account
from .passwords import check_new_password, hash_password_async, verify_password_async

Maker = async_sessionmaker[AsyncSession]
TEMPORARY_PASSWORD_BYTES = 12      # 16 URL-safe characters, shown once


# -- the second factor ---------------------------------------------------------------

async def start_enrolment(db: Maker, box: totp.SecretBox, account_id: str) -> tuple[bytes, str]:
    """A new secret kept as pending until confirmed; returns (secret, username).

    Refused (AccountError) when the account already has a second factor: an
    enrolled factor is replaced only through an admin's reset.
    """
    secret = totp.new_secret()
    async with db() as session, session.begin():
        account = await session.get(Account, account_id)
        if account is None:
            raise UnknownAccount("no such account")
        if account.totp_secret:
            raise AccountError("a second factor is already set up; an admin can reset it")
        account.totp_pending = box.seal(account_id, secret)
        return secret, account.username


async def confirm_enrolment(db: Maker, box: totp.SecretBox, account_id: str, code: str,
                            *, now: float | None = None) -> bool:
    """Make the pending secret the account's second factor if ``code`` matches it."""
    async with db() as session, session.begin():
        account = await session.get(Account, account_id)
        if account is None or account.totp_secret or not account.totp_pending:
            return False
        secret = box.open(account_id, account.totp_pending)
        step = totp.check(secret, code, now=now) if secret else None
        if step is None:
            return False
        account.totp_secret, account.totp_pending, account.totp_last_step = account.totp_pending, None, step
        return True


async def verify_second_factor(db: Maker, box: totp.SecretBox, account: Account, code: Any,
                               *, now: float | None = None) -> bool:
    """True if ``code`` is valid and unused; records its step so it is never accepted again."""
    return await check_second_factor(db, box, account, code, now=now) == "ok"


async def check_second_factor(db: Maker, box: totp.SecretBox, account: Account, code: Any,
                              *, now: float | None = None) -> str:
    """``ok`` (valid and unused; its step is recorded so it is never accepted again), ``reused``
    (right, but for a step already accepted: a second login within the same 30 s) or ``wrong``."""
    if not account.totp_secret or not isinstance(code, str):
        return "wrong"
    secret = box.open(account.id, account.totp_secret)
    if secret is None:
        return "wrong"
    step = totp.check(secret, code, now=now, last_step=account.totp_last_step)
    if step is None:
        return "reused" if totp.reused(secret, code, now=now, last_step=account.totp_last_step) else "wrong"
    # Conditional update: of two nodes racing with the same code, only one wins.
    async with db() as session, session.begin():
        result = await session.execute(
            update(Account).where(Account.id == account.id,
                                  (Account.totp_last_step.is_(None)) | (Account.totp_last_step < step))
            .values(totp_last_step=step))
        return "ok" if result.rowcount == 1 else "reused"  # type: ignore[attr-defined]


async def enrol_directly(db: Maker, box: totp.SecretBox, username: str, secret: bytes) -> None:
    """Give an account a confirmed second factor without the enrolment dialogue (tests, tools)."""
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        account.totp_secret, account.totp_pending, account.totp_last_step = (
            box.seal(account.id, secret), None, None)


# -- passwords ------------------------------------------------------------------------

async def change_password(db: Maker, account_id: str, new_password: str) -> None:
    async with db() as session:
        account = await session.get(Account, account_id)
        if account is None:
            raise UnknownAccount("no such account")
        username, old_hash = account.username, account.password_hash
    try:
        check_new_password(new_password, username)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    if await verify_password_async(new_password, old_hash):
        raise AccountError("choose a password other than the current one")
    new_hash = await hash_password_async(new_password)
    async with db() as session, session.begin():
        await session.execute(update(Account).where(Account.id == account_id)
                              .values(password_hash=new_hash, must_change_password=False))


# -- admin acts -----------------------------------------------------------------------

@dataclass(frozen=True)
class AccountView:
    id: str
    username: str
    display_name: str
    role: str
    languages: list[str]
    capacity: int
    disabled: bool
    second_factor: str
    password_change: bool
    training: str
    trainings: list[dict[str, str | None]]
    skills: list[str]
    # The shifts it shadowed as a trainee, as supervisors marked them (volunteer.trainees).
    shadowed_shifts: list[dict[str, str]]

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def _by_name(session: AsyncSession, username: str) -> Account:
    account = await session.scalar(select(Account).where(Account.username == normalize_username(username)))
    if account is None:
        raise UnknownAccount(f"no account is called {normalize_username(username)!r}")
    return account


async def list_accounts(db: Maker, today: date) -> list[AccountView]:
    shifts = await shifts_by_account(db)
    async with db() as session:
        accounts = (await session.scalars(select(Account).order_by(Account.username))).all()
        trainings = (await session.scalars(select(Training).order_by(Training.completed_on))).all()
    by_account: dict[str, list[Training]] = {}
    for t in trainings:
        by_account.setdefault(t.account_id, []).append(t)
    return [AccountView(
        id=a.id, username=a.username, display_name=a.display_name, role=a.role,
        languages=a.languages.split(","), capacity=a.capacity, disabled=a.disabled,
        second_factor="enabled" if a.totp_secret else "enroll",
        password_change=a.must_change_password,
        training=training_state(by_account.get(a.id, []), today),
        trainings=[{"kind": t.kind, "completed": t.completed_on.isoformat(),
                    "expires": t.expires_on.isoformat() if t.expires_on else None}
                   for t in by_account.get(a.id, [])],
        skills=sorted(parse_skills(a.skills)),
        shadowed_shifts=shifts.get(a.id, []),
    ) for a in accounts]


async def account_id(db: Maker, username: str) -> str:
    async with db() as session:
        return (await _by_name(session, username)).id


async def set_disabled(db: Maker, username: str, disabled: bool) -> str:
    """Disable or enable; disabling ends every session of the account. Returns its id."""
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        account.disabled = disabled
        aid = account.id
    if disabled:
        await login_sessions.end_all(db, aid)
    return aid


async def reset(db: Maker, username: str) -> tuple[str, str]:
    """New temporary password (returned once), second factor removed, sessions ended.

    The next login needs the temporary password, then a new password and a new
    second factor. Returns (account id, temporary password).
    """
    temporary = temporary_password()
    new_hash = await hash_password_async(temporary)
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        account.password_hash = new_hash
        account.must_change_password = True
        account.totp_secret = account.totp_pending = None
        account.totp_last_step = None
        aid = account.id
    await login_sessions.end_all(db, aid)
    return aid, temporary


async def set_role(db: Maker, username: str, role: str, *, despite_shifts: bool = False) -> tuple[bool, bool]:
    """Change the role; a change ends every session of the account. (Whether it changed,
    whether it gave a trainee short of shadowed shifts a chat role because the admin confirmed.)

    Pages ask for the role at every request, but an open console took its powers at
    connect: ending the sessions makes every node close it (``session_expired``), so
    the new role applies from the next login.

    A trainee who has shadowed fewer than ``SHIFTS_REQUIRED`` shifts becomes a chat role
    only when the admin confirms it (``despite_shifts``): the admin decides, knowingly
    (``ShiftsMissing`` otherwise).
    """
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        short = False
        if account.role == "trainee" and role in CHAT_ROLES:
            shadowed = await session.scalar(
                select(func.count()).select_from(ShadowedShift).where(ShadowedShift.account_id == account.id)) or 0
            short = shadowed < SHIFTS_REQUIRED
            if short and not despite_shifts:
                raise ShiftsMissing(account.username, shadowed, SHIFTS_REQUIRED)
        changed = account.role != role
        account.role = role
        aid = account.id
    if changed:
        await login_sessions.end_all(db, aid)
    return changed, short


async def set_skills(db: Maker, username: str, skills: list[str]) -> tuple[str, list[str]]:
    """Set the account's skills (an empty list clears them); returns (account id, the skills).

    Routing reads skills from a console's presence (taken from the account when it
    connects): the admin API also updates an open console's (``hub.skills_changed``);
    after the CLI the change applies from the console's next connection.
    """
    chosen = check_skills(skills)
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        account.skills = ",".join(chosen)
        return account.id, sorted(chosen)


def temporary_password() -> str:
    return secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)


async def record_training(db: Maker, username: str, *, kind: str, completed: date,
                          expires: date | None, refresher_months: int, today: date) -> tuple[str, date | None]:
    """Record a completed course; a refresher without an expiry date gets the default one.

    Returns (account id, the expiry date recorded).
    """
    if kind not in TRAINING_KINDS:
        raise AccountError(f"the kind must be one of {', '.join(TRAINING_KINDS)}")
    if completed > today:
        raise AccountError("the completion date must not be in the future")
    if kind == "refresher" and expires is None:
        expires = add_months(completed, refresher_months)
    if expires is not None and expires < completed:
        raise AccountError("the expiry date must not be before the completion date")
    async with db() as session, session.begin():
        account = await _by_name(session, username)
        session.add(Training(account_id=account.id, kind=kind, completed_on=completed, expires_on=expires))
        return account.id, expires
