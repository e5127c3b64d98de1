"""The database: URL handling, the async engine, the declarative base, migrations.

One schema serves every package; each package declares its tables on ``Base``
and the Alembic scripts under ``chat/migrations`` create them. Plain URLs are
accepted and given an async driver: ``sqlite:///path`` becomes aiosqlite,
``postgresql://`` (or ``postgres://``) becomes asyncpg.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import event, exc as sa_exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine, AsyncSession
from sqlalchemy.orm import DeclarativeBase

from .exceptions import ConfigurationError

MIGRATIONS_DIR = Path(__file__).parents[1] / "migrations"     # chat/migrations

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
}


class Base(DeclarativeBase):
    """Declarative base shared by every package's tables."""


def async_url(url: str) -> str:
    """Give a plain or sync database URL the async driver this program uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigurationError(
            f"JOURCHATT_DATABASE_URL {url!r} is not a URL; use sqlite:///path or postgresql://user@host/db"
        )
    scheme = _ASYNC_DRIVERS.get(scheme, scheme)
    if not scheme.startswith(("sqlite", "postgresql")):
        raise ConfigurationError("JOURCHATT_DATABASE_URL must be a sqlite:// or postgresql:// URL")
    return f"{scheme}://{rest}"


def describe(url: str) -> str:
    """The URL without credentials, for logs."""
    return make_url(async_url(url)).render_as_string(hide_password=True).split("?")[0]


def create_engine(url: str) -> AsyncEngine:
    """An async engine; for SQLite, WAL, foreign keys and secure_delete are switched on."""
    aurl = make_url(async_url(url))
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if aurl.get_backend_name() == "sqlite":
        if aurl.database and aurl.database != ":memory:":
            Path(aurl.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs = {"connect_args": {"timeout": 30}}
    engine = create_async_engine(aurl, **kwargs)
    if aurl.get_backend_name() == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            # Overwrite deleted content (ended sessions, purged records) with zeros.
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    return engine


# What says the database is out of reach (down, restarting, refusing connections, the
# link cut) rather than that it refused a statement: these become 503 ``unavailable``
# at the edge, and the request may be tried again. SQLAlchemy wraps most of them;
# a connection that cannot be opened surfaces as the driver's own error or an OSError
# (ConnectionRefusedError, TimeoutError, socket.gaierror).
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    sa_exc.OperationalError,                 # PostgreSQL gone, SQLite locked or unreadable
    sa_exc.InterfaceError,                   # the driver's link is closed
    sa_exc.TimeoutError,                     # no pooled connection came free in time
    asyncpg.exceptions.PostgresConnectionError,       # SQLSTATE class 08
    asyncpg.exceptions.OperatorInterventionError,     # 57: shutting down, starting up, cancelled
    asyncpg.exceptions.InsufficientResourcesError,    # 53: too many connections, disk full
    asyncpg.exceptions.ConnectionDoesNotExistError,
)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached (see ``UNREACHABLE``)."""
    if isinstance(exc, UNREACHABLE):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def endpoint(url: str) -> str:
    """``host:port`` of a database URL (the file of a SQLite one), never its credentials."""
    u = make_url(async_url(url))
    if u.get_backend_name() == "sqlite":
        return u.database or ":memory:"
    return f"{u.host or 'localhost'}:{u.port or 5432}"


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = async_url(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (synchronous; call outside an event loop)."""
    from alembic import command

    aurl = make_url(async_url(url))
    if aurl.get_backend_name() == "sqlite" and aurl.database and aurl.database != ":memory:":
        Path(aurl.database).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())


async def upgrade_async(url: str) -> None:
    """``upgrade`` from inside an event loop (runs Alembic in a worker thread)."""
    await asyncio.to_thread(upgrade, url)
