"""HTTP routes of the referral package (docs/protocol.md, "Referrals").

Signed-in staff (cookie): ``GET /api/referrals/suggest``, ``GET
/api/referrals/directory``; coordinators and admins also ``PUT`` and ``DELETE
/api/referrals/directory/{id}``, and ``PUT /api/referrals/directory`` (the whole
directory at once: the editor's bulk import, all or nothing). Partner services (``Authorization: Bearer
<key>``, no cookie): ``POST /api/referrals/redeem``, and the page
``/partner/redeem`` that calls it from the browser.
"""

from __future__ import annotations

import copy
from typing import TypedDict, cast
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from chat.kernel.logs import get_logger
from chat.kernel import error_codes
from chat.kernel.web import json_body, refuse
from volunteer.api import current_profile, require_role

from . import codes, ratelimit, rules, store, vocab
from .directory import parse
from .exceptions import (AlreadyRedeemed, DirectoryChanged, DirectoryInvalid, ExpiredCode, InvalidQuery,
                         UnknownCode)

log = get_logger("referral.api")
STATIC = Path(__file__).parent / "static"
EDIT_ROLES = ("coordinator", "admin")
MAX_ENTRY_BYTES = 16 * 1024
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024     # 500 services of ~4 KiB each


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "sv"


async def suggest(request: Request) -> Response:
    if await current_profile(request) is None:
        return refuse(error_codes.NOT_AUTHENTICATED)
    params = dict(request.query_params)
    lang = params.get("lang", "sv")
    if lang not in vocab.LANGUAGES:
        return refuse(error_codes.INVALID_QUERY, f"lang: must be one of {', '.join(vocab.LANGUAGES)}")
    try:
        query = rules.Query.from_params(params)
    except InvalidQuery as exc:
        return refuse(error_codes.INVALID_QUERY, exc.detail)
    directory = await request.app.state.hub.directory.current()
    services = [{**m.service.card(lang), "reason": rules.reason(m, query, lang)}
                for m in rules.suggest(directory, query)]
    return JSONResponse({"services": services, "version": directory.version})


async def directory_read(request: Request) -> Response:
    if await current_profile(request) is None:
        return refuse(error_codes.NOT_AUTHENTICATED)
    directory = await request.app.state.hub.directory.current()
    return JSONResponse({"version": directory.version, "services": directory.documents()})


def _expected_version(request: Request, current: int) -> int | Response:
    """The version ``If-Match`` names (the one read before editing), or ``current`` without one."""
    if_match = request.headers.get("if-match", "").strip('"')
    if not if_match:
        return current
    if not if_match.isdigit():
        return refuse(error_codes.INVALID_BODY, "If-Match: must be the directory version, a number")
    return int(if_match)


async def directory_replace(request: Request) -> Response:
    """Replace the whole directory with the document sent (``{"service": [...]}``, as exported):
    checked as a whole like ``directory load``, stored at once or not at all."""
    profile = await require_role(request, EDIT_ROLES, "only coordinators and admins edit the referral directory")
    if isinstance(profile, Response):
        return profile
    body = await json_body(request, MAX_DIRECTORY_BYTES)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return refuse(error_codes.INVALID_BODY, 'send the directory as {"service": [...]}')
    cache = request.app.state.hub.directory
    expected = _expected_version(request, (await cache.current()).version)
    if isinstance(expected, Response):
        return expected
    try:
        directory = parse(body)
        version = await store.replace_directory(request.app.state.db, directory, expected_version=expected)
    except DirectoryInvalid as exc:
        return refuse(error_codes.INVALID_DIRECTORY, exc.errors[0], errors=exc.errors)
    except DirectoryChanged as exc:
        return refuse(error_codes.DIRECTORY_CHANGED, exc.detail)
    await cache.current()
    log.info("directory.changed", version=version, volunteer=profile.id[:8], count=len(directory.services))
    return JSONResponse({"version": version, "services": len(directory.services)})


async def directory_put(request: Request) -> Response:
    """Add or replace one entry; the whole directory is validated as ``directory check`` does."""
    profile = await require_role(request, EDIT_ROLES, "only coordinators and admins edit the referral directory")
    if isinstance(profile, Response):
        return profile
    service_id = request.path_params["service_id"]
    body = await json_body(request, MAX_ENTRY_BYTES)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict):
        return refuse(error_codes.INVALID_BODY, "send one service as a JSON object")
    if body.get("id", service_id) != service_id:
        return refuse(error_codes.INVALID_BODY, "id: must match the id in the path")
    body = {**body, "id": service_id}
    cache = request.app.state.hub.directory
    current = await cache.current()
    docs = copy.deepcopy(current.documents())
    position = next((i for i, d in enumerate(docs) if d.get("id") == service_id), None)
    if position is None:
        docs.append(body)
    else:
        docs[position] = body
    expected = _expected_version(request, current.version)
    if isinstance(expected, Response):
        return expected
    try:
        directory = parse({"service": docs})
        version = await store.replace_directory(request.app.state.db, directory, expected_version=expected)
    except DirectoryInvalid as exc:
        return refuse(error_codes.INVALID_DIRECTORY, exc.errors[0], errors=exc.errors)
    except DirectoryChanged as exc:
        return refuse(error_codes.DIRECTORY_CHANGED, exc.detail)
    await cache.current()           # this node's copy follows at once
    log.info("directory.changed", version=version, volunteer=profile.id[:8])
    return JSONResponse({"version": version, "service": body}, status_code=201 if position is None else 200)


async def directory_delete(request: Request) -> Response:
    """Remove one entry; refused (422) if the rest would not be a valid directory."""
    profile = await require_role(request, EDIT_ROLES, "only coordinators and admins edit the referral directory")
    if isinstance(profile, Response):
        return profile
    service_id = request.path_params["service_id"]
    cache = request.app.state.hub.directory
    current = await cache.current()
    docs = [d for d in current.documents() if d.get("id") != service_id]
    if len(docs) == len(current.services):
        return refuse(error_codes.NOT_FOUND, f"no service {service_id!r} in the directory")
    try:
        directory = parse({"service": docs})
        version = await store.replace_directory(request.app.state.db, directory,
                                                expected_version=current.version)
    except DirectoryInvalid as exc:
        return refuse(error_codes.INVALID_DIRECTORY, exc.errors[0], errors=exc.errors)
    except DirectoryChanged as exc:
        return refuse(error_codes.DIRECTORY_CHANGED, exc.detail)
    await cache.current()
    log.info("directory.changed", version=version, volunteer=profile.id[:8])
    return JSONResponse({"version": version})


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, key = auth.partition(" ")
    return key.strip() if scheme.lower() == "bearer" and key.strip() else None


class RedeemBody(TypedDict):
    """``POST /api/referrals/redeem`` (chat/openapi.json is checked against it)."""

    code: str


# operationId -> the type of its JSON body (tests/unit/test_openapi.py compares them, body-deep).
REQUEST_BODIES: dict[str, type] = {"redeem": RedeemBody}


async def redeem(request: Request) -> Response:
    state = request.app.state
    settings = state.settings
    key = _bearer(request)
    partner = await store.partner_by_key(state.db, key) if key else None
    if partner is None:
        return refuse(error_codes.INVALID_KEY, headers={"WWW-Authenticate": "Bearer"})
    body = await json_body(request, 1024)
    if isinstance(body, Response):
        return body
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        return refuse(error_codes.INVALID_BODY, "send {\"code\": \"K7QM3-XRT9C\"}")
    body = cast(RedeemBody, body)
    now = state.hub.clock()
    wait = await ratelimit.admit(state.broker, partner.id, now, per_minute=settings.redeem_per_minute,
                                 failures_per_hour=settings.redeem_failures_per_hour)
    if wait is not None:
        seconds = max(1, int(wait + 0.999))
        return refuse(error_codes.RATE_LIMITED,
                      f"För många försök med den här nyckeln; försök igen om {seconds} s. / "
                      f"Too many attempts with this key; try again in {seconds} s.",
                      headers={"Retry-After": str(seconds)})
    try:
        canonical = codes.normalise(body["code"])
    except codes.MalformedCode as exc:
        return refuse(error_codes.INVALID_CODE, str(exc))
    try:
        service_id = await store.redeem(state.db, state.hub.code_key, partner, canonical,
                                        store.today(settings.timezone))
    except (UnknownCode, ExpiredCode, AlreadyRedeemed) as exc:
        await ratelimit.failed(state.broker, partner.id, now, failures_per_hour=settings.redeem_failures_per_hour)
        log.info("referral.redeem_refused", code=exc.code, by=partner.id)
        return refuse(error_codes.lookup(exc.code), exc.detail)
    directory = await state.hub.directory.current()
    service = directory.get(service_id)
    log.info("referral.redeemed", by=partner.id)
    return JSONResponse({"ok": True, "service": {"id": service_id, "name": service.name if service else service_id},
                         "redeemed_on": store.today(settings.timezone).isoformat()})


async def directory_page(_request: Request) -> Response:
    return FileResponse(STATIC / "directory.html")


async def directory_script(_request: Request) -> Response:
    return FileResponse(STATIC / "directory.js", media_type="text/javascript")


async def directory_style(_request: Request) -> Response:
    return FileResponse(STATIC / "directory.css", media_type="text/css")


async def redeem_page(_request: Request) -> Response:
    return FileResponse(STATIC / "redeem.html")


async def redeem_script(_request: Request) -> Response:
    return FileResponse(STATIC / "redeem.js", media_type="text/javascript")


routes = [
    Route("/api/referrals/suggest", suggest, methods=["GET"]),
    Route("/api/referrals/directory", directory_read, methods=["GET"]),
    Route("/api/referrals/directory", directory_replace, methods=["PUT"]),
    Route("/api/referrals/directory/{service_id:str}", directory_put, methods=["PUT"]),
    Route("/api/referrals/directory/{service_id:str}", directory_delete, methods=["DELETE"]),
    Route("/api/referrals/redeem", redeem, methods=["POST"]),
    Route("/referrals/directory", directory_page, methods=["GET"]),
    Route("/referrals/directory.js", directory_script, methods=["GET"]),
    Route("/referrals/directory.css", directory_style, methods=["GET"]),
    Route("/partner/redeem", redeem_page, methods=["GET"]),
    Route("/partner/redeem.js", redeem_script, methods=["GET"]),
]

__all__ = ["routes"]
