"""Which database errors mean "out of reach" (503, try again) and which are ours (500)."""

from __future__ import annotations

import asyncpg
from sqlalchemy import exc as sa_exc

from chat.kernel import db
from chat.app import broker_endpoint


def wrapped(cls: type[sa_exc.DBAPIError], *, invalidated: bool = False) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, Exception("driver"), connection_invalidated=invalidated)


def test_a_database_out_of_reach_is_unreachable() -> None:
    for exc in (ConnectionRefusedError(111, "refused"), TimeoutError(), OSError("no route"),
                wrapped(sa_exc.OperationalError), wrapped(sa_exc.InterfaceError),
                sa_exc.TimeoutError("pool"), wrapped(sa_exc.DBAPIError, invalidated=True),
                asyncpg.exceptions.CannotConnectNowError("starting up"),
                asyncpg.exceptions.TooManyConnectionsError("too many"),
                asyncpg.exceptions.ConnectionDoesNotExistError("closed"),
                asyncpg.exceptions.AdminShutdownError("shutdown")):
        assert db.unreachable(exc), exc


def test_a_statement_the_database_refused_is_not() -> None:
    for exc in (wrapped(sa_exc.IntegrityError), wrapped(sa_exc.ProgrammingError), wrapped(sa_exc.DataError),
                wrapped(sa_exc.DBAPIError), ValueError("bad"), asyncpg.exceptions.UniqueViolationError("dup"),
                sa_exc.NoResultFound()):
        assert not db.unreachable(exc), exc


def test_endpoints_name_host_and_port_never_credentials() -> None:
    assert db.endpoint("postgresql://user:secret@db.example:6543/jc") == "db.example:6543"
    assert db.endpoint("postgres://user@db/jc") == "db:5432"
    assert db.endpoint("sqlite:///var/jc.sqlite3") == "var/jc.sqlite3"
    assert broker_endpoint("redis://:secret@redis:6380/0") == "redis:6380"
    assert broker_endpoint("rediss://user:secret@cache.example/1") == "cache.example:6379"
    assert broker_endpoint("memory://") == "memory"
