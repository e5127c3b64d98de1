"""Opening hours through the real server: the HTTP API, the closed path, chats after closing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import select

from referral.record import ChatRecord
from tests.conftest import Running
from volunteer import hours_store
from volunteer.hours import parse


def closed_schedule() -> dict[str, Any]:
    """Closed whenever the tests run: open one minute, three days from now."""
    soon = datetime.now(timezone.utc) + timedelta(days=3)
    return {"weekly": {}, "exceptions": [
        {"date": soon.date().isoformat(), "hours": ["12:00-12:01"], "label": "Öppet hus"}]}


async def signed_in(server: Running, username: str, role: str) -> httpx.AsyncClient:
    return await server.client(username, role=role)


async def test_no_schedule_means_always_open_and_a_chat_starts(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        r = await client.get("/api/opening-hours")
    assert r.status_code == 200
    body = r.json()
    assert [s["id"] for s in body.pop("services")][0] == "emergency-112"   # 112 first
    assert body == {"open": True, "next_open": None, "timezone": "Europe/Stockholm",
                    "configured": False, "today": None, "weekly": None, "exceptions": [],
                    "languages": ["sv", "en", "ar", "fa", "so", "ti", "uk"],   # JOURCHATT_LANGUAGES, for the widget
                    "on_duty": False}                                          # nobody signed in yet
    assert r.headers["cache-control"] == "no-store"
    vis = await server.visitor({"lang": "sv"})
    assert (await vis.recv())["open"] is True


async def test_while_open_the_hours_say_whether_anyone_is_on_duty(server: Running) -> None:
    """``on_duty``: false with nobody signed in or only a paused volunteer, true once one is
    available (within the second the node's count may be old), null while closed."""
    async def on_duty() -> Any:
        async with httpx.AsyncClient(base_url=server.http) as client:
            return (await client.get("/api/opening-hours")).json()["on_duty"]

    assert await on_duty() is False
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna", available=False)
    await asyncio.sleep(1.1)
    assert await on_duty() is False                 # paused: takes no chats
    await vol.send({"type": "status", "state": "available"})
    await vol.expect("status")
    await asyncio.sleep(1.1)
    assert await on_duty() is True
    await hours_store.save(server.app.state.db, parse(closed_schedule()))
    await server.hub.hours.refresh()
    assert await on_duty() is None                  # closed: the widget says so, not who is there
    await vol.close()


async def test_put_needs_a_supervisor_or_admin(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as anon:
        r = await anon.put("/api/opening-hours", json=closed_schedule())
        assert r.status_code == 401 and r.json()["error"] == "not_authenticated"
    async with await signed_in(server, "vera", "volunteer") as vol:
        r = await vol.put("/api/opening-hours", json=closed_schedule())
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        r = await vol.delete("/api/opening-hours")
        assert r.status_code == 403
    async with await signed_in(server, "sara", "supervisor") as sup:
        r = await sup.put("/api/opening-hours", json=closed_schedule())
        assert r.status_code == 200, r.text
        assert r.json()["open"] is False and r.json()["configured"] is True


async def test_bad_schedules_get_400_naming_the_field(server: Running) -> None:
    async with await signed_in(server, "ada", "admin") as admin:
        r = await admin.put("/api/opening-hours", json={"weekly": {"mon": ["18:00-22:00", "25:00-26:00"]}})
        assert r.status_code == 400
        assert r.json()["error"] == "invalid_hours" and r.json()["field"] == "weekly.mon[1]"
        assert "weekly.mon[1]" in r.json()["detail"]
        r = await admin.put("/api/opening-hours", content=b"{", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_body"
        r = await admin.put("/api/opening-hours", content=b"x" * 70000,
                            headers={"content-type": "application/json"})
        assert r.status_code == 413
    async with httpx.AsyncClient(base_url=server.http) as client:
        assert (await client.get("/api/opening-hours")).json()["configured"] is False   # nothing lost


async def test_closed_visitor_gets_closed_out_of_hours_and_a_record(server: Running) -> None:
    async with await signed_in(server, "sara", "supervisor") as sup:
        r = await sup.put("/api/opening-hours", json=closed_schedule())
        next_open = r.json()["next_open"]
    vis = await server.visitor({"lang": "en", "channel": "web"})
    assert await vis.recv() == {"type": "welcome", "resume_token": None, "open": False}
    closed = await vis.recv()
    assert closed["type"] == "closed" and closed["reason"] == "out_of_hours"
    assert closed["next_open"] == next_open
    assert datetime.fromisoformat(closed["next_open"]).utcoffset() is not None
    assert [s["id"] for s in closed["services"]][0] == "emergency-112"   # 112 first
    assert closed["text"].startswith("The chat is closed right now. It opens again on ")
    assert await vis.closed() == 1000
    for _ in range(100):
        async with server.app.state.db() as session:
            rows = (await session.scalars(select(ChatRecord))).all()
        if rows:
            break
        await asyncio.sleep(0.05)
    assert [(r.outcome, r.lang) for r in rows] == [("closed", "en")]


async def test_running_and_queued_chats_go_on_after_closing_time(server: Running) -> None:
    await server.add_account("anna")
    vol = await server.volunteer("anna")
    first = await server.visitor({"lang": "sv"})
    token = (await first.expect("welcome"))["resume_token"]
    assigned = await vol.expect("assigned")
    second = await server.visitor({"lang": "sv"})
    await second.expect("queued")

    await hours_store.save(server.app.state.db, parse(closed_schedule()))
    await server.hub.hours.refresh()

    await vol.send({"type": "message", "chat": assigned["chat"], "id": "v1", "text": "hej"})
    assert (await first.line("volunteer"))["text"] == "hej"
    await first.close()
    again = await server.visitor({"resume": token, "last_seq": 1})
    assert (await again.expect("welcome"))["resumed"] is True
    await vol.send({"type": "end", "chat": assigned["chat"]})
    await vol.send({"type": "wrapup", "chat": assigned["chat"], "report": {"topic": "other"}})
    assert (await second.expect("assigned"))["volunteer"] == "Anna"      # the queue is still served
    newcomer = await server.visitor({"lang": "sv"})
    assert (await newcomer.recv())["open"] is False


async def test_get_answers_cors_only_for_allowed_origins(server_factory: Any) -> None:
    server = await server_factory(allowed_origins="https://stiftelsen.example")
    async with httpx.AsyncClient(base_url=server.http) as client:
        ok = await client.get("/api/opening-hours", headers={"Origin": "https://stiftelsen.example"})
        assert ok.headers["access-control-allow-origin"] == "https://stiftelsen.example"
        bad = await client.get("/api/opening-hours", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in bad.headers
        # DELETE restores "always open"
    async with await signed_in(server, "ada", "admin") as admin:
        await admin.put("/api/opening-hours", json=closed_schedule())
        r = await admin.delete("/api/opening-hours")
        assert r.status_code == 200 and r.json()["open"] is True and r.json()["configured"] is False


def test_cli_hours_set_show_and_a_clear_error(tmp_path: Any, monkeypatch: Any, capsys: Any) -> None:
    import os

    from chat.cli import main

    for name in [n for n in os.environ if n.startswith("JOURCHATT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOURCHATT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("JOURCHATT_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'j.sqlite3'}")
    good, bad = tmp_path / "h.json", tmp_path / "bad.json"
    good.write_text('{"weekly": {"mon": ["18:00-22:00"]}, '
                    '"exceptions": [{"date": "2026-12-24", "hours": [], "label": "Julafton"}]}')
    bad.write_text('{"weekly": {"mon": ["18:00-22:00", "21:00-23:00"]}}')
    assert main(["hours", "set", str(good)]) == 0
    assert main(["hours", "show"]) == 0
    shown = capsys.readouterr().out.split("\n}\n")[1]
    assert '"mon": [\n      "18:00-22:00"\n    ]' in shown and '"label": "Julafton"' in shown
    assert main(["hours", "set", str(bad)]) == 1
    assert "weekly.mon[1]: 21:00-23:00 overlaps 18:00-22:00" in capsys.readouterr().err
    assert main(["hours", "clear"]) == 0
    assert '"configured": false' in capsys.readouterr().out
