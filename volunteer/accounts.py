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
    skills: frozenset[str] = frozenset()
    # "enabled" once a TOTP second factor is confirmed, else "enroll" (first login, or reset).
    second_factor: str = "enabled"
    # An admin's reset demands a new password before anything else.
    password_change: bool = False

    @property
    def restricted(self) -> bool:
        """Signed in with the password only: may enrol a second factor and change the password."""
        return self.second_factor != "enabled" or self.password_change

    @property
    def roles(self) -> list[str]:
        # A supervisor also answers chats; the other roles are separate duties.
        return ["volunteer", "supervisor"] if self.role == "supervisor" else [self.role]

    @property
    def may_take_chats(self) -> bool:
        return self.role in CHAT_ROLES and self.trained


def check_skills(skills: list[str] | tuple[str, ...]) -> list[str]:
    """The skills, each from the topic and violence vocabularies, without repeats, in order."""
    out = []
    for skill in skills:
        skill = skill.strip()
        if skill not in vocab.SKILLS:
            raise AccountError(f"skills: {skill!r} is not a skill; use any of {', '.join(vocab.SKILLS)}")
        if skill not in out:
            out.append(skill)
    return out


def parse_skills(raw: str | None) -> frozenset[str]:
    return frozenset(s for s in (raw or "").split(",") if s)


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().lower()


def _check_display_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise AccountError(f"the display name must be 1 to {MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise AccountError("the display name must not contain control characters")
    return name


TRAINING_KINDS = ("basic", "refresher")


def training_state(trainings: list[Training], today: date) -> str:
    """``valid``, ``missing`` (no basic course completed by today) or ``expired``.

    Taking chats needs a basic course completed on or before today and, when the
    latest course completed by today has an expiry date, that date not passed
    (the expiry day itself still counts). Courses dated in the future do not
    count yet.
    """
    done = [t for t in trainings if t.completed_on <= today]
    if not any(t.kind == "basic" for t in done):
        return "missing"
    latest = max(done, key=lambda t: (t.completed_on, t.expires_on or date.max))
    if latest.expires_on is not None and latest.expires_on < today:
        return "expired"
    return "valid"


def training_valid(trainings: list[Training], today: date) -> bool:
    return training_state(trainings, today) == "valid"


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    import calendar

    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


async def create_account(
    sessions: async_sessionmaker[AsyncSession], *, username: str, display_name: str,
    password: str, role: str = "volunteer", languages: str = "sv", capacity: int = 1,
    trained: bool = False, today: date, must_change_password: bool = False,
    skills: list[str] | tuple[str, ...] = (),
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
    skill_list = check_skills(skills)
    try:
        check_policy(password)
    except ValueError as exc:
        raise AccountError(str(exc)) from None
    account = Account(
        id=secrets.token_hex(16), username=username, display_name=display_name,
        password_hash=await hash_password_async(password), role=role,
        languages=",".join(langs), capacity=capacity, disabled=False, created_on=today,
        must_change_password=must_change_password, skills=",".join(skill_list),
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
        skills=parse_skills(account.skills),
        second_factor="enabled" if account.totp_secret else "enroll",
        password_change=bool(account.must_change_password),
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
