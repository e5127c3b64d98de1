"""The audit log: who did what, when, to what; never chat text.

Supervisors stepping into a chat (observe, whisper, join, take over, transfer,
block), coordinators exporting statistics, admins changing accounts: each such
act is one row. ``subject`` names what was acted on by an id (an account id, a
live chat id, a partnership id, an export's period), never by anything a visitor
typed. Actions are fixed words (``ACTIONS``) so the log stays searchable and no
free text can slip in.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat.kernel.db import Base

ACTIONS = frozenset({
    # accounts (admin)
    "account.create", "account.disable", "account.enable", "account.reset", "account.role",
    "account.role_despite_shifts", "account.skills",
    "training.record", "training.shift", "training.shift_unmark",
    # live chats (supervisor)
    "chat.observe", "chat.whisper", "chat.join", "chat.takeover", "chat.transfer", "chat.offer", "chat.end",
    "chat.route_any",
    "visitor.block",
    # trainees (chat.shadowing) and practice chats (chat.practice)
    "chat.shadow_ask", "chat.shadow_allow", "chat.shadow_decline", "chat.shadow_end", "practice.open",
    # configuration
    "hours.update", "snippets.update",
    # shifts (a supervisor or coordinator booking or cancelling someone else's)
    "shift.book", "shift.cancel", "directory.update", "directory.load", "partner.add",
    "partnership.update",
    # statistics (coordinator)
    "stats.export", "stats.view",
})
SUBJECT_RE = re.compile(r"^[A-Za-z0-9_.:@/+-]{0,80}$")


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(String(32))      # account id, or "cli"
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(80), default="")


async def audit(sessions: async_sessionmaker[AsyncSession], *, actor: str, action: str,
                subject: str = "", now: datetime | None = None) -> None:
    """Write one audit row; ``action`` must be in ACTIONS and ``subject`` an id-like word."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to volunteer.audit.ACTIONS")
    if not SUBJECT_RE.match(subject):
        raise ValueError("an audit subject is an id (letters, digits, _.:@/+-), never free text")
    async with sessions() as session, session.begin():
        session.add(AuditEntry(at=now or datetime.now(timezone.utc), actor=actor[:32], action=action,
                               subject=subject))


async def entries(sessions: async_sessionmaker[AsyncSession], *, limit: int = 200) -> list[AuditEntry]:
    """The newest entries first."""
    async with sessions() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
        return list(rows.all())
