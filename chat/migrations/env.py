"""Alembic environment: runs every migration over the async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from chat.kernel.db import Base
import chat.console  # noqa: F401  (registers the tables)
import chat.followup  # noqa: F401
import referral.record  # noqa: F401
import referral.models  # noqa: F401
import volunteer.audit  # noqa: F401
import volunteer.models  # noqa: F401
import volunteer.hours_store  # noqa: F401
import volunteer.shifts  # noqa: F401
import volunteer.duty  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    engine = create_async_engine(config.attributes["database_url"])
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes["database_url"], target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_online())
