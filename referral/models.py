"""Tables of the referral package that other packages read.

Two tables carry referrals from the chat to the statistics without identity:

``record_referrals``
    One row per service suggested in a chat, tied to that chat's de-identified
    record (``chat_records.id``), with the day a code for it was redeemed, if it
    was. This is what the partnership statistics count: referrals suggested and
    referrals that arrived, per service. It outlives the codes.

``referral_codes``
    A one-time code handed to the young person, stored only as a keyed hash
    (``code_hash``), never in the clear. It is issued during the chat, before the
    record exists, so ``referral_id`` is filled in when the chat's record is
    written. Redeeming it sets ``redeemed_on`` here and on the linked
    ``record_referrals`` row. A code row is deleted once it has expired: the link
    between something a young person holds and their record lives only as long
    as the code can be used.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base


class RecordReferral(Base):
    __tablename__ = "record_referrals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("chat_records.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[str] = mapped_column(String(40))
    redeemed_on: Mapped[date | None] = mapped_column(Date)


class ReferralCode(Base):
    __tablename__ = "referral_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    service_id: Mapped[str] = mapped_column(String(40))
    issued_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    referral_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_referrals.id", ondelete="SET NULL"), index=True)
    redeemed_on: Mapped[date | None] = mapped_column(Date)
    partner_id: Mapped[str | None] = mapped_column(String(32))


# -- the live directory and the partners (migration 0004_directory) ------------------

class DirectoryEntry(Base):
    """One service of the live directory: its validated source document as JSON."""

    __tablename__ = "directory_services"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)


class DirectoryMeta(Base):
    """One row (id 1): the directory's version, bumped by every change; nodes cache by it."""

    __tablename__ = "directory_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Partner(Base):
    """A partner service that redeems codes; its API key is kept as a SHA-256 only."""

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    services: Mapped[str] = mapped_column(Text)          # comma-separated service ids
    created_on: Mapped[date] = mapped_column(Date)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
