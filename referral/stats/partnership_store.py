"""Saving and loading partnerships; saving one rebuilds its scope of the roll-up.

The tables and the reading are ``partnership_tables``; this module sits above
the roll-up (which reads the tables) so that a save can rebuild the
partnership's roll-up scope in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chat.kernel import error_codes

from . import rollup
from .exceptions import PartnershipError
from .partnership_tables import ChannelRow, GoalRow, PartnershipRow, PartyRow, read_all
from .partnerships import Partnership


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
        await rollup.rebuild(await session.connection(), p.id)     # its target group may have changed


async def load_all(sessions: async_sessionmaker[AsyncSession]) -> list[Partnership]:
    """Every stored partnership, by id."""
    async with sessions() as session:
        return await read_all(await session.connection())


async def load(sessions: async_sessionmaker[AsyncSession], pid: str) -> Partnership:
    """One partnership; PartnershipError ``unknown_partnership`` when there is none."""
    for p in await load_all(sessions):
        if p.id == pid:
            return p
    raise PartnershipError(f"no partnership with id {pid!r}", code=error_codes.UNKNOWN_PARTNERSHIP)
