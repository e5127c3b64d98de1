"""Waiting for one's own volunteer: a young person back with a follow-up code whose volunteer
is on duty but busy has the chat kept for them (nobody else takes it) until they are free,
may choose someone else now (keeping their place), and is told plainly when the time is
up, the volunteer leaves, or a supervisor hands the chat on. Both broker kinds, and two
nodes sharing Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from chat import followup_frames
from tests.conftest import WS, Running, fresh_redis, two_nodes
from tests.integration.test_followup_shifts import code_for


@pytest.fixture(autouse=True)
def quick_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timers every 50 ms; the kept chats' timer looks every 0.1 s (5 s in production) whether the
    volunteer is still on duty."""
    monkeypatch.setattr(followup_frames, "KEEP_CHECK_S", 0.1)


async def busy(server: Running, vol: WS) -> tuple[WS, str]:
    """A first visitor, answered by ``vol``: its one slot is taken."""
    first = await server.visitor({"lang": "sv"})
    await first.expect("assigned")
    return first, (await vol.expect("assigned"))["chat"]


async def both(ws: WS, *kinds: str, timeout: float = 5.0) -> dict[str, dict[str, Any]]:
    """The next frame of each of ``kinds``, in whatever order they come."""
    got: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while set(kinds) - set(got):
        frame = await ws.recv(max(0.01, deadline - loop.time()))
        if frame["type"] in kinds and frame["type"] not in got:
            got[frame["type"]] = frame
    return got


async def test_a_busy_volunteers_chat_is_kept_for_them_and_goes_to_them_when_free(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    _, first = await busy(server, sara)
    bo = await server.volunteer("bo")

    back = await server.visitor({"lang": "sv", "followup": code})
    welcome = await back.expect("welcome")
    # (the first position may come before or after it: the next shift is looked up meanwhile)
    got = await both(back, "followup_away", "queued")
    away, queued = got["followup_away"], got["queued"]
    assert away["kept"] is True and away["busy"] is True and away["key"] == "followup_kept"
    assert 590 <= away["wait_s"] <= 600
    assert away["text"].startswith("Sara pratar med någon annan just nu. Vi håller din plats åt Sara i högst 10 minuter")
    # Bo is free, but the chat is Sara's to take: he is not given it.
    assert queued["position"] == 1 and queued["estimated_wait_s"] > 0
    await bo.none_of("assigned", timeout=0.6)
    # It blocks nobody: a young person who comes after goes to Bo at once.
    later = await server.visitor({"lang": "sv"})
    assert (await later.expect("assigned"))["volunteer"] == "Bo"
    await bo.expect("assigned")

    # A resume finds it still kept.
    await back.close()
    back = await server.visitor({"resume": welcome["resume_token"]})
    kept = await back.expect("followup_kept")
    assert kept["kept"] is True and kept["volunteer"] == "Sara" and 0 < kept["wait_s"] <= 600

    # Sara ends her chat and files its wrap-up: the kept chat is hers now, ahead of anyone.
    await sara.send({"type": "end", "chat": first})
    await sara.expect("ended")
    await sara.send({"type": "wrapup", "chat": first, "report": {"topic": "exposed"}})
    await sara.expect("wrapup_saved")
    assert (await back.expect("assigned"))["volunteer"] == "Sara"
    chat = (await sara.expect("assigned"))["chat"]
    assert (await sara.expect("followup_returned"))["chat"] == chat
    # Answered, then handed on: an ordinary chat now (not kept again), nothing to choose.
    await sara.send({"type": "transfer", "chat": chat, "to": {"queue": "sv"}})
    await sara.expect("transferred")
    await back.line("system")                       # "Du kopplas vidare till en annan volontär …"
    state = await server.hub.live.read_chat(chat)
    assert state is not None and state.fvol and not state.fkeep
    await back.send({"type": "followup_choice", "wait": True})
    assert (await back.expect("error"))["code"] == "followup_not_waiting"


async def test_someone_else_now_releases_it_and_it_keeps_its_place(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    await busy(server, sara)
    back = await server.visitor({"lang": "sv", "followup": code})
    got = await both(back, "followup_away", "queued")
    assert got["followup_away"]["kept"] is True and got["queued"]["position"] == 1
    after = await server.visitor({"lang": "sv"})
    await after.queued_at(2)

    # Bad input, and a chat with nobody to wait for, get an error frame and change nothing.
    await back.send({"type": "followup_choice", "wait": "no"})
    err = await back.expect("error")
    assert err["code"] == "invalid_field" and "wait" in err["detail"]
    await back.send({"type": "followup_choice"})
    assert (await back.expect("error"))["code"] == "invalid_field"
    await after.send({"type": "followup_choice", "wait": True})
    assert (await after.expect("error"))["code"] == "followup_not_waiting"
    await after.send({"type": "followup_choice", "wait": False})
    assert (await after.expect("error"))["code"] == "followup_not_waiting"

    await back.send({"type": "followup_choice", "wait": False})
    released = await back.expect("followup_kept")
    assert released == {"type": "followup_kept", "kept": False, "volunteer": "Sara", "reason": "choice",
                        "text": "Okej. Du får prata med den som blir ledig först. Du behåller din plats i kön."}
    # Changed their mind while Sara is still on duty: kept again, until the same time as before.
    await back.send({"type": "followup_choice", "wait": True})
    again = await back.expect("followup_kept")
    assert again["kept"] is True and 0 < again["wait_s"] <= 600
    await back.send({"type": "followup_choice", "wait": False})
    assert (await back.expect("followup_kept"))["kept"] is False
    # Bo comes: the released chat is first in line, ahead of the one that came after it.
    bo = await server.volunteer("bo")
    assert (await back.expect("assigned"))["volunteer"] == "Bo"
    await bo.expect("assigned")
    await after.none_of("assigned", timeout=0.3)
    await back.send({"type": "followup_choice", "wait": True})
    assert (await back.expect("error"))["code"] == "followup_not_waiting"


async def test_when_the_time_is_up_it_goes_to_anyone_and_the_young_person_is_told(server_factory: Any) -> None:
    server: Running = await server_factory(followup_wait_s=1.5)
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    await busy(server, sara)
    bo = await server.volunteer("bo")
    back = await server.visitor({"lang": "en", "followup": code})
    away = await back.expect("followup_away")
    assert away["kept"] is True and away["wait_s"] <= 2
    assert "We keep your place for Sara for at most 1 minutes" in away["text"]
    await bo.none_of("assigned", timeout=0.8)
    got = await both(back, "followup_kept", "assigned")
    assert got["followup_kept"]["kept"] is False and got["followup_kept"]["reason"] == "timeout"
    assert got["followup_kept"]["text"] == ("Sara cannot take your chat right now. You will talk with whoever is "
                                            "free first. You keep your place in the queue.")
    assert got["assigned"]["volunteer"] == "Bo"


async def test_a_volunteer_who_pauses_or_leaves_releases_the_chat(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    await busy(server, sara)
    back = await server.visitor({"lang": "sv", "followup": code})
    assert (await back.expect("followup_away"))["kept"] is True
    await sara.send({"type": "status", "state": "paused"})
    got = await back.expect("followup_kept")
    assert got["kept"] is False and got["reason"] == "away"
    assert got["text"].startswith("Sara kan inte ta din chatt just nu.")
    await back.send({"type": "followup_choice", "wait": True})
    assert (await back.expect("error"))["code"] == "followup_not_waiting"
    await server.volunteer("bo")
    assert (await back.expect("assigned"))["volunteer"] == "Bo"


async def test_an_off_duty_volunteer_has_nothing_to_wait_for(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    back = await server.visitor({"lang": "sv", "followup": code})
    away = await back.expect("followup_away")
    assert away["kept"] is False and away["wait_s"] is None and away["busy"] is False
    assert away["key"] == "followup_away_unbooked"
    await back.send({"type": "followup_choice", "wait": True})
    assert (await back.expect("error"))["code"] == "followup_not_waiting"
    # "Someone else now" is answered (the widget offers it), though nothing was kept.
    await back.send({"type": "followup_choice", "wait": False})
    got = await back.expect("followup_kept")
    assert got["kept"] is False and got["reason"] == "choice" and got["volunteer"] == "Sara"
    # An ordinary chat in the queue: whoever comes first takes it.
    await server.volunteer("bo")
    assert (await back.expect("assigned"))["volunteer"] == "Bo"


async def test_the_overview_shows_the_kept_chat_and_route_any_releases_it(server: Running) -> None:
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    await server.add_account("sup", role="supervisor", display_name="Siv")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    await busy(server, sara)
    back = await server.visitor({"lang": "sv", "followup": code})
    assert (await back.expect("followup_away"))["kept"] is True
    chat = await kept_chat(server)
    sup = await server.volunteer("sup", available=False)
    await sup.send({"type": "supervise", "active": True})
    overview = await sup.expect("overview")
    [row] = [c for c in overview["chats"] if c["chat"] == chat]
    assert row["kept_for"] == "Sara" and 0 < row["followup_wait_s"] <= 600 and "specialist_wait_s" not in row
    assert overview["queue"]["for_volunteer"] == 1 and overview["queue"]["for_specialist"] == 0

    await sup.send({"type": "route_any", "chat": chat})
    assert (await sup.expect("routed_any"))["chat"] == chat
    got = await back.expect("followup_kept")
    assert got["kept"] is False and got["reason"] == "supervisor"
    overview = await sup.expect("overview")
    [row] = [c for c in overview["chats"] if c["chat"] == chat]
    assert "kept_for" not in row and overview["queue"]["for_volunteer"] == 0
    # The young person cannot undo the supervisor's choice by asking to wait again.
    await back.send({"type": "followup_choice", "wait": True})
    assert (await back.expect("error"))["code"] == "followup_not_waiting"
    await server.volunteer("bo")
    assert (await back.expect("assigned"))["volunteer"] == "Bo"


async def kept_chat(server: Running) -> str:
    """The one queued chat (its id is not sent to the visitor)."""
    hub = server.hub
    order = await hub.broker.read(lambda tx: tx.zrange("jc:queue", watch=False))
    [chat] = [c for c, _ in order]
    return str(chat)


async def test_kept_across_two_nodes_on_redis(tmp_path: Path) -> None:
    async with two_nodes(tmp_path, await fresh_redis()) as (a, b):
        await a.add_account("bo", display_name="Bo")
        code = await code_for(a, "anna")
        anna = await a.volunteer("anna")
        first, chat = await busy(b, anna)
        bo = await b.volunteer("bo")
        # On node B, kept for Anna on node A; Bo (node B) is free but not given it.
        back = await b.visitor({"lang": "sv", "followup": code})
        away = await back.expect("followup_away")
        assert away["kept"] is True and away["volunteer"] == "Anna"
        await bo.none_of("assigned", timeout=0.8)
        # A second one, its visitor on node A, chooses someone else: Bo (node B) takes it.
        other = await a.visitor({"lang": "sv", "followup": code})
        assert (await other.expect("followup_away"))["kept"] is True
        await other.send({"type": "followup_choice", "wait": False})
        assert (await other.expect("followup_kept"))["reason"] == "choice"
        assert (await other.expect("assigned"))["volunteer"] == "Bo"
        # Anna finishes on node A: the chat kept on node B's visitor goes to her.
        await anna.send({"type": "end", "chat": chat})
        await anna.expect("ended")
        await anna.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
        await anna.expect("wrapup_saved")
        assert (await back.expect("assigned", timeout=8))["volunteer"] == "Anna"
        assert (await anna.expect("followup_returned"))["chat"] != chat


async def test_a_kept_chat_behind_others_goes_to_its_volunteer_first(server: Running) -> None:
    """The matching reads only the head of the queue; a chat kept for Sara that stands behind
    an ordinary chat still goes to her the moment she is free, and the ordinary one waits."""
    await server.add_account("sara", display_name="Sara")
    await server.add_account("bo", display_name="Bo")
    code = await code_for(server, "sara")
    sara = await server.volunteer("sara")
    _, first = await busy(server, sara)
    await sara.send({"type": "status", "state": "paused"})      # ordinary chats queue up meanwhile
    ahead = await server.visitor({"lang": "sv"})
    assert (await ahead.expect("queued"))["position"] == 1
    await sara.send({"type": "status", "state": "available"})
    back = await server.visitor({"lang": "sv", "followup": code})
    assert (await back.expect("followup_away"))["kept"] is True
    # Sara files her wrap-up: one free slot, and the kept chat is hers, ahead of the earlier one.
    await sara.send({"type": "end", "chat": first})
    await sara.expect("ended")
    await sara.send({"type": "wrapup", "chat": first, "report": {"topic": "exposed"}})
    await sara.expect("wrapup_saved")
    assert (await back.expect("assigned"))["volunteer"] == "Sara"
    await ahead.none_of("assigned", timeout=0.6)
    # And the index of kept chats holds nothing once it was answered.
    assert not await server.hub.broker.read(lambda tx: tx.smembers("jc:kept", watch=False))
    # The earlier chat goes to the next free volunteer as ever.
    await server.volunteer("bo")
    assert (await ahead.expect("assigned"))["volunteer"] == "Bo"
