"""A chat through the real server: queue, assignment, lines, end, wrap-up, record."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from referral.record import ChatRecord

from ..conftest import Running, live_keys


async def records(server: Running) -> list[ChatRecord]:
    async with server.app.state.db() as session:
        return list((await session.scalars(select(ChatRecord))).all())


async def wait_for_records(server: Running, n: int, timeout: float = 5.0) -> list[ChatRecord]:
    for _ in range(int(timeout / 0.05)):
        rows = await records(server)
        if len(rows) >= n:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {n} records, found {len(await records(server))}")


async def open_chat(server: Running, vol_name: str = "anna", hello: dict[str, Any] | None = None):  # type: ignore[no-untyped-def]
    await server.add_account(vol_name)
    vol = await server.volunteer(vol_name)
    vis = await server.visitor(hello or {"lang": "sv"})
    welcome = await vis.expect("welcome")
    assigned_v = await vis.expect("assigned")
    assigned = await vol.expect("assigned")
    return vol, vis, welcome, assigned_v, assigned


async def test_whole_chat_leaves_only_a_record(server: Running) -> None:
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv", "channel": "web"})
    welcome = await vis.expect("welcome")
    assert welcome["open"] is True and len(welcome["resume_token"]) >= 40
    await vis.send({"type": "intake", "age": 16, "gender": "girl", "municipality": "0180",
                    "district": "sodermalm", "first_contact": True})
    assert (await vis.expect("assigned"))["volunteer"] == "Anna"
    assigned = await vol.expect("assigned")
    chat = assigned["chat"]
    assert assigned["lang"] == "sv"

    await vis.send({"type": "message", "id": "m1", "text": "hej"})
    ack = await vis.expect("ack")
    assert ack == {"type": "ack", "id": "m1", "seq": 1}
    line = await vol.expect("message")
    assert line == {"type": "message", "chat": chat, "seq": 1, "from": "visitor", "text": "hej"}

    await vol.send({"type": "typing", "chat": chat, "active": True})
    assert (await vis.expect("typing"))["active"] is True
    await vol.send({"type": "message", "chat": chat, "id": 7, "text": "Hej! Vad vill du prata om?"})
    assert await vol.expect("ack") == {"type": "ack", "chat": chat, "id": 7, "seq": 2}
    got = await vis.expect("message")
    assert got == {"type": "message", "seq": 2, "from": "volunteer", "text": "Hej! Vad vill du prata om?"}

    await vol.send({"type": "end", "chat": chat})
    assert (await vis.expect("ended"))["by"] == "volunteer"
    assert await vis.closed() == 1000
    ended = await vol.expect("ended")
    assert ended["chat"] == chat and ended["by"] == "volunteer" and ended["wrapup_due"] is True
    assert await records(server) == []          # written once, after the wrap-up

    await vol.send({"type": "wrapup", "chat": chat, "report": {
        "topic": "exposed", "violence": ["psychological", "digital"], "age": 17}})
    assert await vol.expect("wrapup_saved") == {"type": "wrapup_saved", "chat": chat}
    [row] = await wait_for_records(server, 1)
    assert (row.outcome, row.ended_by, row.topic) == ("completed", "volunteer", "exposed")
    assert (row.age, row.gender, row.municipality, row.district) == (17, "girl", "0180", "sodermalm")
    assert row.first_contact == "yes" and row.wrapup_filed
    assert row.v_psychological and row.v_digital and not row.v_physical
    assert row.wait_s % 10 == 0 and row.duration_s % 10 == 0
    assert row.volunteer and "anna" not in row.volunteer.lower()
    assert await live_keys(server, chat) == []     # the chat's live state and log are gone with it


async def test_seq_strictly_increases_across_both_sides(server: Running) -> None:
    vol, vis, _, _, assigned = await open_chat(server)
    chat = assigned["chat"]
    for i in range(20):
        if i % 2:
            await vol.send({"type": "message", "chat": chat, "id": f"v{i}", "text": f"v {i}"})
        else:
            await vis.send({"type": "message", "id": f"c{i}", "text": f"c {i}"})
    seen: list[int] = []
    while len(seen) < 20:
        frame = await vis.recv()
        if frame["type"] in ("ack", "message"):
            seen.append(frame["seq"])
    assert sorted(seen) == list(range(1, 21))
    vol_seen: list[int] = []
    while len(vol_seen) < 20:
        frame = await vol.recv()
        if frame["type"] in ("ack", "message"):
            vol_seen.append(frame["seq"])
    assert sorted(vol_seen) == list(range(1, 21))



async def test_resent_message_id_is_acked_once_not_doubled(server: Running) -> None:
    vol, vis, *_ = await open_chat(server)
    await vis.send({"type": "message", "id": "dup", "text": "en gång"})
    first = await vis.expect("ack")
    await vis.send({"type": "message", "id": "dup", "text": "en gång"})
    assert await vis.expect("ack") == first
    assert (await vol.expect("message"))["seq"] == first["seq"]
    await vol.nothing()


async def test_messages_written_while_queued_reach_the_volunteer(server: Running) -> None:
    await server.add_account("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("queued")
    await vis.send({"type": "message", "id": 1, "text": "jag väntar"})
    assert (await vis.expect("ack"))["seq"] == 1
    vol = await server.volunteer("anna")
    await vol.expect("assigned")
    assert (await vol.expect("message"))["text"] == "jag väntar"


async def test_queue_is_fifo_and_positions_follow_the_queue(server: Running) -> None:
    await server.add_account("anna")
    visitors = []
    for _ in range(3):
        v = await server.visitor({"lang": "sv"})
        await v.expect("welcome")
        visitors.append(v)
    positions = [(await v.expect("queued"))["position"] for v in visitors]
    assert positions == [1, 2, 3]
    # The first leaves; the others move up.
    await visitors[0].send({"type": "leave"})
    assert (await visitors[0].expect("ended"))["by"] == "visitor"
    assert (await visitors[1].expect("queued"))["position"] == 1
    assert (await visitors[2].expect("queued"))["position"] == 2
    # A volunteer comes: the one who came first is answered first.
    vol = await server.volunteer("anna")
    await visitors[1].expect("assigned")
    await vol.expect("assigned")
    await visitors[2].none_of("assigned")
    rows = await wait_for_records(server, 1)
    assert [r.outcome for r in rows] == ["left_queued"]


async def test_estimated_wait_is_given_and_positive(server: Running) -> None:
    vis = await server.visitor({"lang": "en"})
    queued = await vis.expect("queued")
    assert queued["position"] == 1 and queued["estimated_wait_s"] > 0
    assert queued["estimated_wait_s"] % 30 == 0


async def test_queued_says_whether_any_volunteer_is_on_duty(server: Running) -> None:
    """``queued.on_duty`` (extension): false with nobody signed in and taking chats, so the widget can
    say so instead of an estimate; true once a volunteer is on duty, even a busy one."""
    await server.add_account("anna")
    first = await server.visitor({"lang": "sv"})
    assert (await first.expect("queued"))["on_duty"] is False
    paused = await server.volunteer("anna", available=False)      # signed in, but not taking chats
    second = await server.visitor({"lang": "sv"})
    assert (await second.queued_at(2))["on_duty"] is False
    await paused.send({"type": "status", "state": "available"})    # takes the first; the second waits
    await first.expect("assigned")
    given = await paused.expect("assigned")         # the console's timers come as durations
    assert isinstance(given["waited_s"], int) and isinstance(given["active_s"], int)
    assert 0 <= given["active_s"] <= 5 and given["waited_s"] >= 0
    while (await second.expect("queued"))["on_duty"] is not True:
        pass
    await paused.send({"type": "status", "state": "paused"})
    while (frame := await second.expect("queued"))["on_duty"] is not False:
        pass
    assert frame["position"] == 1


async def test_capacity_two_takes_two_chats_and_no_third(server: Running) -> None:
    await server.add_account("anna", capacity=2)
    vol = await server.volunteer("anna")
    vis = [await server.visitor({"lang": "sv"}) for _ in range(3)]
    await vis[0].expect("assigned")
    await vis[1].expect("assigned")
    await vis[2].queued_at(1)
    chats = {(await vol.expect("assigned"))["chat"], (await vol.expect("assigned"))["chat"]}
    assert len(chats) == 2
    await vis[2].none_of("assigned")


async def test_wrapup_must_be_filed_before_the_next_chat(server: Running) -> None:
    vol, vis, _, _, assigned = await open_chat(server)
    chat = assigned["chat"]
    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    nxt = await server.visitor({"lang": "sv"})
    await nxt.expect("queued")
    await nxt.none_of("assigned")                # the slot is held by the wrap-up
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "friend_relative"}})
    await vol.expect("wrapup_saved")
    await nxt.expect("assigned")


async def test_language_is_respected_when_possible(server: Running) -> None:
    await server.add_account("sven", languages="sv")
    await server.add_account("emma", languages="sv,en")
    sven = await server.volunteer("sven")
    emma = await server.volunteer("emma")
    vis = await server.visitor({"lang": "en"})
    await vis.expect("assigned")
    assert (await emma.expect("assigned"))["lang"] == "en"
    await sven.nothing(0.3)


async def test_pausing_stops_new_chats_but_keeps_current_ones(server: Running) -> None:
    vol, vis, _, _, assigned = await open_chat(server)
    await vol.send({"type": "status", "state": "paused"})
    await vol.expect("status")
    await vis.send({"type": "message", "id": 1, "text": "är du kvar?"})
    assert (await vol.expect("message"))["text"] == "är du kvar?"
    other = await server.visitor({"lang": "sv"})
    await other.expect("queued")
    await other.none_of("assigned")


async def test_visitor_leaving_mid_chat_is_recorded_as_visitor_left(server: Running) -> None:
    vol, vis, *_ = await open_chat(server)
    await vis.send({"type": "leave"})
    assert (await vis.expect("ended"))["by"] == "visitor"
    ended = await vol.expect("ended")
    assert ended["by"] == "visitor"
    await vol.send({"type": "wrapup", "chat": ended["chat"], "report": {"non_data": "silent"}})
    await vol.expect("wrapup_saved")
    [row] = await wait_for_records(server, 1)
    assert (row.outcome, row.non_data, row.topic) == ("visitor_left", "silent", None)


async def test_a_district_must_lie_in_the_chats_municipality(server: Running) -> None:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("queued")
    await vis.send({"type": "intake", "municipality": "0182"})
    await vis.send({"type": "intake", "district": "bromma"})      # Bromma is in Stockholm
    assert (await vis.expect("error"))["code"] == "invalid_field"
    await vis.send({"type": "intake", "municipality": "0180"})
    await vis.send({"type": "intake", "district": "bromma"})
    await vis.none_of("error")


async def test_intake_reaches_the_volunteer_live(server: Running) -> None:
    vol, vis, *_ = await open_chat(server)
    await vis.send({"type": "intake", "age": 19, "gender": "boy"})
    frame = await vol.expect("intake")
    assert frame["intake"] == {"age": 19, "gender": "boy"}


@pytest.mark.usefixtures("fast_timers")
async def test_visitor_who_vanishes_frees_the_volunteer_after_grace(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(visitor_grace_s=0.5)
    vol, vis, *_ = await open_chat(server)
    await vis.close()
    assert (await vol.expect("presence"))["visitor"] == "away"
    ended = await vol.expect("ended", timeout=5)
    assert ended["by"] == "timeout"
    await vol.send({"type": "wrapup", "chat": ended["chat"], "report": {"topic": "other"}})
    [row] = await wait_for_records(server, 1)
    assert row.outcome == "dropped"


@pytest.mark.usefixtures("fast_timers")
async def test_volunteer_who_disconnects_sends_the_chat_to_the_front(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(volunteer_grace_s=0.3)
    await server.add_account("bo")
    vol, vis, _, _, assigned = await open_chat(server)
    waiting = await server.visitor({"lang": "sv"})
    assert (await waiting.expect("queued"))["position"] == 1
    await vis.send({"type": "message", "id": 1, "text": "innan avbrottet"})
    await vis.expect("ack")
    await vol.close()
    lost = await vis.expect("message", timeout=5)
    assert lost["from"] == "system" and lost["key"] == "volunteer_lost"
    assert "kön" in lost["text"]
    assert (await vis.expect("queued"))["position"] == 1      # ahead of the one who came later
    # (an update with on_duty false may come first: with Anna gone nobody is on duty)
    assert (await waiting.queued_at(2))["on_duty"] is False
    bo = await server.volunteer("bo")
    again = await bo.expect("assigned")
    assert again["chat"] == assigned["chat"]
    assert (await bo.expect("message"))["text"] == "innan avbrottet"   # the new volunteer sees the chat
    assert (await vis.expect("assigned"))["volunteer"] == "Bo"


async def test_volunteer_reconnecting_within_grace_keeps_the_chat(server: Running) -> None:
    vol, vis, _, _, assigned = await open_chat(server)
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    await vol.expect("message")
    await vol.close()
    await vis.send({"type": "message", "id": 2, "text": "två"})
    vol2 = await server.volunteer("anna", available=False)
    resumed = await vol2.expect("assigned")
    assert resumed["chat"] == assigned["chat"] and resumed["resumed"] is True
    texts = [(await vol2.expect("message"))["text"] for _ in range(2)]
    assert texts == ["ett", "två"]
    await vis.none_of("message")      # the visitor never noticed the blip


async def test_visitor_resumes_and_gets_exactly_what_was_missed(server: Running) -> None:
    vol, vis, welcome, _, assigned = await open_chat(server)
    chat = assigned["chat"]
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    last_seq = (await vis.expect("ack"))["seq"]
    await vis.close()
    await vol.expect("presence")
    for i in range(3):
        await vol.send({"type": "message", "chat": chat, "id": i, "text": f"missat {i}"})
        await vol.expect("ack")
    vis2 = await server.visitor({"lang": "sv", "resume": welcome["resume_token"], "last_seq": last_seq})
    w2 = await vis2.expect("welcome")
    assert w2["resumed"] is True
    got = []
    while True:
        frame = await vis2.recv()
        if frame["type"] == "assigned":
            break
        if frame["type"] == "message":
            got.append((frame["seq"], frame["from"], frame["text"]))
    assert [g[2] for g in got if g[1] == "volunteer"] == ["missat 0", "missat 1", "missat 2"]
    assert [g[0] for g in got] == sorted(g[0] for g in got) and all(g[0] > last_seq for g in got)
    back = await vol.expect("presence")
    assert back["visitor"] == "here"
    assert (await vol.line("system"))["key"] == "visitor_back"
    await vis2.send({"type": "message", "id": 2, "text": "tillbaka"})
    assert (await vol.line("visitor"))["text"] == "tillbaka"


async def test_resume_after_the_chat_ended_says_ended(server: Running) -> None:
    vol, vis, welcome, _, assigned = await open_chat(server)
    await vis.close()
    await vol.send({"type": "end", "chat": assigned["chat"]})
    await vol.expect("ended")
    vis2 = await server.visitor({"resume": welcome["resume_token"], "last_seq": 0})
    await vis2.expect("welcome")
    assert (await vis2.expect("ended"))["by"] == "volunteer"


async def test_unknown_resume_token_starts_a_new_chat(server: Running) -> None:
    vis = await server.visitor({"resume": "x" * 43, "last_seq": 3})
    err = await vis.expect("error")
    assert err["code"] == "resume_failed"
    welcome = await vis.expect("welcome")
    assert welcome["resume_token"] != "x" * 43
    await vis.expect("queued")


@pytest.mark.usefixtures("fast_timers")
async def test_quiet_chat_is_warned_then_closed(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(idle_warn_s=0.3, idle_close_s=0.3)
    vol, vis, *_ = await open_chat(server)
    warn = await vis.expect("message")
    assert warn["from"] == "system" and warn["key"] == "idle_warning"
    assert (await vol.expect("message"))["key"] == "idle_warning"
    assert (await vis.expect("ended"))["by"] == "timeout"
    assert (await vol.expect("ended"))["by"] == "timeout"


@pytest.mark.usefixtures("fast_timers")
async def test_lines_put_off_the_idle_warning(server_factory) -> None:  # type: ignore[no-untyped-def]
    """A line does not move the idle timer (chat.kernel.broker.base, "Lines"): the timer reads the
    chat's last activity when it fires and waits again. A chat with a line every 0.2 s
    for 1.5 s, with a 0.6 s idle limit, is never warned; once quiet, it is."""
    server = await server_factory(idle_warn_s=0.6, idle_close_s=5)
    vol, vis, _, _, assigned = await open_chat(server)
    loop = asyncio.get_running_loop()
    started, n = loop.time(), 0
    while loop.time() - started < 1.5:
        n += 1
        await vis.send({"type": "message", "id": n, "text": f"rad {n}"})
        got = await vol.line("visitor")
        assert got["text"] == f"rad {n}"
        await asyncio.sleep(0.2)
    quiet = loop.time()
    warn = await vis.expect("message", timeout=5)
    assert warn["key"] == "idle_warning" and loop.time() - quiet >= 0.35
    assert (await vol.expect("message"))["key"] == "idle_warning"


async def test_full_queue_turns_visitors_away_with_services(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(max_queue=1)
    first = await server.visitor({"lang": "sv"})
    await first.expect("queued")
    second = await server.visitor({"lang": "sv"})
    closed = await second.expect("closed")
    assert closed["reason"] == "full"
    assert any(s["kind"] == "emergency" for s in closed["services"])
    assert await second.closed() == 1000
    [row] = await wait_for_records(server, 1)
    assert row.outcome == "closed"


async def test_socket_cap_answers_closed_full(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(max_sockets=2)
    a = await server.visitor({"lang": "sv"})
    b = await server.visitor({"lang": "sv"})
    await a.expect("queued")
    await b.expect("queued")
    c = await server.visitor()
    closed = await c.expect("closed")
    assert closed["reason"] == "full"
    assert await c.closed() == 1013


async def test_stopping_the_server_writes_records_for_open_chats(tmp_path, database_url) -> None:  # type: ignore[no-untyped-def]
    from ..conftest import make_settings, start_server

    server, stop = await start_server(make_settings(tmp_path, database_url))
    await server.add_account("anna")
    await server.volunteer("anna")               # takes the first chat
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("assigned")
    queued = await server.visitor({"lang": "sv"})
    await queued.expect("queued")
    await stop()
    from chat.kernel import db

    engine = db.create_engine(server.settings.database_url)
    try:
        async with db.sessionmaker(engine)() as session:
            rows = list((await session.scalars(select(ChatRecord))).all())
    finally:
        await engine.dispose()
    assert sorted(r.outcome for r in rows) == ["dropped", "left_queued"]


async def test_a_long_chat_replays_whole_to_a_returning_volunteer(server_factory) -> None:  # type: ignore[no-untyped-def]
    from chat.hub import OUTBOX_FRAMES

    server = await server_factory(frame_rate=100000)    # lines faster than anyone types
    vol, vis, _, _, assigned = await open_chat(server)
    n = OUTBOX_FRAMES + 100
    for i in range(n):
        await vis.send({"type": "message", "id": i, "text": f"rad {i}"})
        await vis.expect("ack")
    for _ in range(n):
        await vol.line("visitor")
    await vol.close()
    vol2 = await server.volunteer("anna", available=False)
    assert (await vol2.expect("assigned"))["resumed"] is True
    got = [(await vol2.line("visitor"))["text"] for _ in range(n)]
    assert got == [f"rad {i}" for i in range(n)]


async def test_a_resume_claiming_more_than_was_written_still_gets_every_new_line(server: Running) -> None:
    """A ``last_seq`` beyond the chat's end (a buggy or stale client) must not swallow later lines.

    Found with the session state machine (test_session_machine.py, in its longer
    random runs): the server took the claim at its word, so the volunteer's next
    thousand lines were acked to the volunteer and never reached the visitor.
    """
    vol, vis, welcome, _, assigned = await open_chat(server)
    chat = assigned["chat"]
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    seq = (await vis.expect("ack"))["seq"]
    await vis.close()
    vis2 = await server.visitor({"resume": welcome["resume_token"], "last_seq": seq + 1000})
    assert (await vis2.expect("welcome"))["resumed"] is True
    await vis2.expect("assigned")
    await vol.send({"type": "message", "chat": chat, "id": 5, "text": "är du kvar?"})
    sent = (await vol.expect("ack"))["seq"]
    line = await vis2.line("volunteer")
    assert (line["seq"], line["text"]) == (sent, "är du kvar?")


async def test_a_line_resent_after_its_id_was_reused_is_still_not_doubled(server: Running) -> None:
    """(id, text) pairs are remembered each, not only the latest text of an id.

    Found by the session state machine: after ``id 1 "ett"`` and ``id 1 "två"`` (a
    client that restarted its counter), resending ``id 1 "ett"`` (its ack was lost)
    was numbered and delivered a second time.
    """
    vol, vis, *_ = await open_chat(server)
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    first = (await vis.expect("ack"))["seq"]
    await vis.send({"type": "message", "id": 1, "text": "två"})
    second = (await vis.expect("ack"))["seq"]
    assert second > first
    await vis.send({"type": "message", "id": 1, "text": "ett"})
    assert (await vis.expect("ack"))["seq"] == first
    assert [(await vol.line("visitor"))["text"] for _ in range(2)] == ["ett", "två"]
    await vol.none_of("message")


async def test_a_chat_queued_for_hours_keeps_its_lines_and_its_resume_token(server: Running) -> None:
    """The TTL refresh of a waiting chat covers its replay log, its resend ids and its token.

    Found with the session state machine's steps (a visitor writes while nobody is on
    duty, seven hours pass, a volunteer comes): a chat still queued after ``STATE_TTL_S``
    (6 h, nobody on duty) kept its state, but its log and token had expired, so the
    volunteer who finally took it never saw what the visitor wrote while waiting,
    and a resume started a new chat at the back of the queue.
    """
    from chat import state as S
    vis = await server.visitor({"lang": "sv"})
    token = (await vis.expect("welcome"))["resume_token"]
    await vis.send({"type": "message", "id": 1, "text": "jag väntar"})
    await vis.expect("ack")
    [chat] = list(server.hub.visitors)
    token_hash = __import__("hashlib").sha256(token.encode()).hexdigest()
    keys = [S.log_key(chat), S.ids_key(chat), S.token_key(token_hash)]

    async def nearly_expired(tx: Any) -> None:       # as they are after hours without a line
        for key in keys:
            tx.expire(key, 1.0)
    await server.app.state.broker.transact(nearly_expired)
    await server.hub.timers.refresh_ttls()                  # the housekeeping's periodic refresh
    await asyncio.sleep(1.5)

    await vis.close()
    vis2 = await server.visitor({"resume": token, "last_seq": 1})
    assert (await vis2.expect("welcome"))["resumed"] is True
    await server.add_account("anna")
    vol = await server.volunteer("anna")
    await vol.expect("assigned")
    assert (await vol.line("visitor"))["text"] == "jag väntar"
