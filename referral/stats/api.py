"""HTTP routes of the statistics: ``GET /api/stats``, ``GET /api/partnerships``, the dashboard ``/stats``
and the printable half-year report ``/stats/report``.

Coordinators and admins only: 401 ``not_authenticated`` without a session, 403
``forbidden`` for other roles. Internal views are exact; ``publish=true`` gives
the publication-safe figures. Every export (``format=csv`` or ``publish=true``)
is written to the audit log as ``stats.export``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from volunteer.accounts import Profile
from chat.kernel import error_codes
from chat.kernel.web import refuse
from volunteer.api import current_profile, require_role
from volunteer.audit import audit

from .. import geography
from ..exceptions import ReferralError
from . import dashboard, disclosure, partnership_store, presets, print_report, queries, report, volunteer_time, words
from .exceptions import StatsQueryError

ROLES = ("coordinator", "admin")
PARAMS = {"from", "to", "preset", "partnership", "municipality", "publish", "method", "format",
          "year_earlier", "split"}
COORDINATORS_ONLY = "Bara samordnare ser statistiken. / Coordinators only."


async def _coordinator(request: Request) -> Profile | Response:
    return await require_role(request, ROLES, COORDINATORS_ONLY)


def _flag(value: str | None, name: str, default: bool) -> bool:
    if value is None or value == "":
        return default
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise StatsQueryError(f"{name} must be true or false")


async def parse_request(request: Request) -> tuple[report.Request, str, tuple[str, ...]]:
    """The report request of a query string; StatsQueryError/PartnershipError say what is wrong."""
    q = request.query_params
    unknown = sorted(set(q.keys()) - PARAMS)
    if unknown:
        raise StatsQueryError(f"unknown parameter {unknown[0][:40]!r}; the parameters are {', '.join(sorted(PARAMS))}")
    start, end = presets.period(q.get("from"), q.get("to"), q.get("preset"))
    municipality = q.get("municipality") or None
    if municipality and municipality not in geography.MUNICIPALITIES:
        raise StatsQueryError("municipality must be an SCB code such as 0180", code=error_codes.INVALID_MUNICIPALITY)
    method = q.get("method") or "suppress"
    if method not in disclosure.METHODS:
        raise StatsQueryError(f"method must be one of {', '.join(disclosure.METHODS)}")
    fmt = q.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise StatsQueryError("format must be json or csv")
    split = q.get("split")
    if split and split not in queries.SPLITS:
        raise StatsQueryError(f"split must be one of {', '.join(queries.SPLITS)}")
    pid = q.get("partnership") or None
    partnership = await partnership_store.load(request.app.state.db, pid) if pid else None
    req = report.Request(
        start=start, end=end, preset=q.get("preset") or None, partnership=partnership,
        municipality=municipality, publish=_flag(q.get("publish"), "publish", False), method=method,
        threshold=request.app.state.settings.suppression_threshold,
        compare=_flag(q.get("year_earlier"), "year_earlier", True),
        timezone=request.app.state.settings.timezone, hour_value=request.app.state.settings.volunteer_hour_value)
    return req, fmt, (split,) if split else tuple(queries.SPLITS)


async def stats_endpoint(request: Request) -> Response:
    profile = await _coordinator(request)
    if not isinstance(profile, Profile):
        return profile
    try:
        req, fmt, splits = await parse_request(request)
    except ReferralError as exc:
        return refuse(error_codes.lookup(exc.code), exc.detail)
    state = request.app.state
    out = await report.build(state.engine, req, secret=state.settings.secret, splits=splits)
    await _hours_per_volunteer(request, profile, req, out, fmt)
    if fmt == "csv" or req.publish:
        await audit(state.db, actor=profile.id, action="stats.export", subject=req.subject())
    if fmt == "csv":
        name = f"jourchatt-{req.subject().replace('/', '_')}{'-public' if req.publish else ''}.csv"
        return Response(report.to_csv(out), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"'})
    return JSONResponse(out)


async def _hours_per_volunteer(request: Request, profile: Profile, req: report.Request, out: dict[str, Any],
                               fmt: str) -> None:
    """A coordinator's own view gains each volunteer's hours (``volunteer_hours``); an admin's, an
    export's or a published report's does not."""
    if profile.role != "coordinator" or req.publish or fmt != "json":
        return
    async with request.app.state.engine.connect() as conn:
        out["volunteer_hours"] = await volunteer_time.per_volunteer(conn, req.start, req.end,
                                                                    tz=ZoneInfo(req.timezone))


async def partnerships_endpoint(request: Request) -> Response:
    profile = await _coordinator(request)
    if not isinstance(profile, Profile):
        return profile
    found = await partnership_store.load_all(request.app.state.db)
    return JSONResponse({"partnerships": [p.to_json() for p in found]})


async def _service_names(request: Request) -> dict[str, str]:
    """Each directory service's name by its id (the statistics name services by id)."""
    from ..store import read_directory

    async with request.app.state.db() as session:
        directory = await read_directory(session)
    return {s.id: s.name for s in directory.services}


async def _page_request(request: Request, lang: str) -> Profile | Response:
    """The coordinator or admin viewing a statistics page, or the HTML page that refuses."""
    profile = await current_profile(request)
    if profile is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return HTMLResponse(dashboard.message_page("sign_in_first", lang, sign_in=True, back_to=here),
                            status_code=401)
    if profile.role not in ROLES:
        return HTMLResponse(dashboard.message_page("coordinators_only", lang), status_code=403)
    return profile


def _page_query(request: Request) -> dict[str, Any]:
    """The page's query without the language; the current half year when no period is given."""
    q = request.query_params
    query: dict[str, Any] = {k: v for k, v in q.items() if v and k != "lang"}
    if not any(q.get(k) for k in ("from", "to", "preset")):
        query["preset"] = dashboard.default_preset()
    if "lang" in q and q["lang"] not in words.LANGS:
        # Validated at the edge like every parameter (parse_request names the others).
        raise StatsQueryError(f"lang must be one of {', '.join(words.LANGS)}")
    return query


async def dashboard_page(request: Request) -> Response:
    lang = words.lang_of(request.cookies, dict(request.query_params))
    profile = await _page_request(request, lang)
    if not isinstance(profile, Profile):
        return profile
    found = await partnership_store.load_all(request.app.state.db)
    query = {k: v for k, v in request.query_params.items() if v and k != "lang"}
    try:
        query = _page_query(request)
        req, _fmt, _splits = await parse_request(_with_query(request, query))
    except ReferralError as exc:
        return HTMLResponse(dashboard.page(None, found, query, lang=lang, problem=exc.detail), status_code=400)
    out = await report.build(request.app.state.engine, req, secret=request.app.state.settings.secret)
    await _hours_per_volunteer(request, profile, req, out, "json")
    if req.publish:
        await audit(request.app.state.db, actor=profile.id, action="stats.export", subject=req.subject())
    return HTMLResponse(dashboard.page(out, found, query, lang=lang, services=await _service_names(request)))


async def report_page(request: Request) -> Response:
    """The half-year report for printing: publication-safe figures, so fetching it is an audited export."""
    lang = words.lang_of(request.cookies, dict(request.query_params))
    profile = await _page_request(request, lang)
    if not isinstance(profile, Profile):
        return profile
    found = await partnership_store.load_all(request.app.state.db)
    query = {k: v for k, v in request.query_params.items() if v and k != "lang"}
    try:
        query = _page_query(request)
        query.pop("publish", None)
        query.pop("method", None)
        req, _fmt, _splits = await parse_request(_with_query(request, {**query, "publish": "true"}))
    except ReferralError as exc:
        return HTMLResponse(dashboard.page(None, found, query, lang=lang, problem=exc.detail), status_code=400)
    out = await report.build(request.app.state.engine, req, secret=request.app.state.settings.secret)
    await audit(request.app.state.db, actor=profile.id, action="stats.export", subject=req.subject())
    from urllib.parse import urlencode

    back = "/stats?" + urlencode({k: v for k, v in query.items() if k in dashboard.QUERY_KEYS})
    return HTMLResponse(print_report.page(out, req.partnership, lang=lang, services=await _service_names(request),
                                          back=back))


def _with_query(request: Request, query: dict[str, Any]) -> Request:
    from urllib.parse import urlencode

    scope = dict(request.scope)
    scope["query_string"] = urlencode({k: v for k, v in query.items() if k in PARAMS}).encode()
    return Request(scope, request.receive)


routes = [
    Route("/api/stats", stats_endpoint, methods=["GET"]),
    Route("/api/partnerships", partnerships_endpoint, methods=["GET"]),
    Route("/stats", dashboard_page, methods=["GET"]),
    Route("/stats/report", report_page, methods=["GET"]),
]
