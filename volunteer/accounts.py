"""Accounts: creation, authentication, and whether an account may take chats."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral import vocab

from .exceptions import AccountError, DuplicateUsername
from .models import ROLES, Account, Training
from .passwords import check_policy, hash_password_async, verify_password_async

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MAX_DISPLAY_NAME = 64
MAX_CAPACITY = 5
# Roles whose holders answer chats (given valid training).
CHAT_ROLES = ("volunteer", "supervisor")


@dataclass(frozen=True)
class Profile:
    """What the rest of the program knows of a signed-in account."""

    id: str
    username: str
    display_name: str
    role: str
    languages: frozenset[str]
    capacity: int
    trained: bool

    @property
    def roles(self) -> list[str]:
        # A supervisor also answers chats; the other roles are separate duties.
        return ["volunteer", "supervisor"] if self.role == "supervisor" else [self.role]

    @property
    def may_take_chats(self) -> bool:
        return self.role in CHAT_ROLES and self.trained


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().lower()


def _check_display_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise AccountError(f"the display name must be 1 to {MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError("the display name must not contain control characters")
    return name


def training_valid(trainings: list[Training], today: date) -> bool:
    """Basic training completed and, where it has an expiry date, not yet expired."""
    return any(t.kind == "basic" and t.completed_on <= today
               and (t.expires_on is None or t.expires_on >= today) for t in trainings)


async def create_account(
    sessions: async_sessionmaker[AsyncSession], *, username: str, display_name: str,
    password: str, role: str = "volunteer", languages: str = "sv", capacity: int = 1,
    trained: bool = False, today: date,
) -> Account:
    username = normalize_username(username)
    if not USERNAME.match(username):
        raise AccountError("the username must be 2 to 64 characters: a-z, 0-9, '.', '_' or '-'")
    display_name = _check_display_name(display_name)
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}")
    langs = [lang.strip() for lang in languages.split(",") if lang.strip()]
    if not langs or any(lang not in vocab.LANGUAGES for lang in langs):
        raise AccountError(f"languages must be a comma-separated list of {', '.join(vocab.LANGUAGES)}")
    if not 1 <= capacity <= MAX_CAPACITY:
        raise AccountError(f"capacity must be 1 to {MAX_CAPACITY} chats at a time")
    try:
        check_policy(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    account = Account(
        id=secrets.token_hex(16), username=username, display_name=display_name,
        password_hash=await hash_password_async(password), role=role,
        languages=",".join(langs), capacity=capacity, disabled=False, created_on=today,
    )
    try:
        async with sessions() as session, session.begin():
            session.add(account)
            await session.flush()
            if trained:
                session.add(Training(account_id=account.id, kind="basic", completed_on=today))
    except IntegrityError:
        raise DuplicateUsername(f"the username {username!r} is taken") from None
    return account


async def load_profile(session: AsyncSession, account: Account, today: date) -> Profile:
    trainings = list((await session.scalars(
        select(Training).where(Training.account_id == account.id))).all())
    return Profile(
        id=account.id, username=account.username, display_name=account.display_name,
        role=account.role, languages=frozenset(account.languages.split(",")),
        capacity=account.capacity, trained=training_valid(trainings, today),
    )


async def authenticate(sessions: async_sessionmaker[AsyncSession], username: str,
                       password: str) -> Account | None:
    """The account if the password is right and the account enabled; else None.

    Takes as long for an unknown username as for a wrong password.
    """
    async with sessions() as session:
        account = await session.scalar(
            select(Account).where(Account.username == normalize_username(username)))
    ok = await verify_password_async(password, account.password_hash if account else None)
    if not ok or account is None or account.disabled:
        return None
    return account
