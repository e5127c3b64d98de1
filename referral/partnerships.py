"""Partnerships (IOP) as data: parties, channels, target group, term, renewal, goals.

A partnership is described by a small JSON document (``referral/data/
partnerships.sample.json`` holds the seed documents' three) and stored in four
tables. ``validate`` checks a document and returns a ``Partnership``; the term
logic (``term_end_on``, ``ends_on``, ``active_on``) is pure.

The renewal rule of the sources: the first term runs from ``starts_on`` to
``first_term_ends_on``; it is then renewed a year at a time, at most up to
``renew_until``, unless a party gives notice by the notice date (``notice_by``,
"MM-DD") of the term's last year. Notice given later takes effect a term later.

The target group decides which records a partnership's report counts: the
channels (widgets) listed (all channels when none is), the residence
municipalities listed (any when none is), and ages within ``age_min``–``age_max``
(a record whose age was not stated is counted: the visitor did not say, which is
no reason to think they are outside the group).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Date, ForeignKey, Integer, SmallInteger, String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from chat import error_codes
from chat.db import Base

from . import geography
from .exceptions import PartnershipError
from .presets import parse_day

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
CHANNEL_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ORG_RE = re.compile(r"^\d{6}-\d{4}$")
NOTICE_RE = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
REPORTING = ("half_year", "tertial", "year", "quarter")
SECTORS = ("public", "civil")
FIELDS = {"id", "name", "parties", "channels", "target", "starts_on", "first_term_ends_on",
          "renew_until", "notice_by", "notice_given_on", "goals", "reporting"}


class PartnershipRow(Base):
    __tablename__ = "partnerships"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[date] = mapped_column(Date)
    first_term_ends_on: Mapped[date] = mapped_column(Date)
    renew_until: Mapped[date | None] = mapped_column(Date)
    notice_by: Mapped[str | None] = mapped_column(String(5))
    notice_given_on: Mapped[date | None] = mapped_column(Date)
    age_min: Mapped[int | None] = mapped_column(SmallInteger)
    age_max: Mapped[int | None] = mapped_column(SmallInteger)
    municipalities: Mapped[str] = mapped_column(String(200), default="")
    reporting: Mapped[str] = mapped_column(String(40), default="")


class PartyRow(Base):
    __tablename__ = "partnership_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    org_number: Mapped[str] = mapped_column(String(11))
    sector: Mapped[str] = mapped_column(String(10))


class ChannelRow(Base):
    __tablename__ = "partnership_channels"

    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"),
                                                primary_key=True)
    channel: Mapped[str] = mapped_column(String(40), primary_key=True)


class GoalRow(Base):
    __tablename__ = "partnership_goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    partnership_id: Mapped[str] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)
    text: Mapped[str] = mapped_column(String(500))


@dataclass(frozen=True)
class Party:
    name: str
    org_number: str
    sector: str


@dataclass(frozen=True)
class Partnership:
    id: str
    name: str
    starts_on: date
    first_term_ends_on: date
    renew_until: date | None = None
    notice_by: str | None = None
    notice_given_on: date | None = None
    age_min: int | None = None
    age_max: int | None = None
    municipalities: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    parties: tuple[Party, ...] = ()
    goals: tuple[str, ...] = ()
    reporting: tuple[str, ...] = field(default=("half_year", "year"))

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name,
            "parties": [{"name": p.name, "org_number": p.org_number, "sector": p.sector} for p in self.parties],
            "channels": list(self.channels),
            "target": {"age_min": self.age_min, "age_max": self.age_max,
                       "municipalities": list(self.municipalities)},
            "starts_on": self.starts_on.isoformat(),
            "first_term_ends_on": self.first_term_ends_on.isoformat(),
            "renew_until": self.renew_until.isoformat() if self.renew_until else None,
            "notice_by": self.notice_by,
            "notice_given_on": self.notice_given_on.isoformat() if self.notice_given_on else None,
            "goals": list(self.goals),
            "reporting": list(self.reporting),
            "ends_on": ends_on(self).isoformat(),
        }


def org_number_valid(number: str) -> bool:
    """A Swedish organisation number: NNNNNN-NNNN whose last digit is the Luhn check digit."""
    if not ORG_RE.match(number):
        return False
    total = 0
    for i, ch in enumerate(number.replace("-", "")):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:                      # 29 February
        return day.replace(year=day.year + years, day=28)


def _notice_deadline(term_end: date, notice_by: str) -> date:
    month, day = (int(x) for x in notice_by.split("-"))
    deadline = date(term_end.year, month, day)
    return deadline if deadline <= term_end else date(term_end.year - 1, month, day)


def term_ends(p: Partnership) -> list[date]:
    """The end of each possible term: the first, then a year at a time up to renew_until."""
    ends = [p.first_term_ends_on]
    if p.renew_until:
        while (nxt := _add_years(ends[-1], 1)) <= p.renew_until:
            ends.append(nxt)
    return ends


def ends_on(p: Partnership) -> date:
    """The last day of the partnership under the renewal rule and any notice given."""
    ends = term_ends(p)
    if p.notice_given_on is None:
        return ends[-1]
    for end in ends:
        if p.notice_given_on > end:
            continue
        if p.notice_by is None or p.notice_given_on <= _notice_deadline(end, p.notice_by):
            return end
        return _add_years(end, 1) if _add_years(end, 1) <= ends[-1] else end
    return ends[-1]


def active_on(p: Partnership, day: date) -> bool:
    return p.starts_on <= day <= ends_on(p)


def _date(doc: dict[str, Any], key: str, required: bool = True) -> date | None:
    raw = doc.get(key)
    if raw is None and not required:
        return None
    try:
        return parse_day(raw, key)
    except ValueError as exc:
        raise PartnershipError(str(exc)) from None


def _age(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 120:
        raise PartnershipError(f"target.{key} must be a whole number of years")
    return value


def validate(doc: Any) -> Partnership:
    """Check a partnership document; raise PartnershipError naming what is wrong."""
    if not isinstance(doc, dict):
        raise PartnershipError("a partnership is a JSON object")
    unknown = sorted(set(doc) - FIELDS)
    if unknown:
        raise PartnershipError(f"unknown field {unknown[0]!r}; the fields are {', '.join(sorted(FIELDS))}")
    pid = doc.get("id")
    if not isinstance(pid, str) or not ID_RE.match(pid):
        raise PartnershipError("id must be a short lower-case id like 'stockholm-unga-relationer'")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise PartnershipError("name must be a non-empty text of at most 200 characters")
    starts, first_end = _date(doc, "starts_on"), _date(doc, "first_term_ends_on")
    renew_until = _date(doc, "renew_until", required=False)
    notice_given_on = _date(doc, "notice_given_on", required=False)
    assert starts and first_end
    if first_end < starts:
        raise PartnershipError("first_term_ends_on is before starts_on")
    if renew_until and renew_until < first_end:
        raise PartnershipError("renew_until is before first_term_ends_on")
    notice_by = doc.get("notice_by")
    if notice_by is not None and (not isinstance(notice_by, str) or not NOTICE_RE.match(notice_by)):
        raise PartnershipError("notice_by is the yearly notice date as MM-DD, e.g. 09-14")
    parties = []
    for i, party in enumerate(doc.get("parties") or []):
        if not isinstance(party, dict) or set(party) - {"name", "org_number", "sector"}:
            raise PartnershipError(f"parties[{i}] must be an object with name, org_number, sector")
        pname, org, sector = party.get("name"), party.get("org_number"), party.get("sector", "civil")
        if not isinstance(pname, str) or not pname.strip() or len(pname) > 200:
            raise PartnershipError(f"parties[{i}].name must be a non-empty text")
        if not isinstance(org, str) or not org_number_valid(org):
            raise PartnershipError(f"parties[{i}].org_number {org!r} is not a valid organisation number NNNNNN-NNNN")
        if sector not in SECTORS:
            raise PartnershipError(f"parties[{i}].sector must be one of {', '.join(SECTORS)}")
        parties.append(Party(pname.strip(), org, sector))
    channels = doc.get("channels") or []
    if not isinstance(channels, list) or not all(isinstance(c, str) and CHANNEL_RE.match(c) for c in channels):
        raise PartnershipError("channels must be a list of channel ids (the widget's 'channel')")
    target = doc.get("target") or {}
    if not isinstance(target, dict) or set(target) - {"age_min", "age_max", "municipalities"}:
        raise PartnershipError("target must be an object with age_min, age_max, municipalities")
    age_min, age_max = _age(target.get("age_min"), "age_min"), _age(target.get("age_max"), "age_max")
    if age_min is not None and age_max is not None and age_min > age_max:
        raise PartnershipError("target.age_min is above target.age_max")
    munis = target.get("municipalities") or []
    if not isinstance(munis, list) or not all(isinstance(m, str) and m in geography.MUNICIPALITIES for m in munis):
        raise PartnershipError("target.municipalities must be a list of SCB codes such as \"0180\"")
    goals = doc.get("goals") or []
    if not isinstance(goals, list) or not all(isinstance(g, str) and 0 < len(g) <= 500 for g in goals):
        raise PartnershipError("goals must be a list of texts of at most 500 characters")
    reporting = doc.get("reporting") or ["half_year", "year"]
    if not isinstance(reporting, list) or not all(r in REPORTING for r in reporting):
        raise PartnershipError(f"reporting must be a list of {', '.join(REPORTING)}")
    return Partnership(
        id=pid, name=name.strip(), starts_on=starts, first_term_ends_on=first_end, renew_until=renew_until,
        notice_by=notice_by, notice_given_on=notice_given_on, age_min=age_min, age_max=age_max,
        municipalities=tuple(dict.fromkeys(munis)), channels=tuple(dict.fromkeys(channels)),
        parties=tuple(parties), goals=tuple(goals), reporting=tuple(dict.fromkeys(reporting)),
    )


async def save(sessions: async_sessionmaker[AsyncSession], p: Partnership, *, replace: bool = False) -> None:
    """Store a partnership; an existing id is an error unless ``replace``."""
    async with sessions() as session, session.begin():
        existing = await session.get(PartnershipRow, p.id)
        if existing is not None:
            if not replace:
                raise PartnershipError(f"partnership {p.id!r} exists already (use --replace to update it)")
            for model in (PartyRow, ChannelRow, GoalRow):
                await session.execute(delete(model).where(model.partnership_id == p.id))
            await session.delete(existing)
            await session.flush()
        session.add(PartnershipRow(
            id=p.id, name=p.name, starts_on=p.starts_on, first_term_ends_on=p.first_term_ends_on,
            renew_until=p.renew_until, notice_by=p.notice_by, notice_given_on=p.notice_given_on,
            age_min=p.age_min, age_max=p.age_max, municipalities=",".join(p.municipalities),
            reporting=",".join(p.reporting)))
        await session.flush()
        session.add_all([PartyRow(partnership_id=p.id, name=x.name, org_number=x.org_number, sector=x.sector)
                         for x in p.parties])
        session.add_all([ChannelRow(partnership_id=p.id, channel=c) for c in p.channels])
        session.add_all([GoalRow(partnership_id=p.id, position=i, text=g) for i, g in enumerate(p.goals)])
        await session.flush()
        from . import rollup

        await rollup.rebuild(await session.connection(), p.id)     # its target group may have changed


def _from_rows(row: PartnershipRow, parties: list[PartyRow], channels: list[ChannelRow],
               goals: list[GoalRow]) -> Partnership:
    return Partnership(
        id=row.id, name=row.name, starts_on=row.starts_on, first_term_ends_on=row.first_term_ends_on,
        renew_until=row.renew_until, notice_by=row.notice_by, notice_given_on=row.notice_given_on,
        age_min=row.age_min, age_max=row.age_max,
        municipalities=tuple(m for m in row.municipalities.split(",") if m),
        channels=tuple(sorted(c.channel for c in channels)),
        parties=tuple(Party(x.name, x.org_number, x.sector) for x in sorted(parties, key=lambda x: x.id)),
        goals=tuple(g.text for g in sorted(goals, key=lambda g: g.position)),
        reporting=tuple(r for r in row.reporting.split(",") if r),
    )


async def load_all(sessions: async_sessionmaker[AsyncSession]) -> list[Partnership]:
    async with sessions() as session:
        rows = (await session.scalars(select(PartnershipRow).order_by(PartnershipRow.id))).all()
        parties = (await session.scalars(select(PartyRow))).all()
        channels = (await session.scalars(select(ChannelRow))).all()
        goals = (await session.scalars(select(GoalRow))).all()
    return [_from_rows(r, [x for x in parties if x.partnership_id == r.id],
                       [x for x in channels if x.partnership_id == r.id],
                       [x for x in goals if x.partnership_id == r.id]) for r in rows]


async def load(sessions: async_sessionmaker[AsyncSession], pid: str) -> Partnership:
    """One partnership; PartnershipError ``unknown_partnership`` when there is none."""
    for p in await load_all(sessions):
        if p.id == pid:
            return p
    raise PartnershipError(f"no partnership with id {pid!r}", code=error_codes.UNKNOWN_PARTNERSHIP)
