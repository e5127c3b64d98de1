"""Trainees and practice chats on real sockets, on both pairs (SQLite+memory, PostgreSQL+Redis)
and on two nodes: a trainee shadows a chat only with the volunteer's consent and the young
person never learns of it; a practice chat is answered as a real chat and counted nowhere;
nothing of a practice chat or a whisper stays behind (the privacy grep)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from referral.record import ChatRecord

from ..conftest import WS, Running, fresh_redis, two_nodes
from .test_metrics import AUTH, TOKEN, samples
from .test_supervision import audited, drain, open_chat


async def trainee(server: Running, name: str = "tove") -> WS:
    await server.add_account(name, role="trainee", trained=False, display_name=name.capitalize())
    return await server.volunteer(name, available=False)


async def shadow(vol: WS, tr: WS, chat: str) -> None:
    """The trainee asks, the volunteer lets it in: it follows."""
    await tr.send({"type": "shadow", "chat": chat, "active": True})
    assert (await tr.expect("shadowing"))["state"] == "asked"
    ask = await vol.expect("shadow_request")
    await vol.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": True})
    assert (await tr.expect("shadowing"))["state"] == "following"


def no_trace_of_training(frames: list[dict[str, Any]], *words: str) -> None:
    text = str(frames).lower()
    for word in ("trainee", "shadow", "whisper", "praktik", "tove", *words):
        assert word.lower() not in text, (word, frames)


async def test_a_trainee_follows_only_with_consent_and_the_young_person_never_knows(server: Running) -> None:
    vol, vis, chat = await open_chat(server, {"age": 15})
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    await vol.line("visitor")
    tr = await trainee(server)

    await tr.send({"type": "shadowable"})
    listed = (await tr.expect("shadowable"))["chats"]
    assert [(c["chat"], c["volunteer"], c["following"]) for c in listed] == [(chat, "Anna", False)]
    assert "intake" not in str(listed) and "hej" not in str(listed)

    # Asked: nothing reaches the trainee before the volunteer says yes.
    await tr.send({"type": "shadow", "chat": chat, "active": True})
    assert (await tr.expect("shadowing")) == {"type": "shadowing", "chat": chat, "state": "asked"}
    ask = await vol.expect("shadow_request")
    assert (ask["chat"], ask["name"], ask["active"]) == (chat, "Tove", True)
    await vis.send({"type": "message", "id": 2, "text": "före samtycket"})
    await vol.line("visitor")
    assert "före samtycket" not in str(await drain(tr, 0.3))

    await vol.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": True})
    following = await tr.expect("shadowing")
    assert (following["state"], following["volunteer"]) == ("following", "Anna")
    observing = await tr.expect("observing")
    assert observing["active"] is True and observing["intake"]["age"] == 15
    assert [(await tr.line("visitor"))["text"] for _ in range(2)] == ["hej", "före samtycket"]
    observed = await vol.expect("observed")
    assert (observed["supervisors"], observed["trainees"]) == ([], ["Tove"])

    # Live lines reach the trainee; its whisper reaches the volunteer only.
    await vol.send({"type": "message", "chat": chat, "id": 3, "text": "Hej, jag heter Anna"})
    assert (await tr.line("volunteer"))["text"] == "Hej, jag heter Anna"
    await tr.send({"type": "whisper", "chat": chat, "id": "w", "text": "TRAINEE-WHISPER fråga om skolan"})
    await tr.expect("ack")
    whisper = await vol.line("whisper")
    assert (whisper["text"], whisper["name"]) == ("TRAINEE-WHISPER fråga om skolan", "Tove")
    # A trainee writes nothing to the young person, ever.
    await tr.send({"type": "message", "chat": chat, "id": 9, "text": "till den unga"})
    assert (await tr.expect("error"))["code"] == "unknown_chat"
    for kind in ("join", "takeover"):
        await tr.send({"type": kind, "chat": chat})
        assert (await tr.expect("error"))["code"] == "not_for_trainees"

    # The volunteer asks the trainee to go; the visitor heard of none of it, nor in a replay.
    await vol.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": False})
    assert (await tr.expect("shadowing"))["state"] == "ended"
    assert (await vol.expect("observed"))["trainees"] == []
    assert await audited(server, "chat.shadow_allow", chat)
    assert await audited(server, "chat.shadow_ask", chat)
    assert await audited(server, "chat.shadow_end", chat)
    assert await audited(server, "chat.whisper", chat)
    no_trace_of_training(await drain(vis), "TRAINEE-WHISPER")
    await vis.send({"type": "message", "id": 4, "text": "efteråt"})
    assert "efteråt" not in str(await drain(tr, 0.3))


async def test_the_volunteer_may_say_no_and_a_trainee_may_take_its_question_back(server: Running) -> None:
    vol, vis, chat = await open_chat(server)
    tr = await trainee(server)
    await tr.send({"type": "shadow", "chat": chat, "active": True})
    ask = await vol.expect("shadow_request")
    await vol.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": False})
    await tr.expect("shadowing")        # asked
    assert (await tr.expect("shadowing"))["state"] == "declined"
    assert await audited(server, "chat.shadow_decline", chat)
    # Answering a question nobody asks is refused.
    await vol.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": True})
    assert (await vol.expect("error"))["code"] == "out_of_order"
    # Asked again, then taken back: the volunteer's question goes away.
    await tr.send({"type": "shadow", "chat": chat, "active": True})
    await vol.expect("shadow_request")
    await tr.send({"type": "shadow", "chat": chat, "active": False})
    withdrawn = await vol.expect("shadow_request")
    assert withdrawn["active"] is False and withdrawn["trainee"] == ask["trainee"]
    # Someone else's chat or none: nothing to ask.
    await tr.send({"type": "shadow", "chat": "nosuchchat1", "active": True})
    assert (await tr.expect("error"))["code"] == "unknown_chat"
    no_trace_of_training(await drain(vis))


async def test_a_trainee_takes_no_chats_and_only_trainees_shadow(server: Running) -> None:
    tr = await trainee(server)
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    await vis.expect("queued")
    await tr.send({"type": "status", "state": "available"})
    assert (await tr.expect("error"))["code"] == "not_for_trainees"
    for frame in ({"type": "observe", "chat": "abcdefgh12", "active": True},
                  {"type": "practice_open", "partner": "someone", "lang": "sv"},
                  {"type": "escalate", "chat": "abcdefgh12", "kind": "help"}):
        await tr.send(frame)
        assert (await tr.expect("error"))["code"] == "not_for_trainees"
    await tr.nothing(0.5)
    assert all(f["type"] == "queued" for f in await drain(vis, 0.3))     # still waiting
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna")
    # The trainee's console is present, but never holds the waiting chat: Anna does.
    assert "practice" not in await vol.expect("assigned")
    await vol.send({"type": "shadowable"})
    assert (await vol.expect("error"))["code"] == "trainees_only"
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/console", headers={"Cookie": await server.login("tove")})
    assert r.status_code == 200


async def metrics_now(server: Running) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/metrics", headers=AUTH)
    got = samples(r.text, server.hub.node)
    wanted = ("jourchatt_lines_relayed_total", "jourchatt_records_written", "jourchatt_chats_active",
              "jourchatt_visitors_waiting")
    return {f"{k[0]}{dict(k[1])}": v for k, v in got.items() if k[0] in wanted}


COORDINATORS = itertools.count(1)       # a fresh coordinator account for each read


async def stats_now(server: Running) -> Any:
    """Today's statistics as a coordinator reads them (the period of the practice chat)."""
    from datetime import date
    today = date.today().isoformat()
    async with await server.client(f"cora{next(COORDINATORS)}", role="coordinator") as c:
        r = await c.get("/api/stats", params={"from": today, "to": today})
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("generated_at", None)
    return body


async def record_count(server: Running) -> int:
    async with server.app.state.db() as session:
        return int(await session.scalar(select(func.count()).select_from(ChatRecord)) or 0)


async def play(host: WS, chat: str, frame: dict[str, Any]) -> None:
    await host.send({"type": "practice_visitor", "chat": chat, "frame": frame})


async def played(host: WS, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` the player's young person gets."""
    while True:
        wrapped = await host.expect("practice_frame")
        if wrapped["frame"]["type"] == kind:
            return wrapped["frame"]  # type: ignore[no-any-return]


async def open_practice(host: WS, partner_ws: WS, partner: str) -> tuple[str, str]:
    await host.send({"type": "practice_partners"})
    people = (await host.expect("practice_partners"))["people"]
    pid = next(p["id"] for p in people if p["display_name"] == partner)
    await host.send({"type": "practice_open", "partner": pid, "lang": "sv"})
    opened = await host.expect("practice_opened")
    chat = opened["chat"]
    token = (await played(host, "welcome"))["resume_token"]
    assert (await played(host, "assigned"))["volunteer"] == partner
    got = await partner_ws.expect("assigned")
    assert got["chat"] == chat and got["practice"] is True and got["host"] == "Sara"
    return chat, token


async def test_a_practice_chat_is_a_real_chat_to_answer_and_counted_nowhere(server_factory: Any) -> None:
    server = await server_factory(metrics_token=TOKEN)
    # A real young person waits, and nobody takes chats: the practice chat must not touch that.
    real = await server.visitor({"lang": "sv"})
    await real.expect("welcome")
    assert (await real.expect("queued"))["position"] == 1
    before, records_before = await metrics_now(server), await record_count(server)
    stats_before = await stats_now(server)

    await server.add_account("sara", role="supervisor", display_name="Sara")
    host = await server.volunteer("sara", available=False)
    tr = await trainee(server)
    chat, _ = await open_practice(host, tr, "Tove")

    await play(host, chat, {"type": "intake", "age": 15, "municipality": "0180"})
    assert (await tr.expect("intake"))["intake"]["age"] == 15
    await play(host, chat, {"type": "message", "id": 1, "text": "PRACTICE-MARKER jag är rädd"})
    assert (await played(host, "ack"))["seq"] == 1
    assert (await tr.line("visitor"))["text"] == "PRACTICE-MARKER jag är rädd"
    await tr.send({"type": "message", "chat": chat, "id": 2, "text": "Jag finns här"})
    await tr.expect("ack")
    assert (await played(host, "message"))["text"] == "Jag finns här"
    await tr.send({"type": "typing", "chat": chat, "active": True})
    assert (await played(host, "typing"))["active"] is True
    # Referral suggestions as in a real chat, but no code is issued.
    await tr.send({"type": "refer", "chat": chat, "services": ["emergency-112"]})
    assert (await tr.expect("referred"))["services"] == ["emergency-112"]
    card = (await played(host, "referral"))["services"][0]
    assert card["code"] == "ÖVNING"
    # Things that mean nothing in a practice chat are refused.
    await host.send({"type": "join", "chat": chat})
    assert (await host.expect("error"))["code"] == "out_of_order"
    # The answerer ends it and files the wrap-up, as after a real chat.
    await tr.send({"type": "end", "chat": chat})
    assert (await tr.expect("ended"))["wrapup_due"] is True
    assert (await played(host, "ended"))["by"] == "volunteer"
    await tr.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed", "violence": ["psychological"]}})
    assert (await tr.expect("wrapup_saved"))["chat"] == chat

    # Nothing counted: no record, the same metrics, the real visitor still first and waiting.
    await asyncio.sleep(1.2)        # the shared figures are cached for a second
    assert await record_count(server) == records_before == 0
    assert await metrics_now(server) == before
    assert await stats_now(server) == stats_before
    # Sara is a paused volunteer; the trainee is not a volunteer of the metrics at all.
    async with httpx.AsyncClient(base_url=server.http) as c:
        got = samples((await c.get("/metrics", headers=AUTH)).text, server.hub.node)
    assert sum(v for k, v in got.items() if k[0] == "jourchatt_volunteers") == 1
    assert got[("jourchatt_volunteers", (("state", "paused"),))] == 1
    assert await server.hub.broker.read(lambda tx: tx.zcard("jc:queue", watch=False)) == 1
    await real.nothing(0.3)
    assert await audited(server, "practice.open", (await accounts(server))["tove"])


async def accounts(server: Running) -> dict[str, str]:
    from volunteer.models import Account
    async with server.app.state.db() as session:
        return {a.username: a.id for a in (await session.scalars(select(Account))).all()}


async def test_a_volunteer_may_host_and_only_the_player_plays(server: Running) -> None:
    await server.add_account("anna", display_name="Anna")
    host = await server.volunteer("anna", available=False)
    await server.add_account("sara", role="supervisor", display_name="Sara")
    other = await server.volunteer("sara", available=False)
    await host.send({"type": "practice_partners"})
    people = (await host.expect("practice_partners"))["people"]
    assert [(p["display_name"], p["role"]) for p in people] == [("Sara", "supervisor")]
    await host.send({"type": "practice_open", "partner": people[0]["id"], "lang": "en"})
    chat = (await host.expect("practice_opened"))["chat"]
    assigned = await other.expect("assigned")
    assert assigned["practice"] is True and assigned["lang"] == "en"
    await other.send({"type": "practice_visitor", "chat": chat, "frame": {"type": "message", "id": 1, "text": "x"}})
    assert (await other.expect("error"))["code"] == "unknown_chat"
    await host.send({"type": "practice_visitor", "chat": chat, "frame": {"type": "hello"}})
    assert (await host.expect("error"))["code"] == "invalid_field"
    await host.send({"type": "practice_open", "partner": "nobody-here", "lang": "sv"})
    assert (await host.expect("error"))["code"] == "practice_refused"
    await play(host, chat, {"type": "leave"})
    assert (await other.expect("ended"))["by"] == "visitor"


@pytest.fixture
def every_log_line() -> Iterator[list[str]]:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old)


async def every_byte(tmp_path: Path, broker_url: str) -> bytes:
    """Every byte the server wrote: its var directory (SQLite, files) and, on Redis, every key and value."""
    out = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    if broker_url.startswith("redis"):
        client = aioredis.from_url(broker_url)
        try:
            for key in await client.keys("*"):
                out += key + str(await client.dump(key)).encode()
        finally:
            await client.aclose()
    return out


async def test_privacy_grep_over_a_practice_chat_and_a_whisper_on_two_nodes(
        tmp_path: Path, every_log_line: list[str]) -> None:
    marker, whisper = "PRACTICEGREP-hemligt", "WHISPERGREP-tyst"
    url = await fresh_redis()
    async with two_nodes(tmp_path, url) as (a, b):
        # A practice chat played on node a and answered on node b; the player moves to b.
        await a.add_account("sara", role="supervisor", display_name="Sara")
        await a.add_account("tove", role="trainee", trained=False, display_name="Tove")
        host = await a.volunteer("sara", available=False)
        tr = await b.volunteer("tove", available=False)
        chat, token = await open_practice(host, tr, "Tove")
        await play(host, chat, {"type": "message", "id": 1, "text": marker + " visitor"})
        assert (await tr.line("visitor"))["text"] == marker + " visitor"
        await tr.send({"type": "message", "chat": chat, "id": 1, "text": marker + " trainee"})
        await tr.expect("ack")
        assert (await played(host, "message"))["text"] == marker + " trainee"
        await host.conn.close()
        host2 = await b.volunteer("sara", available=False)
        await host2.send({"type": "practice_resume", "resume_token": token, "last_seq": 1})
        assert (await played(host2, "welcome"))["resumed"] is True
        assert (await played(host2, "message"))["text"] == marker + " trainee"
        await play(host2, chat, {"type": "message", "id": 2, "text": marker + " again"})
        assert (await tr.line("visitor"))["text"] == marker + " again"
        await play(host2, chat, {"type": "leave"})
        await tr.expect("ended")
        await tr.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
        await tr.expect("wrapup_saved")

        # A trainee on node b shadows Anna's real chat on node a and whispers.
        vol = await a.volunteer("anna")
        vis = await b.visitor({"lang": "sv"})
        await vis.expect("welcome")
        real = (await vol.expect("assigned"))["chat"]
        await shadow(vol, tr, real)
        await tr.send({"type": "whisper", "chat": real, "id": "w", "text": whisper})
        assert (await vol.line("whisper"))["text"] == whisper
        await vis.send({"type": "message", "id": 1, "text": "hej"})
        assert (await tr.line("visitor"))["text"] == "hej"
        no_trace_of_training(await drain(vis), whisper)
        await vol.send({"type": "end", "chat": real})
        await tr.expect("observing")
        await vol.send({"type": "wrapup", "chat": real, "report": {"topic": "exposed"}})
        await vol.expect("wrapup_saved")
        for _ in range(60):                     # the record is written right after the wrap-up
            if await record_count(a):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert await record_count(a) == 1       # the real chat only
        found = await every_byte(tmp_path, url)
    for needle in (marker, whisper):
        assert needle.encode() not in found
        assert not [line for line in every_log_line if needle in line]


async def test_a_supervisor_marks_shadowed_shifts_and_admins_see_the_training_record(server: Running) -> None:
    import argparse
    from datetime import date, timedelta

    from volunteer import cli

    await server.add_account("tove", role="trainee", trained=False, display_name="Tove")
    await server.add_account("anna", display_name="Anna")
    today, yesterday = date.today().isoformat(), (date.today() - timedelta(days=1)).isoformat()
    async with await server.client("sara", role="supervisor") as sara:
        assert (await sara.get("/api/trainees")).json()["trainees"][0]["shifts"] == []
        r = await sara.post("/api/trainees/tove/shifts", json={"day": yesterday})
        assert r.status_code == 200 and r.json()["shifts"] == [{"day": yesterday, "marked_by": "Sara"}]
        assert (await sara.post("/api/trainees/tove/shifts", json={"day": yesterday})).status_code == 200
        await sara.post("/api/trainees/tove/shifts", json={"day": today})
        tomorrow = (date.today() + timedelta(days=1)).isoformat()
        for body, status, field in (({"day": tomorrow}, 400, "day"), ({"day": "igår"}, 400, "day"),
                                    ({}, 400, "day")):
            r = await sara.post("/api/trainees/tove/shifts", json=body)
            assert r.status_code == status and field in r.json()["detail"], r.text
        r = await sara.post("/api/trainees/anna/shifts", json={"day": today})    # not a trainee
        assert (r.status_code, r.json()["error"]) == (404, "unknown_account")
        listed = (await sara.get("/api/trainees")).json()["trainees"]
        assert [(t["username"], len(t["shifts"]), t["required"]) for t in listed] == [("tove", 2, 2)]
        r = await sara.delete(f"/api/trainees/tove/shifts/{today}")
        assert r.json()["shifts"] == [{"day": yesterday, "marked_by": "Sara"}]
    async with httpx.AsyncClient(base_url=server.http, headers={"Cookie": await server.login("anna"),
                                                                "X-Jourchatt-CSRF": "1"}) as anna:
        assert (await anna.post("/api/trainees/tove/shifts", json={"day": today})).status_code == 403
    async with await server.client("adam", role="admin") as adam:
        accounts = {a["username"]: a for a in (await adam.get("/api/admin/accounts")).json()["accounts"]}
    assert accounts["tove"]["role"] == "trainee"
    assert accounts["tove"]["shadowed_shifts"] == [{"day": yesterday, "marked_by": "Sara"}]
    assert accounts["anna"]["shadowed_shifts"] == []
    tove = accounts["tove"]["id"]
    assert await audited(server, "training.shift", tove) and await audited(server, "training.shift_unmark", tove)
    # The CLI shows (and may mark) the same record.
    out = await cli._run(server.settings, argparse.Namespace(volunteer_command="shifts", username="tove",
                                                            mark=date.fromisoformat(today), unmark=None))
    assert out[0] == "tove: 2 of 2 shadowed shifts" and out[2].startswith(f"  {today}  marked by cli")
    listing = await cli._run(server.settings, argparse.Namespace(volunteer_command="list"))
    assert any(line.split()[:2] == ["tove", "trainee"] and line.split()[5] == "2" for line in listing)


async def test_a_trainee_short_of_shadowed_shifts_answers_alone_only_if_the_admin_confirms(server: Running) -> None:
    from datetime import date

    for name in ("tove", "tim", "tea"):
        await server.add_account(name, role="trainee", trained=False, display_name=name.capitalize())
    async with await server.client("sara", role="supervisor") as sara, await server.client("adam", role="admin") as adam:
        await sara.post("/api/trainees/tove/shifts", json={"day": date.today().isoformat()})
        # One shift of two: refused, saying how many and naming what confirms it.
        r = await adam.post("/api/admin/accounts/tove/role", json={"role": "volunteer"})
        assert r.status_code == 409, r.text
        body = r.json()
        assert (body["error"], body["shadowed"], body["required"]) == ("shifts_missing", 1, 2)
        assert "despite_shifts" in body["detail"]
        r = await adam.post("/api/admin/accounts/tove/role", json={"role": "volunteer", "despite_shifts": "ja"})
        assert r.status_code == 400 and "despite_shifts" in r.json()["detail"]
        # Other roles than the chat roles need nothing.
        assert (await adam.post("/api/admin/accounts/tim/role", json={"role": "coordinator"})).status_code == 200
        accounts = {a["username"]: a for a in (await adam.get("/api/admin/accounts")).json()["accounts"]}
        assert accounts["tove"]["role"] == "trainee"
        # The admin confirms: the role is given, and the log says it was given short of the shifts.
        r = await adam.post("/api/admin/accounts/tove/role", json={"role": "supervisor", "despite_shifts": True})
        assert r.status_code == 200 and r.json()["account"]["role"] == "supervisor"
        # With both shifts shadowed no confirmation is asked, and the log says an ordinary role change.
        for day in ("2026-11-02", "2026-11-09"):
            assert (await sara.post("/api/trainees/tea/shifts", json={"day": day})).status_code == 200
        r = await adam.post("/api/admin/accounts/tea/role", json={"role": "volunteer"})
        assert r.status_code == 200 and r.json()["account"]["role"] == "volunteer"
        tea = r.json()["account"]["id"]
    tove = accounts["tove"]["id"]
    assert await audited(server, "account.role_despite_shifts", tove)
    assert await audited(server, "account.role", tea)
    assert not await audited(server, "account.role_despite_shifts", tea)
