"""``jourchatt hours show`` and ``jourchatt hours set FILE.json`` (and ``clear``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from chat.kernel import db
from chat.kernel.settings import Settings

from . import hours, hours_store
from .hours_api import view


def add_parser(sub: Any) -> None:
    p = sub.add_parser("hours", help="opening hours (no schedule = always open)")
    hsub = p.add_subparsers(dest="hours_command", required=True, metavar="ACTION")
    hsub.add_parser("show", help="print the schedule and whether the chat is open now, as JSON")
    put = hsub.add_parser("set", help="replace the schedule with FILE.json (see docs/protocol.md)")
    put.add_argument("file", help="a JSON file; '-' reads standard input")
    hsub.add_parser("clear", help="remove the schedule: always open")


async def _run(settings: Settings, args: argparse.Namespace, schedule: hours.Schedule | None) -> dict[str, Any]:
    engine = db.create_engine(settings.database_url)
    try:
        sessions = db.sessionmaker(engine)
        if args.hours_command in ("set", "clear"):
            await hours_store.save(sessions, schedule)
        current = await hours_store.load(sessions)
        from referral import rules, store

        directory = await store.DirectoryCache(sessions).current()
        services = [s.card("sv") for s in rules.closed_services(directory)]
        return view(current, settings.timezone, datetime.now(timezone.utc), services)
    finally:
        await engine.dispose()


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run an ``hours`` action; the HoursError of a bad file reaches the caller."""
    schedule = None
    if args.hours_command == "set":
        try:
            text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
            doc = json.loads(text)
        except (OSError, ValueError) as exc:
            print(f"jourchatt: cannot read {args.file}: {exc}", file=sys.stderr)
            return 1
        schedule = hours.parse(doc)
    print(json.dumps(asyncio.run(_run(settings, args, schedule)), ensure_ascii=False, indent=2))
    return 0
