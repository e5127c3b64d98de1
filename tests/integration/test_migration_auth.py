"""Migration 0005_auth on SQLite and PostgreSQL: up, down, up again; the models match it."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chat.kernel import db
from chat.kernel.db import Base


def _columns(sync_conn, table: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {c["name"] for c in inspect(sync_conn).get_columns(table)}


async def test_0005_auth_up_down_up(database_url: str) -> None:
    new = {"totp_secret", "totp_pending", "totp_last_step", "must_change_password"}
    await db.upgrade_async(database_url)
    engine = db.create_engine(database_url)
    try:
        async with engine.connect() as conn:
            assert new <= await conn.run_sync(_columns, "accounts")
            diffs = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
        assert [d for d in diffs if "accounts" in repr(d)] == []
        await asyncio.to_thread(command.downgrade, db.alembic_config(database_url), "0002b_audit")
        async with engine.connect() as conn:
            assert not new & await conn.run_sync(_columns, "accounts")
        await db.upgrade_async(database_url)
        async with engine.connect() as conn:
            assert new <= await conn.run_sync(_columns, "accounts")
    finally:
        await engine.dispose()
