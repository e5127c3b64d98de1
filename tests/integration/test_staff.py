"""Issue 22's server side: the second login within one TOTP step says the code must be new (and only
to the one who knows the password), the admins' audit-log viewer (filters, pages, refusals), and
training shown only for the roles that take chats (``/api/admin/accounts`` keeps its values; the CLI
list shows "-")."""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from chat.cli import main as cli_main
from volunteer import manage, totp
from volunteer.audit import audit

from ..conftest import PASSWORD, Running


async def test_a_second_login_in_the_same_step_is_told_the_code_must_be_new(server: Running) -> None:
    await server.add_account("vera")
    code = await server.code("vera")
    async with httpx.AsyncClient(base_url=server.http, headers={"X-Jourchatt-CSRF": "1"}) as c:
        first = await c.post("/api/login", json={"username": "vera", "password": PASSWORD, "otp": code})
        assert first.status_code == 200
        again = await c.post("/api/login", json={"username": "vera", "password": PASSWORD, "otp": code})
        assert again.status_code == 401 and again.json()["error"] == "code_reused"
        assert "ny kod" in again.json()["detail"] and "new code" in again.json()["detail"]
        assert "set-cookie" not in again.headers
        # Without the password the same code says nothing more than any wrong login.
        guess = await c.post("/api/login", json={"username": "vera", "password": "fel lösenord!!", "otp": code})
        assert guess.status_code == 401 and guess.json()["error"] == "invalid_credentials"
        # A code for no step at all stays the plain refusal.
        secret = server.totp_secrets["vera"]
        wrong = totp.code_for_step(secret, totp.step_at(time.time()) + 7)
        r = await c.post("/api/login", json={"username": "vera", "password": PASSWORD, "otp": wrong})
        assert r.json()["error"] == "invalid_credentials"
        # The next step's code works.
        nxt = totp.code_for_step(secret, totp.step_at(time.time()) + 1)
        assert (await c.post("/api/login", json={"username": "vera", "password": PASSWORD, "otp": nxt})).status_code == 200


def test_reused_is_only_for_a_right_code_of_an_accepted_step() -> None:
    secret, now = totp.new_secret(), 1_800_000_000.0
    step = totp.step_at(now)
    code = totp.code_for_step(secret, step)
    assert totp.reused(secret, code, now=now, last_step=step)
    assert totp.reused(secret, totp.code_for_step(secret, step - 1), now=now, last_step=step)
    assert not totp.reused(secret, code, now=now, last_step=step - 1)          # unused: check() accepts it
    assert not totp.reused(secret, code, now=now, last_step=None)
    assert not totp.reused(secret, code, now=now + 120, last_step=step)        # out of the window: just wrong
    assert not totp.reused(secret, "12345x", now=now, last_step=step)
    assert totp.check(secret, code, now=now, last_step=step) is None


async def test_the_audit_log_viewer_filters_by_account_and_action_and_pages(server: Running) -> None:
    admin = await server.client("root", role="admin", trained=False)
    coord = await server.client("cora", role="coordinator", trained=False)
    db = server.app.state.db
    root_id, cora_id = await manage.account_id(db, "root"), await manage.account_id(db, "cora")
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    for i in range(7):
        await audit(db, actor=cora_id, action="stats.export", subject="2026-07-01/2026-12-31",
                    now=start + timedelta(minutes=i))
    await audit(db, actor=root_id, action="account.role", subject=cora_id, now=start + timedelta(hours=1))
    async with admin:
        r = await admin.get("/api/admin/audit", params={"limit": "3"})
        assert r.status_code == 200
        page = r.json()
        assert [e["id"] for e in page["entries"]] == sorted((e["id"] for e in page["entries"]), reverse=True)
        assert page["entries"][0]["action"] == "account.role"
        assert page["entries"][0]["actor"] == "root" and page["entries"][0]["subject_account"] == "cora"
        assert "stats.export" in page["actions"] and page["next_before"] is not None
        # Filter by account and action, then page to the end.
        seen: list[int] = []
        before = None
        while True:
            params = {"account": "cora", "action": "stats.export", "limit": "3"}
            if before:
                params["before"] = str(before)
            body = (await admin.get("/api/admin/audit", params=params)).json()
            assert all(e["actor"] == "cora" and e["action"] == "stats.export" for e in body["entries"])
            assert all(e["subject_account"] is None for e in body["entries"])
            seen += [e["id"] for e in body["entries"]]
            before = body["next_before"]
            if before is None:
                break
        assert len(seen) == 7 and len(set(seen)) == 7
        for params, field in (({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"before": "-1"}, "before"),
                              ({"action": "chat.read"}, "action"), ({"sort": "id"}, "sort")):
            r = await admin.get("/api/admin/audit", params=params)
            assert r.status_code == 400 and r.json()["error"] == "invalid_field" and field in r.json()["detail"]
        r = await admin.get("/api/admin/audit", params={"account": "nobody"})
        assert r.status_code == 404 and r.json()["error"] == "unknown_account"
    async with coord:
        assert (await coord.get("/api/admin/audit")).status_code == 403
    async with httpx.AsyncClient(base_url=server.http) as anon:
        assert (await anon.get("/api/admin/audit")).status_code == 401


def test_volunteer_list_shows_training_only_for_the_chat_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for key in [k for k in __import__("os").environ if k.startswith("JOURCHATT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("JOURCHATT_LOG_LEVEL", "warning")
    for name, role in (("vera", "volunteer"), ("cora", "coordinator"), ("adam", "admin")):
        monkeypatch.setattr("sys.stdin", io.StringIO("ett långt lösenord\n"))
        assert cli_main(["volunteer", "add", name, "--display-name", name.title(), "--role", role,
                         "--password-stdin"]) == 0
    capsys.readouterr()
    assert cli_main(["volunteer", "list"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["vera"][3] == "missing"
    assert rows["cora"][3] == "-" and rows["adam"][3] == "-"


async def test_the_statistics_pages_speak_one_language_and_the_report_is_an_audited_public_export(
        server: Running) -> None:
    from referral.stats import dashboard
    from volunteer.audit import entries

    coord = await server.client("cora", role="coordinator", trained=False)
    vol = await server.client("vera")
    async with coord, vol, httpx.AsyncClient(base_url=server.http) as anon:
        r = await coord.get("/stats")
        assert r.status_code == 200 and 'lang="sv"' in r.text and "Statistik för partnerskapen" in r.text
        assert f'<option value="{dashboard.default_preset()}" selected>' in r.text
        assert "Inga samtal är registrerade i perioden" in r.text        # a fresh server: says why
        assert " / English" not in r.text and "svenska / English" not in r.text
        r = await coord.get("/stats", headers={"Cookie": coord.headers["Cookie"] + "; jourchatt_lang=en"})
        assert 'lang="en"' in r.text and "Partnership statistics" in r.text and "Statistik för" not in r.text
        r = await coord.get("/stats", params={"lang": "xx"})
        assert r.status_code == 400 and "lang must be one of sv, en" in r.text
        r = await coord.get("/stats/report", params={"preset": "2025H1"})
        assert r.status_code == 200 and "Halvårsrapport" in r.text and "/static/report.css" in r.text
        assert "1 januari 2025 – 30 juni 2025" in r.text
        r = await coord.get("/stats/report", params={"preset": "2025H1", "publish": "false", "method": "cellkey"})
        assert r.status_code == 200 and "visas som" in r.text                # always the suppressed figures
        assert (await coord.get("/stats/report", params={"preset": "2025X"})).status_code == 400
        r = await anon.get("/stats/report")
        # Signed out: the way to sign in, and back to this page afterwards.
        assert r.status_code == 401 and 'href="/login?next=%2Fstats%2Freport"' in r.text
        r = await vol.get("/stats/report")
        assert r.status_code == 403 and "Bara samordnare" in r.text
    audit = [(a.action, a.subject) for a in await entries(server.app.state.db)]
    assert audit.count(("stats.export", "2025-01-01/2025-06-30")) == 2
