"""``jourchatt report``, ``jourchatt partnership add|list``, ``jourchatt records import|purge``.

Hooked into chat/cli.py by two lines: ``add_parsers(sub)`` and ``run(...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from chat.kernel import db, error_codes
from chat.kernel.settings import Settings

from .. import geography
from ..exceptions import ReferralError
from . import disclosure, partnership_store, partnerships, presets, records_io, report
from .exceptions import ImportFailed

COMMANDS = ("report", "partnership", "records")


def add_parsers(sub: Any) -> None:
    rep = sub.add_parser("report", help="partnership statistics for a period")
    rep.add_argument("--partnership", help="count the partnership's target group only")
    rep.add_argument("--from", dest="start", metavar="YYYY-MM-DD", help="first day")
    rep.add_argument("--to", dest="end", metavar="YYYY-MM-DD", help="last day")
    rep.add_argument("--preset", help="a named period: 2022H1, 2023T2, 2024Q3, 2024-05, 2024")
    rep.add_argument("--municipality", help="residents of one municipality (SCB code, e.g. 0180)")
    rep.add_argument("--format", default="table", choices=["table", "csv", "json"])
    rep.add_argument("--public", action="store_true",
                     help="safe for publication: small counts withheld (audited)")
    rep.add_argument("--method", default="suppress", choices=list(disclosure.METHODS),
                     help="with --public: suppress small cells (default) or the cell key method")
    rep.add_argument("--no-year-earlier", action="store_true", help="leave out the year-earlier column")

    par = sub.add_parser("partnership", help="partnerships (IOP) and their target groups")
    psub = par.add_subparsers(dest="partnership_command", required=True, metavar="ACTION")
    add = psub.add_parser("add", help="add partnerships from a JSON file (one object or a list)")
    add.add_argument("file", type=Path)
    add.add_argument("--replace", action="store_true", help="replace a partnership with the same id")
    lst = psub.add_parser("list", help="list the partnerships")
    lst.add_argument("--format", default="table", choices=["table", "json"])

    rec = sub.add_parser("records", help="the de-identified records: import and retention")
    rsub = rec.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    imp = rsub.add_parser("import", help="import records from a JSONL file (all or nothing)")
    imp.add_argument("file", type=Path)
    pur = rsub.add_parser("purge", help="delete records older than the retention time")
    pur.add_argument("--years", type=int, help="retention in years (default JOURCHATT_RETENTION_YEARS)")
    pur.add_argument("--dry-run", action="store_true", help="only count what would be deleted")


async def _report(settings: Settings, args: argparse.Namespace) -> str:
    from volunteer.audit import audit

    start, end = presets.period(args.start, args.end, args.preset)
    if args.municipality and args.municipality not in geography.MUNICIPALITIES:
        raise ReferralError(f"unknown municipality {args.municipality!r}; use an SCB code such as 0180",
                            code=error_codes.INVALID_MUNICIPALITY)
    engine = db.create_engine(settings.database_url)
    try:
        sessions = db.sessionmaker(engine)
        partnership = await partnership_store.load(sessions, args.partnership) if args.partnership else None
        req = report.Request(start=start, end=end, preset=args.preset, partnership=partnership,
                             municipality=args.municipality, publish=args.public, method=args.method,
                             threshold=settings.suppression_threshold, compare=not args.no_year_earlier,
                             timezone=settings.timezone, hour_value=settings.volunteer_hour_value)
        out = await report.build(engine, req, secret=settings.secret)
        if args.public:
            await audit(sessions, actor="cli", action="stats.export", subject=req.subject())
    finally:
        await engine.dispose()
    if args.format == "json":
        return json.dumps(out, ensure_ascii=False, indent=2) + "\n"
    return report.to_csv(out) if args.format == "csv" else report.to_table(out)


async def _partnership(settings: Settings, args: argparse.Namespace) -> str:
    engine = db.create_engine(settings.database_url)
    try:
        sessions = db.sessionmaker(engine)
        if args.partnership_command == "add":
            try:
                doc = json.loads(args.file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ReferralError(f"cannot read {args.file}: {exc}", code=error_codes.INVALID_PARTNERSHIP) from None
            docs = doc if isinstance(doc, list) else [doc]
            items = []
            for i, d in enumerate(docs):
                try:
                    items.append(partnerships.validate(d))
                except ReferralError as exc:
                    raise ReferralError(f"partnership {i + 1}: {exc.detail}", code=exc.code) from None
            for p in items:
                await partnership_store.save(sessions, p, replace=args.replace)
            return "".join(f"added {p.id}\n" for p in items)
        found = await partnership_store.load_all(sessions)
    finally:
        await engine.dispose()
    if args.format == "json":
        return json.dumps([p.to_json() for p in found], ensure_ascii=False, indent=2) + "\n"
    today = date.today()
    lines = [f"{'id':<28} {'from':<10} {'ends':<10} {'active':<6} {'ages':<7} {'municipalities':<14} name"]
    for p in found:
        ages = f"{p.age_min or ''}-{p.age_max or ''}" if p.age_min or p.age_max else "all"
        lines.append(f"{p.id:<28} {p.starts_on} {partnerships.ends_on(p)} "
                     f"{'yes' if partnerships.active_on(p, today) else 'no':<6} {ages:<7} "
                     f"{','.join(p.municipalities) or 'all':<14} {p.name}")
    return "\n".join(lines) + "\n"


async def _records(settings: Settings, args: argparse.Namespace) -> str:
    engine = db.create_engine(settings.database_url)
    try:
        if args.records_command == "import":
            if not args.file.is_file():
                raise ReferralError(f"no such file: {args.file}", code=error_codes.INVALID_RECORDS_FILE)
            n = await records_io.import_file(engine, args.file, today=date.today())
            return f"imported {n} records\n"
        years = args.years if args.years is not None else settings.retention_years
        if years < 1:
            raise ReferralError("--years must be at least 1", code=error_codes.INVALID_REQUEST)
        n, limit = await records_io.purge(engine, today=date.today(), years=years, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        return f"{verb} {n} records that started before {limit.isoformat()}\n"
    finally:
        await engine.dispose()


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one of COMMANDS; print the result, or the error and return 1."""
    if settings.database_url.startswith("sqlite"):
        db.upgrade(settings.database_url)
    handler = {"report": _report, "partnership": _partnership, "records": _records}[args.command]
    try:
        sys.stdout.write(asyncio.run(handler(settings, args)))
    except ImportFailed as exc:
        print(f"jourchatt: {len(exc.errors)} bad line(s) in {args.file}; nothing was imported", file=sys.stderr)
        for number, reason in exc.errors[:100]:
            print(f"  line {number}: {reason}", file=sys.stderr)
        return 1
    except ReferralError as exc:
        print(f"jourchatt: {exc.detail}", file=sys.stderr)
        return 1
    return 0
