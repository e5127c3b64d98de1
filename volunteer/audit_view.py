"""``GET /api/admin/audit``: the audit log for admins, newest first, filtered and paged.

Filters: ``account`` (a username: the rows that account did), ``action`` (one of
``audit.ACTIONS``). Paging is by id: ``before`` is the id of the last row seen and
``limit`` (1 to 200, default 50) how many to show; ``next_before`` is the cursor of
the next, older page (null on the last one). An actor or a subject that is an
account id is shown with that account's username (the ids mean nothing to a reader).
Bad parameters are a 400 naming the parameter.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from chat.kernel import error_codes as codes
from chat.kernel.web import refuse

from .accounts import normalize_username
from .api import require_role
from .audit import ACTIONS, AuditEntry
from .models import Account

DEFAULT_LIMIT, MAX_LIMIT = 50, 200
PARAMS = {"account", "action", "before", "limit"}


def _whole(value: str | None, name: str, low: int, high: int, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{name}: a whole number {low} to {high} is required")
    return int(value)


async def audit_log(request: Request) -> Response:
    who = await require_role(request, ("admin",), "Bara administratörer. / Admins only.")
    if isinstance(who, Response):
        return who
    q = request.query_params
    unknown = sorted(set(q.keys()) - PARAMS)
    if unknown:
        return refuse(codes.INVALID_FIELD, f"{unknown[0][:40]}: unknown parameter; the parameters are "
                      f"{', '.join(sorted(PARAMS))}")
    try:
        before = _whole(q.get("before"), "before", 1, 2**62, None)
        limit = _whole(q.get("limit"), "limit", 1, MAX_LIMIT, DEFAULT_LIMIT) or DEFAULT_LIMIT
    except ValueError as exc:
        return refuse(codes.INVALID_FIELD, str(exc))
    action = q.get("action") or None
    if action is not None and action not in ACTIONS:
        return refuse(codes.INVALID_FIELD, "action: one of the audit actions is required")
    async with request.app.state.db() as session:
        names = {a.id: a.username for a in (await session.scalars(select(Account))).all()}
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
        if q.get("account"):
            wanted = normalize_username(q["account"][:200])
            ids = [aid for aid, name in names.items() if name == wanted]
            if not ids:
                return refuse(codes.UNKNOWN_ACCOUNT, f"account: no account is called {wanted[:64]!r}")
            query = query.where(AuditEntry.actor == ids[0])
        if action:
            query = query.where(AuditEntry.action == action)
        if before is not None:
            query = query.where(AuditEntry.id < before)
        rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]

    def entry(row: AuditEntry) -> dict[str, Any]:
        return {"id": row.id, "at": row.at.isoformat(), "action": row.action,
                "actor": names.get(row.actor, row.actor), "subject": row.subject,
                "subject_account": names.get(row.subject)}

    return JSONResponse({"entries": [entry(r) for r in rows],
                         "next_before": rows[-1].id if more and rows else None,
                         "actions": sorted(ACTIONS)})


routes = [Route("/api/admin/audit", audit_log, methods=["GET"])]
