"""Tables of the volunteer package: accounts, training records, login sessions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base

# A trainee may not take chats: it shadows a volunteer's chat (with consent) and answers practice chats.
ROLES = ("volunteer", "supervisor", "coordinator", "admin", "trainee")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    languages: Mapped[str] = mapped_column(String(64), default="sv")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    # Comma-separated skills from referral.vocab.SKILLS (topic routing); "" for none.
    skills: Mapped[str] = mapped_column(String(200), default="", server_default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[date] = mapped_column(Date)
    # The second factor (volunteer/totp.py): the secret sealed under a key derived from
    # the server secret; a secret shown for enrolment but not yet confirmed; the last
    # time step accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_pending: Mapped[str | None] = mapped_column(String(200), default=None)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Set by an admin's reset: the next login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)


class Training(Base):
    """A completed course: ``basic`` (required to take chats) or ``refresher``."""

    __tablename__ = "training"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    completed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)


class ShadowedShift(Base):
    """A shift a trainee spent beside volunteers, marked by a supervisor (the training record).

    Only who, which day, and who marked it: never a chat, never what was said.
    """

    __tablename__ = "shadowed_shifts"
    __table_args__ = (UniqueConstraint("account_id", "day", name="uq_shadowed_shifts_account_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    marked_by: Mapped[str] = mapped_column(String(32))
    marked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    """A server-side login session; the cookie holds a random token, the row its SHA-256."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
