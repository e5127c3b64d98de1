"""HTTP: health, sign-in, sessions and cookies, clear 4xx answers."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from chat import tasks as tasks_module

from ..conftest import CLIENT_OPTIONS, PASSWORD, Running

CSRF = {"X-Jourchatt-CSRF": "1"}


async def test_healthz_and_readyz(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        r = await c.get("/readyz")
        assert r.status_code == 200
        assert r.json()["checks"] == {"database": "ok", "broker": "ok", "hub": "ok"}


async def test_readyz_fails_loudly_when_a_background_task_died(server: Running,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks_module, "RESTART_FIRST_S", 60.0)      # not restarted during the test
    for task in asyncio.all_tasks():
        if task.get_name() == "hub.housekeeping":
            task.cancel()
    await asyncio.sleep(0.05)
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["hub"] == "background task stopped: hub.housekeeping"


async def test_login_me_logout_and_the_session_really_ends(server: Running) -> None:
    await server.add_account("anna", display_name="Anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert cookie.startswith("jourchatt_session=")       # localhost: no __Host- / Secure
        me = (await c.get("/api/me")).json()
        assert me == {"username": "anna", "display_name": "Anna", "roles": ["volunteer"],
                      "may_take_chats": True, "languages": ["sv"], "capacity": 1,
                      "second_factor": "enabled", "password_change": False}
        stolen = c.cookies["jourchatt_session"]
        refused = await c.post("/api/logout")           # a cookie-authed change without the header
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_required"
        assert (await c.get("/api/me")).status_code == 200      # ... changed nothing
        assert (await c.post("/api/logout", headers=CSRF)).status_code == 200
    async with httpx.AsyncClient(base_url=server.http, cookies={"jourchatt_session": stolen}) as c2:
        r = await c2.get("/api/me")
        assert r.status_code == 401 and r.json()["error"] == "not_authenticated"


async def test_cross_site_changes_are_refused(server: Running) -> None:
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")},
                         headers={"Origin": "https://evil.example"})
        assert r.status_code == 403 and r.json()["error"] == "cross_origin"
        assert "set-cookie" not in r.headers
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")},
                         headers={"Origin": "null"})
        assert r.status_code == 403
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")},
                         headers={"Origin": server.http})
        assert r.status_code == 200
        r = await c.post("/api/logout", headers={**CSRF, "Origin": "https://evil.example"})
        assert r.status_code == 403 and (await c.get("/api/me")).status_code == 200


async def test_cookie_is_host_prefixed_and_secure_off_localhost(server: Running) -> None:
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http, headers={"Host": "chat.example.org"}) as c:
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-jourchatt=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie and "Domain" not in cookie


@pytest.mark.parametrize("body", [
    {"username": "anna", "password": "wrong password!"},
    {"username": "nobody", "password": PASSWORD},
    {"username": "anna"},
    {"username": 5, "password": PASSWORD},
])
async def test_login_failures_all_look_the_same(server: Running, body: dict) -> None:  # type: ignore[type-arg]
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", json=body)
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_credentials"
    assert "set-cookie" not in r.headers


async def test_disabled_account_cannot_sign_in(server: Running) -> None:
    from sqlalchemy import update

    from volunteer.models import Account

    await server.add_account("anna")
    async with server.app.state.db() as s, s.begin():
        await s.execute(update(Account).values(disabled=True))
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")})
    assert r.status_code == 401


async def test_a_new_login_ends_the_old_session(server: Running) -> None:
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")})
        first = c.cookies["jourchatt_session"]
        await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": await server.code("anna")}, headers=CSRF)
        assert c.cookies["jourchatt_session"] != first
    async with httpx.AsyncClient(base_url=server.http, cookies={"jourchatt_session": first}) as c2:
        assert (await c2.get("/api/me")).status_code == 401


@pytest.mark.parametrize("content, ctype, status, code", [
    (b"{not json", "application/json", 400, "invalid_body"),
    (b'{"username": "a", "password": "b"}', "text/plain", 400, "invalid_body"),
    (b"[1, 2]", "application/json", 400, "invalid_body"),
    (b"[" * 5000 + b"]" * 5000, "application/json", 413, "body_too_large"),
    (b'{"username": "' + b"a" * 9000 + b'"}', "application/json", 413, "body_too_large"),
])
async def test_bad_login_bodies_get_a_clear_4xx(server: Running, content: bytes, ctype: str,
                                                status: int, code: str) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", content=content, headers={"content-type": ctype})
    assert r.status_code == status
    assert r.json()["error"] == code and r.json()["detail"]


async def test_unknown_route_and_wrong_method_are_json_4xx(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/api/nothing-here")
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        r = await c.get("/api/login")
        assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


async def test_security_headers_on_every_page(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/")
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_volunteer_socket_requires_a_session(server: Running) -> None:
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer", **CLIENT_OPTIONS)
    import json
    frame = json.loads(await ws.recv())
    assert frame == {"type": "error", "code": "not_authenticated", "detail": frame["detail"]}
    with pytest.raises(websockets.ConnectionClosed) as info:
        await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4401


async def test_untrained_account_may_not_take_chats(server: Running) -> None:
    await server.add_account("ny", trained=False)
    cookie = await server.login("ny")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as c:
        assert (await c.get("/api/me")).json()["may_take_chats"] is False
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer",
                                  additional_headers={"Cookie": cookie}, **CLIENT_OPTIONS)
    import json
    assert json.loads(await ws.recv())["code"] == "not_allowed"
    with pytest.raises(websockets.ConnectionClosed) as info:
        await ws.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 4403


async def test_coordinator_may_not_take_chats(server: Running) -> None:
    await server.add_account("kim", role="coordinator")
    cookie = await server.login("kim")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as c:
        me = (await c.get("/api/me")).json()
    assert me["roles"] == ["coordinator"] and me["may_take_chats"] is False


async def test_expired_training_means_no_chats(server: Running) -> None:
    from datetime import date, timedelta

    from sqlalchemy import update

    from volunteer.models import Training

    await server.add_account("anna")
    async with server.app.state.db() as s, s.begin():
        await s.execute(update(Training).values(expires_on=date.today() - timedelta(days=1)))
    cookie = await server.login("anna")
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": cookie}) as c:
        assert (await c.get("/api/me")).json()["may_take_chats"] is False


@pytest.mark.parametrize("path", ["/ws/visitor", "/ws/volunteer"])
async def test_foreign_origin_is_refused_at_the_handshake(server: Running, path: str) -> None:
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(f"ws://127.0.0.1:{server.port}{path}",
                                 additional_headers={"Origin": "https://evil.example"})
    assert info.value.response.status_code == 403


async def test_own_and_configured_origins_may_connect(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(allowed_origins="https://ungarelationer.se")
    own = await server.visitor({"lang": "sv"}, origin=f"http://127.0.0.1:{server.port}")
    await own.expect("welcome")
    site = await server.visitor({"lang": "sv"}, origin="https://ungarelationer.se")
    await site.expect("welcome")


async def test_audit_log_takes_only_known_actions_and_id_subjects(server: Running) -> None:
    from volunteer.audit import audit, entries

    await audit(server.app.state.db, actor="acc1", action="chat.join", subject="k3Jf-abc_1")
    with pytest.raises(ValueError):
        await audit(server.app.state.db, actor="acc1", action="chat.read_everything")
    with pytest.raises(ValueError):
        await audit(server.app.state.db, actor="acc1", action="chat.join", subject="hej jag heter Anna")
    [row] = await entries(server.app.state.db)
    assert (row.actor, row.action, row.subject) == ("acc1", "chat.join", "k3Jf-abc_1")


@pytest.mark.parametrize("content", [
    b'{"username": "\\u0000anna", "password": "x"}',       # PostgreSQL refuses NUL in text (a 500 before)
    b'{"username": "\\ud800", "password": "x"}',            # an unpaired surrogate cannot be stored as UTF-8
    b'{"username": "anna", "password": "x", "otp": {"\\u0000": 1}}',
])
async def test_nul_and_unpaired_surrogates_in_a_body_get_a_clear_400(server: Running, content: bytes) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_body", r.text
    assert "NUL" in r.json()["detail"] or "surrogate" in r.json()["detail"]


@pytest.mark.parametrize("url", ["/api/stats?partnership=a%00b", "/api/admin/accounts/a%00/reset", "/static/a%00.js"])
async def test_a_nul_in_the_url_gets_a_clear_400(server: Running, url: str) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.request("POST" if url.endswith("reset") else "GET", url)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert r.headers["content-security-policy"] and r.headers["cache-control"] == "no-store"
