"""Sign-in with a second factor, enrolment, throttling, the admin API and the CLI, over real HTTP."""

from __future__ import annotations

import base64
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from chat import endpoints
from chat.cli import main as cli_main
from volunteer import manage, totp
from volunteer.audit import entries

from ..conftest import CLIENT_OPTIONS, PASSWORD, Running

CSRF = {"X-Jourchatt-CSRF": "1"}


async def _socket_refusal(server: Running, cookie: str) -> tuple[str, int | None]:
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer",
                                  additional_headers={"Cookie": cookie}, **CLIENT_OPTIONS)
    frame = json.loads(await ws.recv())
    with pytest.raises(websockets.ConnectionClosed) as info:
        await ws.recv()
    return frame.get("code", frame["type"]), info.value.rcvd.code if info.value.rcvd else None


def _secret(setup: dict[str, Any]) -> bytes:
    b32 = setup["secret"]
    return base64.b32decode(b32 + "=" * (-len(b32) % 8))


async def test_first_login_enrols_the_second_factor_and_codes_are_never_reused(server: Running) -> None:
    await server.add_account("anna", totp=False)
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD})
        assert r.status_code == 200
        assert r.json()["second_factor"] == "enroll" and r.json()["password_change"] is False
        cookie = r.headers["set-cookie"].split(";")[0]
        # A restricted session: /api/me answers, nothing else treats it as signed in.
        assert (await c.get("/api/me")).json()["second_factor"] == "enroll"
        assert (await c.get("/api/admin/accounts")).status_code == 401
        assert await _socket_refusal(server, cookie) == ("second_factor_required", 4401)
        assert (await c.post("/api/totp/confirm", headers=CSRF, json={"otp": "123456"})).status_code == 400
        setup = (await c.post("/api/totp/setup", headers=CSRF)).json()
        assert setup["otpauth_uri"].startswith("otpauth://totp/jourchatt:anna?")
        assert "issuer=jourchatt" in setup["otpauth_uri"] and setup["qr_svg"].startswith("<svg")
        secret = _secret(setup)
        wrong = totp.code_for_step(secret, totp.step_at(time.time()) + 5)
        r = await c.post("/api/totp/confirm", headers=CSRF, json={"otp": wrong})
        assert r.status_code == 400 and r.json()["error"] == "invalid_code"
        used = totp.code_at(secret, time.time())
        r = await c.post("/api/totp/confirm", headers=CSRF, json={"otp": used})
        assert r.status_code == 200 and r.json()["second_factor"] == "enabled"
        # A new session token carries the full session; the restricted one has ended (no fixation).
        restricted, cookie = cookie, r.headers["set-cookie"].split(";")[0]
        assert cookie != restricted and "HttpOnly" in r.headers["set-cookie"]
        async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": restricted}) as old:
            assert (await old.get("/api/me")).status_code == 401
        ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer",
                                      additional_headers={"Cookie": cookie}, **CLIENT_OPTIONS)
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.close()
        r = await c.post("/api/totp/setup", headers=CSRF)
        assert r.status_code == 409 and r.json()["error"] == "already_enrolled"
        assert (await c.post("/api/logout", headers=CSRF)).status_code == 200
        # Now the password alone and a wrong code are refused alike; the code already used is
        # refused too, saying so (the password was right: issue 22's "the code must be a new one").
        for body in ({}, {"otp": wrong}, {"otp": 123456}):
            r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, **body})
            assert r.status_code == 401 and r.json()["error"] == "invalid_credentials", body
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": used})
        assert r.status_code == 401 and r.json()["error"] == "code_reused" and "set-cookie" not in r.headers
        fresh = totp.code_for_step(secret, totp.step_at(time.time()) + 1)
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD, "otp": fresh})
        assert r.status_code == 200 and r.json()["second_factor"] == "enabled"
    # The secret is stored sealed, never as itself.
    async with server.app.state.db() as s:
        from volunteer.models import Account
        from sqlalchemy import select
        row = await s.scalar(select(Account).where(Account.username == "anna"))
    assert row.totp_secret and totp.base32(secret) not in row.totp_secret
    assert row.totp_pending is None


async def test_throttling_per_account_name_looks_the_same_for_unknown_names(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Running = await server_factory(login_max_failures=3, login_address_max_failures=100)
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        answers = {}
        for name in ("anna", "nobody"):
            for _ in range(3):
                r = await c.post("/api/login", json={"username": name, "password": "wrong password"})
                assert r.status_code == 401
            r = await c.post("/api/login", json={"username": name, "password": PASSWORD,
                                                 "otp": await server.code("anna")})
            assert r.status_code == 429 and r.json()["error"] == "too_many_attempts"
            assert 55 <= int(r.headers["retry-after"]) <= 60
            answers[name] = (r.status_code, r.json()["error"], r.headers["retry-after"])
        assert answers["anna"] == answers["nobody"]
        # Another account is not affected.
        await server.add_account("bo")
        assert (await c.post("/api/login", json={"username": "bo", "password": PASSWORD,
                                                 "otp": await server.code("bo")})).status_code == 200


async def test_throttling_per_address(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Running = await server_factory(login_max_failures=100, login_address_max_failures=4)
    await server.add_account("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        for i in range(4):
            r = await c.post("/api/login", json={"username": f"guess{i}", "password": "wrong password"})
            assert r.status_code == 401
        r = await c.post("/api/login", json={"username": "anna", "password": PASSWORD,
                                             "otp": await server.code("anna")})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


async def _admin_client(server: Running) -> httpx.AsyncClient:
    return await server.client("root", role="admin", trained=False)


async def test_admin_creates_resets_disables_and_records_training(server: Running) -> None:
    admin = await _admin_client(server)
    async with admin, httpx.AsyncClient(base_url=server.http) as c:
        r = await admin.post("/api/admin/accounts", json={"username": "Ny.Volontar", "display_name": "Ny",
                                                          "role": "volunteer", "languages": ["sv", "en"]})
        assert r.status_code == 201, r.text
        created, temporary = r.json()["account"], r.json()["temporary_password"]
        assert created["username"] == "ny.volontar" and created["training"] == "missing"
        assert created["second_factor"] == "enroll" and created["password_change"] is True
        assert (await admin.post("/api/admin/accounts", json={"username": "ny.volontar", "display_name": "X"})
                ).json()["error"] == "username_taken"
        # First login with the temporary password: a new password first.
        r = await c.post("/api/login", json={"username": "ny.volontar", "password": temporary})
        assert r.status_code == 200 and r.json()["password_change"] is True
        for bad in ("short", "ny.volontar", temporary):
            r = await c.post("/api/password", headers=CSRF, json={"new_password": bad})
            assert r.status_code == 400 and r.json()["error"] == "weak_password", bad
        before = c.cookies["jourchatt_session"]
        r = await c.post("/api/password", headers=CSRF, json={"new_password": "ett nytt långt lösenord"})
        assert r.status_code == 200 and r.json()["password_change"] is False
        assert c.cookies["jourchatt_session"] != before          # a new session token after the change
        async with httpx.AsyncClient(base_url=server.http, cookies={"jourchatt_session": before}) as old:
            assert (await old.get("/api/me")).status_code == 401
        setup = (await c.post("/api/totp/setup", headers=CSRF)).json()
        secret = _secret(setup)
        r = await c.post("/api/totp/confirm", headers=CSRF, json={"otp": totp.code_at(secret, time.time())})
        assert r.json()["second_factor"] == "enabled" and r.json()["may_take_chats"] is False
        r = await c.post("/api/password", headers=CSRF, json={"new_password": "ännu ett långt lösenord"})
        assert r.status_code == 409
        # Training: a basic course; then an expired refresher takes chats away again.
        today = date.today()
        r = await admin.post("/api/admin/accounts/ny.volontar/training",
                             json={"kind": "basic", "completed": today.isoformat()})
        assert r.status_code == 200 and r.json()["account"]["training"] == "valid"
        assert (await c.get("/api/me")).json()["may_take_chats"] is True
        r = await admin.post("/api/admin/accounts/ny.volontar/training",
                             json={"kind": "refresher", "completed": today.isoformat()})
        assert r.json()["expires"] == manage.add_months(today, 12).isoformat()
        r = await admin.post("/api/admin/accounts/ny.volontar/training",
                             json={"kind": "refresher", "completed": "2026-02-30"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_field"
        # Reset: every session ends; the temporary password and a new factor are needed.
        r = await admin.post("/api/admin/accounts/ny.volontar/reset")
        assert r.status_code == 200 and len(r.json()["temporary_password"]) >= 12
        assert (await c.get("/api/me")).status_code == 401
        r = await c.post("/api/login", headers=CSRF,
                         json={"username": "ny.volontar", "password": r.json()["temporary_password"]})
        assert r.json()["second_factor"] == "enroll" and r.json()["password_change"] is True
        # Disable: the account's session ends and it cannot sign in.
        assert (await admin.post("/api/admin/accounts/ny.volontar/disable")).json()["account"]["disabled"]
        assert (await c.get("/api/me")).status_code == 401
        assert (await admin.post("/api/admin/accounts/ny.volontar/enable")).status_code == 200
        r = await admin.post("/api/admin/accounts/ny.volontar/role", json={"role": "supervisor"})
        assert r.json()["account"]["role"] == "supervisor"
        # An admin cannot lock themselves out; unknown accounts and actions are clear errors.
        assert (await admin.post("/api/admin/accounts/root/disable")).json()["error"] == "own_account"
        assert (await admin.post("/api/admin/accounts/nobody/reset")).json()["error"] == "unknown_account"
        assert (await admin.post("/api/admin/accounts/ny.volontar/explode")).status_code == 404
        listed = (await admin.get("/api/admin/accounts")).json()["accounts"]
        assert [a["username"] for a in listed] == ["ny.volontar", "root"]
    actions = [e.action for e in await entries(server.app.state.db)]
    assert sorted(set(actions)) == ["account.create", "account.disable", "account.enable", "account.reset",
                                    "account.role", "training.record"]


async def test_admin_api_is_for_admins_only(server: Running) -> None:
    await server.add_account("anna", role="supervisor")
    cookie = await server.login("anna")
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/api/admin/accounts")
        assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
        r = await c.get("/api/admin/accounts", headers={"Cookie": cookie})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        r = await c.post("/api/admin/accounts/anna/reset", headers={**CSRF, "Cookie": cookie})
        assert r.status_code == 403


async def test_an_open_console_closes_when_its_session_ends(server: Running,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(endpoints, "SESSION_CHECK_S", 0.1)
    await server.add_account("anna")
    ws = await server.volunteer("anna", available=False)
    await ws.nothing(0.3)                                    # the session is fine: nothing happens
    await manage.reset(server.app.state.db, "anna")          # as the CLI or another node would
    frame = await ws.expect("error")
    assert frame["code"] == "session_expired"
    assert await ws.closed() == 4401


def test_cli_list_disable_enable_reset_and_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("JOURCHATT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("JOURCHATT_LOG_LEVEL", "warning")
    monkeypatch.setattr("sys.stdin", io.StringIO("ett långt lösenord\n"))
    assert cli_main(["volunteer", "add", "anna", "--display-name", "Anna", "--password-stdin"]) == 0
    assert cli_main(["volunteer", "training", "add", "anna", "--kind", "basic",
                     "--completed", (date.today() - timedelta(days=400)).isoformat()]) == 0
    assert cli_main(["volunteer", "training", "add", "anna", "--kind", "refresher",
                     "--completed", (date.today() - timedelta(days=370)).isoformat()]) == 0
    capsys.readouterr()
    assert cli_main(["volunteer", "list"]) == 0
    listed = capsys.readouterr().out
    assert "anna" in listed and "expired" in listed and "enroll" in listed
    assert cli_main(["volunteer", "disable", "anna"]) == 0
    assert cli_main(["volunteer", "enable", "anna"]) == 0
    capsys.readouterr()
    assert cli_main(["volunteer", "reset", "anna"]) == 0
    out = capsys.readouterr().out
    temporary = out.split("shown once): ")[1].split()[0]
    assert len(temporary) >= 12
    assert cli_main(["volunteer", "reset", "nobody"]) == 1
    assert "no account" in capsys.readouterr().err
    assert cli_main(["volunteer", "list"]) == 0
    assert "reset" in capsys.readouterr().out
    var = tmp_path / "var"
    assert temporary.encode() not in b"".join(p.read_bytes() for p in var.rglob("*") if p.is_file())


async def test_a_restricted_session_lasts_at_most_half_an_hour(server: Running) -> None:
    from datetime import datetime, timezone

    from volunteer import sessions

    await server.add_account("anna", totp=False)
    db, s = server.app.state.db, server.settings
    token = await sessions.start(db, await manage.account_id(db, "anna"))
    now = datetime.now(timezone.utc)
    for minutes in (1, 20, 29):      # in use, so the idle limit does not end it first
        profile = await sessions.lookup(db, token, idle_s=s.session_idle_s, max_s=s.session_max_s,
                                        now=now + timedelta(minutes=minutes))
        assert profile is not None and profile.restricted
    assert await sessions.lookup(db, token, idle_s=s.session_idle_s, max_s=s.session_max_s,
                                 now=now + timedelta(minutes=31)) is None
    # A full session is not cut short.
    await server.add_account("bo")
    token = await sessions.start(db, await manage.account_id(db, "bo"))
    assert await sessions.lookup(db, token, idle_s=s.session_idle_s, max_s=s.session_max_s,
                                 now=now + timedelta(minutes=31)) is not None
