"""The ``jourchatt`` command (contract.md "Running it")."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date
from typing import Sequence

from referral import cli as referral_cli
from referral.stats import cli as stats_cli

from .kernel import db
from .kernel.exceptions import ConfigurationError, JourchattError
from .kernel.logs import configure_logging, get_logger
from .kernel.settings import Settings
from volunteer import hours_cli

log = get_logger("chat.cli")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jourchatt", description="Anonymous support chat for young people.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the server (chat, console, pages)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")

    dbp = sub.add_parser("db", help="database schema")
    dbsub = dbp.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="bring the schema up to date (migrations)")

    vol = sub.add_parser("volunteer", help="volunteer accounts")
    volsub = vol.add_subparsers(dest="volunteer_command", required=True, metavar="ACTION")
    add = volsub.add_parser("add", help="create an account; the password is read from stdin")
    add.add_argument("username")
    add.add_argument("--display-name", required=True, help="the name visitors see")
    add.add_argument("--role", default="volunteer", choices=["volunteer", "supervisor", "coordinator", "admin",
                                                             "trainee"])
    add.add_argument("--language", default="sv", help="languages the volunteer chats in, comma-separated, of sv,en,ar,fa,so,ti,uk (default sv)")
    add.add_argument("--capacity", type=int, default=1, help="chats at a time (default 1)")
    add.add_argument("--trained", action="store_true", help="record basic training as completed today")
    add.add_argument("--skill", action="append", default=[], metavar="SKILL",
                     help="a topic or form of violence the volunteer is trained for (repeatable), "
                          "e.g. uses_violence, honour, sexual")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from standard input (never from the command line)")
    from volunteer import cli as volunteer_cli

    volunteer_cli.add_parsers(volsub)
    hours_cli.add_parser(sub)
    referral_cli.add_parsers(sub)
    stats_cli.add_parsers(sub)
    return p


def _prepare_schema(settings: Settings) -> None:
    """The embedded SQLite is migrated automatically; other databases need 'db upgrade'."""
    if settings.database_url.startswith("sqlite"):
        db.upgrade(settings.database_url)


async def _add_volunteer(settings: Settings, args: argparse.Namespace, password: str) -> str:
    from volunteer.accounts import create_account

    engine = db.create_engine(settings.database_url)
    try:
        account = await create_account(
            db.sessionmaker(engine), username=args.username, display_name=args.display_name,
            password=password, role=args.role, languages=args.language, capacity=args.capacity,
            trained=args.trained, today=date.today(), skills=args.skill,
        )
        return account.username
    finally:
        await engine.dispose()


def _read_password() -> str:
    data = sys.stdin.readline()
    return data[:-1] if data.endswith("\n") else data


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigurationError as exc:
        print(f"jourchatt: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_format, settings.log_level)
    try:
        if args.command == "serve":
            from .server import serve

            _prepare_schema(settings)
            log.info("server.starting", host=args.host, port=args.port)
            serve(settings, args.host, args.port)
        elif args.command == "db":
            db.upgrade(settings.database_url)
            print(f"schema is at {db.head_revision()}")
        elif args.command == "volunteer" and args.volunteer_command != "add":
            from volunteer import cli as volunteer_cli

            _prepare_schema(settings)
            volunteer_cli.run(settings, args)
        elif args.command in stats_cli.COMMANDS:
            return stats_cli.run(settings, args)
        elif args.command == "volunteer":
            _prepare_schema(settings)
            password = _read_password().rstrip("\r")
            username = asyncio.run(_add_volunteer(settings, args, password))
            print(f"created {username}")
        elif args.command == "hours":
            _prepare_schema(settings)
            return hours_cli.run(settings, args)
        elif args.command in referral_cli.COMMANDS:
            return referral_cli.run(args, settings, _prepare_schema)
    except JourchattError as exc:
        print(f"jourchatt: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
