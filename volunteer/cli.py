"""``jourchatt volunteer list|disable|enable|reset|training add`` (``add`` is in chat/cli.py).

Each act is written to the audit log with the actor ``cli``. ``reset`` prints a
one-time temporary password once, to standard output; it is never logged.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from typing import Any

from chat.kernel import db
from chat.kernel.settings import Settings

from . import manage, shadowed_shifts as trainees
from .accounts import CHAT_ROLES
from .audit import audit
from .exceptions import AccountError


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date YYYY-MM-DD") from None


def add_parsers(volsub: Any) -> None:
    volsub.add_parser("list", help="list accounts: role, status, training, second factor")
    for name, text in (("disable", "disable an account and end its sessions"),
                       ("enable", "enable a disabled account"),
                       ("reset", "new one-time password (printed once); a new password and second "
                                 "factor are demanded at the next login; ends every session")):
        volsub.add_parser(name, help=text).add_argument("username")
    skills = volsub.add_parser("skills", help="set an account's skills (topic routing); none clears them")
    skills.add_argument("username")
    skills.add_argument("skill", nargs="*", metavar="SKILL",
                        help="topics and forms of violence the volunteer is trained for, e.g. uses_violence")
    shifts = volsub.add_parser("shifts", help="a trainee's shadowed shifts (the training record); "
                               "--mark/--unmark a day as a supervisor would")
    shifts.add_argument("username")
    shifts.add_argument("--mark", type=_date, help="mark a shift shadowed on this day YYYY-MM-DD")
    shifts.add_argument("--unmark", type=_date, help="unmark the shift of this day YYYY-MM-DD")
    training = volsub.add_parser("training", help="training records")
    tsub = training.add_subparsers(dest="training_command", required=True, metavar="ACTION")
    tadd = tsub.add_parser("add", help="record a completed course")
    tadd.add_argument("username")
    tadd.add_argument("--kind", required=True, choices=["basic", "refresher"])
    tadd.add_argument("--completed", required=True, type=_date, help="completion date YYYY-MM-DD")
    tadd.add_argument("--expires", type=_date, help="expiry date YYYY-MM-DD (a refresher's "
                      "default is JOURCHATT_REFRESHER_MONTHS after completion)")


async def _run(settings: Settings, args: argparse.Namespace) -> list[str]:
    engine = db.create_engine(settings.database_url)
    sessions = db.sessionmaker(engine)
    today = date.today()
    out: list[str] = []
    try:
        cmd = args.volunteer_command
        if cmd == "list":
            rows = await manage.list_accounts(sessions, today)
            out.append(f"{'username':<20} {'role':<12} {'status':<9} {'training':<9} {'2fa':<8} {'shifts':<6} "
                       f"{'languages':<10} skills")
            for r in rows:
                status = "disabled" if r.disabled else "reset" if r.password_change else "active"
                # Training is what a chat role (or a trainee on its way) needs; coordinators and admins take no chats.
                training = r.training if r.role in (*CHAT_ROLES, "trainee") else "-"
                out.append(f"{r.username:<20} {r.role:<12} {status:<9} {training:<9} "
                           f"{r.second_factor:<8} {len(r.shadowed_shifts):<6} {','.join(r.languages):<10} {','.join(r.skills) or '-'}")
        elif cmd == "skills":
            aid, chosen = await manage.set_skills(sessions, args.username, args.skill)
            await audit(sessions, actor="cli", action="account.skills", subject=aid)
            out.append(f"skills of {manage.normalize_username(args.username)}: {', '.join(chosen) or 'none'}")
        elif cmd in ("disable", "enable"):
            aid = await manage.set_disabled(sessions, args.username, cmd == "disable")
            await audit(sessions, actor="cli", action=f"account.{cmd}", subject=aid)
            out.append(f"{cmd}d {manage.normalize_username(args.username)}")
        elif cmd == "reset":
            aid, temporary = await manage.reset(sessions, args.username)
            await audit(sessions, actor="cli", action="account.reset", subject=aid)
            out.append(f"temporary password (shown once): {temporary}")
            out.append("at the next login a new password and a new second factor are required")
        elif cmd == "shifts":
            if args.mark:
                aid, _ = await trainees.mark_shift(sessions, args.username, args.mark, by="cli", today=today)
                await audit(sessions, actor="cli", action="training.shift", subject=aid)
            if args.unmark:
                aid, _ = await trainees.unmark_shift(sessions, args.username, args.unmark)
                await audit(sessions, actor="cli", action="training.shift_unmark", subject=aid)
            aid = await trainees.trainee_id(sessions, args.username)
            shifts = (await trainees.shifts_by_account(sessions)).get(aid, [])
            out.append(f"{manage.normalize_username(args.username)}: {len(shifts)} of "
                       f"{trainees.SHIFTS_REQUIRED} shadowed shifts")
            out += [f"  {s['day']}  marked by {s['marked_by'] or 'cli'}" for s in shifts]
        elif cmd == "training":
            aid, expires = await manage.record_training(
                sessions, args.username, kind=args.kind, completed=args.completed, expires=args.expires,
                refresher_months=settings.refresher_months, today=today)
            await audit(sessions, actor="cli", action="training.record", subject=aid)
            out.append(f"recorded {args.kind} {args.completed.isoformat()}"
                       + (f", expires {expires.isoformat()}" if expires else ""))
    finally:
        await engine.dispose()
    return out


def run(settings: Settings, args: argparse.Namespace) -> None:
    """Carry out the command and print its result; AccountError propagates (exit code 1)."""
    for line in asyncio.run(_run(settings, args)):
        print(line)


__all__ = ["AccountError", "add_parsers", "run"]
