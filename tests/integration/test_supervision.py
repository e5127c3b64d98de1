"""Supervisors on the volunteer socket: overview, observe, whisper, join, take over,
transfer, escalate, block; access control and privacy. Both pairs (SQLite+memory,
PostgreSQL+Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import websockets
from sqlalchemy import select

from volunteer.audit import AuditEntry

from ..conftest import CLIENT_OPTIONS, WS, Running


async def open_chat(server: Running, intake: dict[str, Any] | None = None) -> tuple[WS, WS, str]:
    await server.add_account("anna", display_name="Anna", capacity=1)
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    if intake:
        await vis.send({"type": "intake", **intake})
    chat = (await vol.expect("assigned"))["chat"]
    await vis.expect("assigned")
    return vol, vis, chat


async def supervisor(server: Running, name: str = "sara", available: bool = False) -> WS:
    await server.add_account(name, role="supervisor", display_name=name.capitalize())
    return await server.volunteer(name, available=available)


async def audit_actions(server: Running) -> list[tuple[str, str]]:
    async with server.app.state.db() as session:
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [(r.action, r.subject) for r in rows]


async def audited(server: Running, action: str, subject: str) -> bool:
    """The audit row is written right after the act: give it a moment."""
    for _ in range(40):
        if (action, subject) in await audit_actions(server):
            return True
        await asyncio.sleep(0.05)
    return False


async def drain(ws: WS, timeout: float = 0.5) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    try:
        while True:
            frames.append(await ws.recv(timeout))
    except asyncio.TimeoutError:
        return frames


async def test_overview_shows_the_shift_without_any_text(server: Running) -> None:
    vol, vis, chat = await open_chat(server, {"age": 15})
    await vis.send({"type": "message", "id": 1, "text": "MARKER-overview-secret"})
    await vol.expect("message")
    waiting = await server.visitor({"lang": "en"})
    await waiting.expect("queued")
    sup = await supervisor(server)
    await sup.send({"type": "supervise", "active": True})
    ov = await sup.expect("overview")
    assert ov["queue"]["waiting"] == 1 and ov["queue"]["longest_wait_s"] >= 0
    active = [c for c in ov["chats"] if c["state"] == "active"]
    assert [(c["chat"], c["volunteer"], c["lang"]) for c in active] == [(chat, "Anna", "sv")]
    assert any(c["state"] == "queued" and c["lang"] == "en" for c in ov["chats"])
    anna = next(v for v in ov["volunteers"] if v["display_name"] == "Anna")
    assert (anna["state"], anna["load"], anna["capacity"]) == ("available", 1, 1)
    assert "MARKER" not in str(ov) and "15" not in str([c.get("intake") for c in ov["chats"]])
    # It keeps coming while active.
    assert (await sup.expect("overview", timeout=3))["type"] == "overview"
    await sup.send({"type": "supervise", "active": False})


async def test_plain_volunteer_may_not_send_supervisor_frames(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    for frame in ({"type": "supervise", "active": True}, {"type": "observe", "chat": chat, "active": True},
                  {"type": "whisper", "chat": chat, "id": 1, "text": "x"}, {"type": "join", "chat": chat},
                  {"type": "takeover", "chat": chat}, {"type": "block", "chat": chat, "hours": 24},
                  {"type": "dismiss", "alert": "0123456789ab"}):
        await vol.send(frame)
        err = await vol.expect("error")
        assert err["code"] == "supervisor_only", frame
    await vis.none_of("message")


async def test_observe_is_silent_for_the_visitor_and_whispers_reach_only_the_volunteer(server: Running) -> None:
    vol, vis, chat = await open_chat(server, {"age": 16})
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    await vol.line("visitor")
    sup = await supervisor(server)
    await sup.send({"type": "observe", "chat": chat, "active": True})
    obs = await sup.expect("observing")
    assert obs["active"] is True and obs["intake"]["age"] == 16 and obs["volunteer"] == "Anna"
    history = await sup.expect("message")
    assert (history["seq"], history["from"], history["text"]) == (1, "visitor", "hej")
    observed = await vol.expect("observed")
    assert observed == {"type": "observed", "chat": chat, "supervisors": ["Sara"], "trainees": []}

    # Live lines from both sides reach the observer.
    await vol.send({"type": "message", "chat": chat, "id": 5, "text": "Hej, jag heter Anna"})
    await vol.expect("ack")
    assert (await sup.line("volunteer"))["text"] == "Hej, jag heter Anna"
    await vis.send({"type": "message", "id": 2, "text": "jag är rädd"})
    assert (await sup.line("visitor"))["text"] == "jag är rädd"

    await sup.send({"type": "whisper", "chat": chat, "id": "w1", "text": "WHISPER-MARKER fråga om skolan"})
    ack = await sup.expect("ack")
    whisper = await vol.line("whisper")
    assert whisper["text"] == "WHISPER-MARKER fråga om skolan" and whisper["name"] == "Sara"
    assert whisper["seq"] == ack["seq"]
    assert "WHISPER-MARKER" not in str(await drain(vis))

    # The sealed log marks the whisper for the volunteer's side only (see the replay test).
    entries = await server.hub.delivery.read_log(chat, 0)
    marked = [e for _, e in entries if e.get("text", "").startswith("WHISPER-MARKER")]
    assert marked and all(e["to"] == "volunteer" for e in marked)
    assert await audited(server, "chat.observe", chat)
    assert await audited(server, "chat.whisper", chat)

    await sup.send({"type": "observe", "chat": chat, "active": False})
    assert (await sup.expect("observing"))["active"] is False
    assert (await vol.expect("observed"))["supervisors"] == []


async def test_whisper_is_not_in_the_visitors_replay(server: Running) -> None:
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    token = (await vis.expect("welcome"))["resume_token"]
    chat = (await vol.expect("assigned"))["chat"]
    sup = await supervisor(server)
    await sup.send({"type": "observe", "chat": chat, "active": True})
    await sup.expect("observing")
    await sup.send({"type": "whisper", "chat": chat, "id": 1, "text": "WHISPER-REPLAY"})
    await sup.expect("ack")
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "hej"})
    await vol.expect("ack")
    await vis.line("volunteer")
    await vis.close()
    again = await server.visitor({"lang": "sv", "resume": token, "last_seq": 0})
    frames = [await again.recv() for _ in range(3)]
    await asyncio.sleep(0.2)
    frames += await drain(again, 0.3)
    assert "WHISPER-REPLAY" not in str(frames)
    assert any(f.get("text") == "hej" for f in frames)


async def test_join_tells_the_visitor_and_the_supervisor_may_write_and_end(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    sup = await supervisor(server)
    await sup.send({"type": "join", "chat": chat})
    assert (await sup.expect("observing"))["joined"] is True
    line = await vis.line("system")
    assert line["key"] == "supervisor_joined" and line["text"] == "En handledare har anslutit till chatten."
    assert (await vol.line("system"))["key"] == "supervisor_joined"
    await sup.send({"type": "message", "chat": chat, "id": 1, "text": "Hej, jag är handledare"})
    await sup.expect("ack")
    got = await vis.line("volunteer")
    assert got["text"] == "Hej, jag är handledare" and got["name"] == "Sara"
    assert (await vol.line("supervisor"))["text"] == "Hej, jag är handledare"
    await sup.send({"type": "end", "chat": chat})
    assert (await vis.expect("ended"))["by"] == "supervisor"
    ended = await vol.expect("ended")
    assert ended["by"] == "supervisor" and ended["wrapup_due"] is True
    assert await audited(server, "chat.join", chat) and await audited(server, "chat.end", chat)


async def test_takeover_moves_the_chat_and_its_wrapup(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    await vol.line("visitor")
    sup = await supervisor(server)
    await sup.send({"type": "takeover", "chat": chat})
    released = await vol.expect("released")
    assert released == {"type": "released", "chat": chat, "reason": "takeover"}
    assigned = await sup.expect("assigned")
    assert assigned["chat"] == chat
    assert (await sup.line("visitor"))["text"] == "hej"       # the history follows
    assert (await vis.expect("assigned"))["volunteer"] == "Sara"
    assert (await vis.line("system"))["key"] == "supervisor_took_over"
    await vol.send({"type": "message", "chat": chat, "id": 9, "text": "x"})
    assert (await vol.expect("error"))["code"] == "unknown_chat"
    await sup.send({"type": "message", "chat": chat, "id": 1, "text": "Jag tar över"})
    await sup.expect("ack")
    assert (await vis.line("volunteer"))["text"] == "Jag tar över"
    await sup.send({"type": "end", "chat": chat})
    await sup.expect("ended")
    await sup.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    await sup.expect("wrapup_saved")
    assert await audited(server, "chat.takeover", chat)


async def test_escalations_alert_supervisors_and_acute_shows_112(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    sup = await supervisor(server)
    await sup.send({"type": "supervise", "active": True})
    await sup.expect("overview")
    await vol.send({"type": "escalate", "chat": chat, "kind": "acute"})
    assert (await vol.expect("escalated"))["kind"] == "acute"
    guidance = await vol.line("system")
    assert guidance["key"] == "acute_guidance" and "112" in guidance["text"]
    await vis.none_of("message", timeout=0.3)
    for _ in range(10):
        ov = await sup.expect("overview")
        if ov["alerts"]:
            break
    [alert] = ov["alerts"]
    assert (alert["chat"], alert["kind"], alert["volunteer"]) == (chat, "acute", "Anna")
    assert "acute" in next(c for c in ov["chats"] if c["chat"] == chat)["flags"]
    await sup.send({"type": "dismiss", "alert": alert["alert"]})
    for _ in range(10):
        ov = await sup.expect("overview")
        if not ov["alerts"]:
            break
    assert ov["alerts"] == []
    await sup.send({"type": "dismiss", "alert": alert["alert"]})
    assert (await sup.expect("error"))["code"] == "unknown_alert"
    other = await server.visitor({"lang": "sv"})
    await other.expect("welcome")
    await vol.send({"type": "escalate", "chat": "notmychat1", "kind": "help"})
    assert (await vol.expect("error"))["code"] == "unknown_chat"


async def test_transfer_to_a_volunteer_and_to_a_queue(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    await server.add_account("bo", display_name="Bo", languages="sv,en")
    bo = await server.volunteer("bo")
    ids = {}
    sup = await supervisor(server)
    await sup.send({"type": "supervise", "active": True})
    for v in (await sup.expect("overview"))["volunteers"]:
        ids[v["display_name"]] = v["id"]
    await vol.send({"type": "transfer", "chat": chat, "to": ids["Bo"]})
    assert (await vol.expect("released"))["reason"] == "transfer"
    assert (await vol.expect("transferred"))["chat"] == chat
    assert (await bo.expect("assigned"))["chat"] == chat
    assert (await vis.expect("assigned"))["volunteer"] == "Bo"
    assert (await vis.line("system"))["key"] == "transferred"
    # Bo moves it to the English queue; nobody else is free, so it waits there.
    await bo.send({"type": "status", "state": "paused"})
    await bo.expect("status")
    await vol.send({"type": "status", "state": "paused"})
    await vol.expect("status")
    await bo.send({"type": "transfer", "chat": chat, "to": {"queue": "en"}})
    assert (await bo.expect("released"))["chat"] == chat
    assert (await vis.expect("queued"))["position"] == 1
    await bo.send({"type": "status", "state": "available"})
    assert (await bo.expect("assigned"))["chat"] == chat
    assert await audited(server, "chat.transfer", chat)
    # A volunteer that is not connected cannot receive a chat.
    await bo.send({"type": "transfer", "chat": chat, "to": "nosuchaccount"})
    assert (await bo.expect("error"))["code"] == "transfer_refused"


async def test_block_refuses_the_same_address_and_not_another(server_factory: Any) -> None:
    server: Running = await server_factory(trusted_proxies="127.0.0.1")

    async def visitor_from(address: str) -> WS:
        ws = WS(await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/visitor",
                                         additional_headers={"X-Forwarded-For": address}, **CLIENT_OPTIONS))
        server.clients.append(ws)
        await ws.send({"type": "hello", "lang": "sv"})
        return ws

    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna")
    vis = await visitor_from("198.51.100.7")
    await vis.expect("welcome")
    chat = (await vol.expect("assigned"))["chat"]
    sup = await supervisor(server)
    await sup.send({"type": "block", "chat": chat, "hours": 24})
    blocked = await sup.expect("blocked")
    assert blocked["chat"] == chat and blocked["address"] is True
    assert (await vis.expect("ended"))["by"] == "supervisor"
    assert (await vol.expect("ended"))["by"] == "supervisor"

    again = await visitor_from("198.51.100.7")
    assert (await again.expect("welcome"))["open"] is False
    closed = await again.expect("closed")
    assert closed["reason"] == "blocked" and closed["text"] == "Chatten är inte tillgänglig just nu."
    assert any(s["id"] == "emergency-112" for s in closed["services"])
    assert await again.closed() == 1000

    other = await visitor_from("203.0.113.9")
    welcome = await other.expect("welcome")
    assert welcome["open"] is True
    assert await audited(server, "visitor.block", chat)
    # Only keyed hashes are kept, never the address itself.
    broker = server.app.state.broker
    if broker.shared:
        keys = [k async for k in broker.r.scan_iter(match="*")]
        values = [str(await broker.r.dump(k)) for k in keys]
    else:
        keys, values = list(broker.data), [str(v) for v in broker.data.values()]
    assert "198.51.100.7" not in str(keys) + "".join(values)


async def test_snippets_are_read_by_volunteers_and_written_by_supervisors(server: Running) -> None:
    await server.add_account("anna")
    await server.add_account("sara", role="supervisor")
    anna, sara = await server.login("anna"), await server.login("sara")
    async with httpx.AsyncClient(base_url=server.http) as client:
        r = await client.get("/api/snippets", headers={"Cookie": anna})
        # Out of the box (migration 0013b_canned): a default set in Swedish and English, editable below.
        assert r.status_code == 200
        defaults = r.json()["snippets"]
        assert [s["title"] for s in defaults if s["lang"] == "sv"] == [
            "Hälsning", "Fråga om säkerhet", "Akut fara", "Inte ditt fel", "Hänvisning", "Avslutning"]
        assert [s["title"] for s in defaults if s["lang"] == "en"] == [
            "Greeting", "Asking about safety", "Acute danger", "Not your fault", "Referral", "Closing"]
        assert "112" in next(s["text"] for s in defaults if s["title"] == "Akut fara")
        body = {"snippets": [{"title": "Hälsning", "text": "Hej! Vad vill du prata om?", "lang": "sv"},
                             {"title": "Greeting", "text": "Hi! What would you like to talk about?", "lang": "en"}]}
        r = await client.put("/api/snippets", json=body, headers={"Cookie": anna, "X-Jourchatt-CSRF": "1"})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        r = await client.put("/api/snippets", json=body, headers={"Cookie": sara})
        assert r.status_code == 403 and r.json()["error"] == "csrf_required"
        r = await client.put("/api/snippets", json=body, headers={"Cookie": sara, "X-Jourchatt-CSRF": "1"})
        assert r.status_code == 200
        r = await client.get("/api/snippets", headers={"Cookie": anna})
        assert r.json() == body
        bad = {"snippets": [{"title": "", "text": "x", "lang": "sv"}]}
        r = await client.put("/api/snippets", json=bad, headers={"Cookie": sara, "X-Jourchatt-CSRF": "1"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_body"
        r = await client.get("/api/snippets")
        assert r.status_code == 401
        page = await client.get("/console")
        assert page.status_code == 200 and "/static/console.js" in page.text
    assert await audited(server, "snippets.update", "2")


async def test_followup_code_brings_the_young_person_back_to_the_same_volunteer(server: Running) -> None:
    from chat.followup import FollowupCode

    vol, vis, chat = await open_chat(server)
    await vol.send({"type": "followup", "chat": chat})
    given = await vol.expect("followup_given")
    assert given == {"type": "followup_given", "chat": chat, "valid_days": 14}
    got = await vis.expect("followup")
    code = got["code"]
    assert len(code) == 9 and code[4] == "-" and got["valid_days"] == 14
    async with server.app.state.db() as session:
        [row] = (await session.scalars(select(FollowupCode))).all()
    assert code.replace("-", "") not in row.hash and code not in str(vars(row))
    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    await vol.expect("wrapup_saved")

    # Bo has been idle longer, so an ordinary chat would go to him; the code goes to Anna.
    await server.add_account("bo", display_name="Bo")
    await vol.send({"type": "status", "state": "paused"})
    await vol.expect("status")
    bo = await server.volunteer("bo")
    await vol.send({"type": "status", "state": "available"})
    await vol.expect("status")
    back = await server.visitor({"lang": "sv", "followup": code.lower()})
    await back.expect("welcome")
    assert (await back.expect("assigned"))["volunteer"] == "Anna"
    again = (await vol.expect("assigned"))["chat"]
    assert (await vol.expect("followup_returned"))["chat"] == again
    await bo.none_of("assigned", timeout=0.3)

    # An unknown code: told so, and queued as usual (to Bo, who is free).
    stranger = await server.visitor({"lang": "sv", "followup": "ABCD-EFGH"})
    assert (await stranger.expect("error"))["code"] == "followup_unknown"
    assert (await stranger.expect("assigned"))["volunteer"] == "Bo"
    bad = await server.visitor({"lang": "sv", "followup": "<script>"})
    assert (await bad.expect("error"))["code"] == "invalid_field"


async def test_a_plain_volunteer_cannot_give_a_code_for_someone_elses_chat(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    await bo.send({"type": "followup", "chat": chat})
    assert (await bo.expect("error"))["code"] == "unknown_chat"
    await vis.none_of("followup")


async def test_a_reconnecting_volunteer_is_told_again_who_observes(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    sup = await supervisor(server)
    await sup.send({"type": "observe", "chat": chat, "active": True})
    await sup.expect("observing")
    await vol.expect("observed")
    again = await server.volunteer("anna", available=False)
    assert (await again.expect("assigned"))["resumed"] is True
    assert (await again.expect("observed"))["supervisors"] == ["Sara"]
    # The supervisor's console goes away: it stops observing, and the volunteer is told.
    await sup.close()
    assert (await again.expect("observed"))["supervisors"] == []


async def test_a_supervisor_who_gets_the_chat_they_observe_stops_observing_it(server: Running) -> None:
    """Holder and observer at once meant every line twice (once ``observed``) and
    ``observed`` naming oneself. Found with the session state machine's steps."""
    sup = await supervisor(server)                       # paused: the chat waits
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    [chat] = list(server.hub.visitors)
    await sup.send({"type": "observe", "chat": chat, "active": True})
    assert (await sup.expect("observing"))["state"] == "queued"
    await sup.send({"type": "status", "state": "available"})
    assert (await sup.expect("assigned"))["chat"] == chat
    stopped = await sup.expect("observing")
    assert stopped["chat"] == chat and stopped["active"] is False
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    frames = [f for f in await drain(sup) if f["type"] in ("message", "observed")]
    assert [(f["type"], f.get("seq"), f.get("observed")) for f in frames if f["type"] == "message"] == \
        [("message", 1, None)]
    assert all("Sara" not in f["supervisors"] for f in frames if f["type"] == "observed")


async def test_a_console_that_replaced_another_gets_no_lines_it_did_not_ask_to_observe(server: Running) -> None:
    """Observation belongs to the console that asked; a reconnecting console observes
    again only by sending ``observe`` (docs/protocol.md). Found by the session state
    machine: the new console got ``observed`` lines without any ``observing``."""
    vol, vis, chat = await open_chat(server)
    sup = await supervisor(server)
    await sup.send({"type": "observe", "chat": chat, "active": True})
    await sup.expect("observing")
    sup2 = await server.volunteer("sara", available=False)   # the same account again: sup gets 4409
    assert await sup.closed() == 4409
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    assert (await vol.line("visitor"))["text"] == "hej"
    assert [f for f in await drain(sup2) if f["type"] == "message"] == []
    await sup2.send({"type": "observe", "chat": chat, "active": True})   # asked again: it observes
    await sup2.expect("observing")
    await vis.send({"type": "message", "id": 2, "text": "igen"})
    assert (await sup2.line("visitor"))["observed"] is True
