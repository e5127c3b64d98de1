"""CLI subcommands of the referral package, hooked into ``jourchatt`` (chat/cli.py).

    jourchatt directory check FILE      validate a directory file; every error with its place
    jourchatt directory load FILE       make it the live directory (atomically, all nodes)
    jourchatt directory export          print the live directory as JSON
    jourchatt partner add ID --name NAME --service SERVICE [--service ...]
                                        create a partner; prints its API key once
    jourchatt partner list | disable ID
    jourchatt referrals purge           delete expired referral codes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable, TypeVar

from chat.kernel import db
from chat.kernel.settings import Settings

from . import directory as directory_module
from . import store
from .exceptions import DirectoryChanged, DirectoryInvalid

COMMANDS = ("directory", "partner", "referrals")
_PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
T = TypeVar("T")


def add_parsers(sub: Any) -> None:
    d = sub.add_parser("directory", help="the referral directory")
    dsub = d.add_subparsers(dest="directory_command", required=True, metavar="ACTION")
    dsub.add_parser("check", help="validate a directory file (TOML or JSON)").add_argument("file", type=Path)
    dsub.add_parser("load", help="replace the live directory with a file, atomically").add_argument("file", type=Path)
    dsub.add_parser("export", help="print the live directory as JSON")

    p = sub.add_parser("partner", help="partner services that redeem referral codes")
    psub = p.add_subparsers(dest="partner_command", required=True, metavar="ACTION")
    add = psub.add_parser("add", help="create a partner and print its API key (shown once)")
    add.add_argument("id", help="short id, a-z 0-9 and '-' (e.g. rvc-sydvast)")
    add.add_argument("--name", required=True, help="the organisation's name")
    add.add_argument("--service", action="append", required=True, dest="services",
                     help="a directory service id whose codes it redeems (repeat for more)")
    psub.add_parser("list", help="list partners (never their keys)")
    psub.add_parser("disable", help="revoke a partner's key").add_argument("id")

    r = sub.add_parser("referrals", help="referral codes")
    rsub = r.add_subparsers(dest="referrals_command", required=True, metavar="ACTION")
    rsub.add_parser("purge", help="delete expired referral codes")


def _with_db(settings: Settings, fn: Callable[[store.Sessions], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = db.create_engine(settings.database_url)
        try:
            return await fn(db.sessionmaker(engine))
        finally:
            await engine.dispose()
    return asyncio.run(run())


def _check(path: Path) -> directory_module.Directory | None:
    try:
        return directory_module.parse(directory_module.read_file(path))
    except DirectoryInvalid as exc:
        for line in exc.errors:
            print(f"{path}: {line}", file=sys.stderr)
        print(f"{path}: {len(exc.errors)} error(s)", file=sys.stderr)
        return None


def run(args: argparse.Namespace, settings: Settings, prepare_schema: Callable[[Settings], None]) -> int:
    """Run a referral subcommand; the exit status."""
    if args.command == "directory" and args.directory_command == "check":
        parsed = _check(args.file)
        if parsed is None:
            return 1
        print(f"{args.file}: ok, {len(parsed.services)} services")
        return 0
    prepare_schema(settings)
    if args.command == "directory" and args.directory_command == "load":
        parsed = _check(args.file)
        if parsed is None:
            return 1
        try:
            version = _with_db(settings, lambda s: store.replace_directory(s, parsed))
        except DirectoryChanged as exc:
            print(f"jourchatt: {exc.detail}", file=sys.stderr)
            return 1
        print(f"loaded {len(parsed.services)} services; the directory is at version {version}")
        return 0
    if args.command == "directory":
        async def export(s: store.Sessions) -> Any:
            async with s() as session:
                d = await store.read_directory(session)
            return {"format": 1, "version": d.version, "service": d.documents()}
        print(json.dumps(_with_db(settings, export), ensure_ascii=False, indent=2))
        return 0
    if args.command == "partner" and args.partner_command == "add":
        if not _PARTNER_ID.match(args.id):
            print("jourchatt: partner id: 1 to 32 of a-z, 0-9 and '-'", file=sys.stderr)
            return 2

        async def add(s: store.Sessions) -> str:
            async with s() as session:
                live = await store.read_directory(session)
            missing = [sid for sid in args.services if live.get(sid) is None]
            if missing:
                raise ValueError(f"service {missing[0]!r} is not in the live directory "
                                 "(see jourchatt directory export; load one with jourchatt directory load)")
            return await store.add_partner(s, args.id, args.name.strip()[:120], list(dict.fromkeys(args.services)),
                                           store.today(settings.timezone))
        try:
            key = _with_db(settings, add)
        except ValueError as exc:
            print(f"jourchatt: {exc}", file=sys.stderr)
            return 1
        print(f"created partner {args.id}; its API key (shown only now, keep it safe):")
        print(key)
        return 0
    if args.command == "partner" and args.partner_command == "list":
        for p in _with_db(settings, store.list_partners):
            print(f"{p.id}\t{p.name}\t{p.services}\t{'disabled' if p.disabled else 'active'}\t{p.created_on}")
        return 0
    if args.command == "partner":
        if not _with_db(settings, lambda s: store.disable_partner(s, args.id)):
            print(f"jourchatt: no partner {args.id!r}", file=sys.stderr)
            return 1
        print(f"disabled {args.id}")
        return 0
    count = _with_db(settings, lambda s: store.purge(s, store.today(settings.timezone)))
    print(f"deleted {count} expired code(s)")
    return 0
