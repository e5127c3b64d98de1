"""The referral package's database side: the live directory, codes, partners.

The live directory is shared by every node: it lives in ``directory_services``
with a version in ``directory_meta``, replaced whole in one transaction. Each
node caches the parsed directory and re-reads it only when the version moved
(one single-row query per use).

Codes: ``issue`` stores a keyed hash per code (never the code); ``link`` ties
a chat's codes to its record's ``record_referrals`` rows when the record is
written; ``redeem`` marks a code used (once) and its record row; ``purge``
deletes expired codes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import codes
from .directory import Directory, parse, seed
from .exceptions import AlreadyRedeemed, DirectoryChanged, ExpiredCode, UnknownCode
from .models import DirectoryEntry, DirectoryMeta, Partner, RecordReferral, ReferralCode

Sessions = async_sessionmaker[AsyncSession]
PARTNER_KEY_PREFIX = "jcp_"
# ``recent()`` trusts its copy this long: turning visitors away under load should
# not cost a database query each, and a directory change may take this long there.
RECENT_S = 5.0


def today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


# -- the directory -------------------------------------------------------------------

async def _version(session: AsyncSession) -> int | None:
    return await session.scalar(select(DirectoryMeta.version).where(DirectoryMeta.id == 1))


async def read_directory(session: AsyncSession) -> Directory:
    """The live directory (empty, version 0, before the first load)."""
    for _ in range(5):
        before = await _version(session)
        if before is None:
            return Directory(services=(), version=0)
        rows = (await session.scalars(select(DirectoryEntry).order_by(DirectoryEntry.position))).all()
        if await _version(session) == before:
            return parse({"service": [json.loads(r.body) for r in rows]}, version=before)
    raise DirectoryChanged("the directory kept changing while it was read; try again")


async def replace_directory(sessions: Sessions, directory: Directory, *,
                            expected_version: int | None = None) -> int:
    """Make ``directory`` the live one, atomically; the new version.

    With ``expected_version``, only if nobody changed it since (else DirectoryChanged).
    """
    now = datetime.now(timezone.utc)
    try:
        async with sessions() as session, session.begin():
            current = await _version(session)
            if expected_version is not None and (current or 0) != expected_version:
                raise DirectoryChanged("the directory was changed by someone else; reload it and try again")
            if current is None:
                session.add(DirectoryMeta(id=1, version=1, changed_at=now))
                new = 1
            else:
                done = await session.execute(
                    update(DirectoryMeta).where(DirectoryMeta.id == 1, DirectoryMeta.version == current)
                    .values(version=current + 1, changed_at=now))
                if done.rowcount != 1:  # type: ignore[attr-defined]
                    raise DirectoryChanged("the directory was changed at the same time; try again")
                new = current + 1
            await session.execute(delete(DirectoryEntry))
            session.add_all(DirectoryEntry(id=s.id, position=i, body=json.dumps(s.source, ensure_ascii=False))
                            for i, s in enumerate(directory.services))
    except IntegrityError:
        raise DirectoryChanged("the directory was changed at the same time; try again") from None
    return new


class DirectoryCache:
    """This node's copy of the live directory, re-read when its version moves."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self._cached: Directory | None = None
        self._checked = 0.0

    async def current(self) -> Directory:
        """The live directory, its version checked now."""
        async with self.sessions() as session:
            version = await _version(session)
            self._checked = time.monotonic()
            if self._cached is not None and self._cached.version == (version or 0):
                return self._cached
            self._cached = await read_directory(session)
            return self._cached

    async def recent(self) -> Directory:
        """The directory as checked within the last RECENT_S seconds (for turn-aways)."""
        if self._cached is not None and time.monotonic() - self._checked < RECENT_S:
            return self._cached
        return await self.current()

    async def ensure_seeded(self) -> bool:
        """Load the bundled seed if no directory was ever loaded; True if it did."""
        async with self.sessions() as session:
            if await _version(session) is not None:
                return False
        try:
            await replace_directory(self.sessions, seed(), expected_version=0)
        except DirectoryChanged:
            return False        # another node seeded it at the same moment
        return True


# -- codes ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Issued:
    service_id: str
    code: str           # canonical; only ever sent to the visitor, sealed in the replay log
    code_hash: str
    expires_on: date


async def issue_codes(sessions: Sessions, key: bytes, service_ids: Iterable[str], *,
                      issued_on: date, valid_days: int) -> list[Issued]:
    """One fresh code per service, stored as its keyed hash only."""
    ids = list(service_ids)
    for _attempt in range(3):
        out = []
        for sid in ids:
            code = codes.generate()
            out.append(Issued(sid, code, codes.code_hash(key, code), issued_on + timedelta(days=valid_days)))
        try:
            async with sessions() as session, session.begin():
                session.add_all(ReferralCode(code_hash=i.code_hash, service_id=i.service_id, issued_on=issued_on,
                                             expires_on=i.expires_on) for i in out)
            return out
        except IntegrityError:      # a collision of 40 random bits: draw again
            continue
    raise RuntimeError("could not draw unique referral codes")


async def withdraw_codes(sessions: Sessions, hashes: list[str]) -> None:
    """Delete codes that were issued but never reached the chat."""
    if hashes:
        async with sessions() as session, session.begin():
            await session.execute(delete(ReferralCode).where(ReferralCode.code_hash.in_(hashes)))


async def link(session: AsyncSession, record_id: str, referrals: list[dict[str, Any]]) -> None:
    """Inside the record's transaction: one record_referrals row per suggested service.

    ``referrals``: ``[{"service": id, "codes": [hash, ...]}]`` in the order suggested.
    A code redeemed while the chat was still open marks its row at once.
    """
    for item in referrals:
        row = RecordReferral(record_id=record_id, service_id=item["service"])
        session.add(row)
        await session.flush()
        hashes = list(item.get("codes") or [])
        if not hashes:
            continue
        await session.execute(update(ReferralCode).where(ReferralCode.code_hash.in_(hashes))
                              .values(referral_id=row.id))
        redeemed = await session.scalar(select(ReferralCode.redeemed_on).where(
            ReferralCode.code_hash.in_(hashes), ReferralCode.redeemed_on.is_not(None))
            .order_by(ReferralCode.redeemed_on).limit(1))
        if redeemed is not None:
            row.redeemed_on = redeemed


async def redeem(sessions: Sessions, key: bytes, partner: Partner, canonical: str, on: date) -> str:
    """Count a code once; the service id. UnknownCode, ExpiredCode, AlreadyRedeemed otherwise.

    A code for a service the partner does not run answers like an unknown one.
    """
    h = codes.code_hash(key, canonical)
    allowed = set(partner.services.split(","))
    async with sessions() as session, session.begin():
        row = await session.get(ReferralCode, h)
        if row is None or row.service_id not in allowed:
            raise UnknownCode("no such code; check it with the young person")
        if row.redeemed_on is not None:
            raise AlreadyRedeemed(f"this code was already used on {row.redeemed_on.isoformat()}")
        if row.expires_on < on:
            raise ExpiredCode(f"this code expired on {row.expires_on.isoformat()}")
        done = await session.execute(
            update(ReferralCode).where(ReferralCode.code_hash == h, ReferralCode.redeemed_on.is_(None))
            .values(redeemed_on=on, partner_id=partner.id))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise AlreadyRedeemed("this code was just used")
        if row.referral_id is not None:
            await session.execute(update(RecordReferral).where(
                RecordReferral.id == row.referral_id, RecordReferral.redeemed_on.is_(None))
                .values(redeemed_on=on))
        return row.service_id


async def purge(sessions: Sessions, on: date) -> int:
    """Delete every code that expired before ``on``; how many."""
    async with sessions() as session, session.begin():
        done = await session.execute(delete(ReferralCode).where(ReferralCode.expires_on < on))
        return int(done.rowcount or 0)  # type: ignore[attr-defined]


# -- partners --------------------------------------------------------------------------

def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def add_partner(sessions: Sessions, partner_id: str, name: str, services: list[str], on: date) -> str:
    """Create a partner; its API key, which is shown once and kept only as a hash."""
    key = PARTNER_KEY_PREFIX + secrets.token_urlsafe(32)
    async with sessions() as session, session.begin():
        if await session.get(Partner, partner_id) is not None:
            raise ValueError(f"a partner {partner_id!r} exists already")
        session.add(Partner(id=partner_id, name=name, key_hash=_key_hash(key), services=",".join(services),
                            created_on=on, disabled=False))
    return key


async def disable_partner(sessions: Sessions, partner_id: str) -> bool:
    async with sessions() as session, session.begin():
        done = await session.execute(update(Partner).where(Partner.id == partner_id).values(disabled=True))
        return bool(done.rowcount)  # type: ignore[attr-defined]


async def list_partners(sessions: Sessions) -> list[Partner]:
    async with sessions() as session:
        return list((await session.scalars(select(Partner).order_by(Partner.id))).all())


async def partner_by_key(sessions: Sessions, key: str) -> Partner | None:
    if not key.startswith(PARTNER_KEY_PREFIX) or len(key) > 200:
        return None
    async with sessions() as session:
        partner = await session.scalar(select(Partner).where(Partner.key_hash == _key_hash(key)))
    return partner if partner is not None and not partner.disabled else None
