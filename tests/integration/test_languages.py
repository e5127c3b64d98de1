"""Seven chat languages through the real server, on both broker pairs (SQLite + memory://,
PostgreSQL + Redis): routing prefers a speaker of the chat's language, the record keeps the
language, server texts come in it, and the supervisor's overview counts the queue and the
volunteers on duty per language."""

from __future__ import annotations

import pytest

from chat import texts
from chat.kernel import languages

from ..conftest import Running
from .test_chat_flow import wait_for_records
from .test_supervision import supervisor


@pytest.mark.parametrize("lang", languages.CODES)
async def test_a_chat_goes_to_a_volunteer_who_speaks_its_language(server: Running, lang: str) -> None:
    other = "en" if lang == "sv" else "sv"
    await server.add_account("first", languages=other, display_name="First")
    await server.add_account("speaker", languages=f"{other},{lang}", display_name="Speaker")
    first = await server.volunteer("first")          # idle the longest: would get the chat without the language
    speaker = await server.volunteer("speaker")
    vis = await server.visitor({"lang": lang})
    await vis.expect("welcome")
    assert (await vis.expect("assigned"))["volunteer"] == "Speaker"
    assigned = await speaker.expect("assigned")
    assert assigned["lang"] == lang
    await first.nothing(0.3)

    chat = assigned["chat"]
    await speaker.send({"type": "end", "chat": chat})
    assert (await vis.expect("ended"))["by"] == "volunteer"
    await speaker.expect("ended")
    await speaker.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    await speaker.expect("wrapup_saved")
    [row] = await wait_for_records(server, 1)
    assert row.lang == lang


@pytest.mark.parametrize("lang", ["ar", "ti"])
async def test_without_a_speaker_the_chat_still_goes_to_someone(server: Running, lang: str) -> None:
    await server.add_account("anna", languages="sv,en", display_name="Anna")
    anna = await server.volunteer("anna")
    vis = await server.visitor({"lang": lang})
    assert (await vis.expect("assigned"))["volunteer"] == "Anna"
    assert (await anna.expect("assigned"))["lang"] == lang


async def test_the_queue_full_answer_is_in_the_visitors_language(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(max_queue=1)
    first = await server.visitor({"lang": "sv"})
    await first.expect("queued")
    vis = await server.visitor({"lang": "uk"})
    closed = await vis.expect("closed")
    assert closed["reason"] == "full" and closed["text"] == texts.text("queue_full", "uk")
    assert "112" in closed["text"] and closed["services"]


async def test_the_overview_counts_waiting_chats_and_speakers_per_language(server: Running) -> None:
    await server.add_account("hodan", languages="sv,so", display_name="Hodan")
    hodan = await server.volunteer("hodan", available=False)     # on duty, paused
    waiting = []
    for lang in ("ar", "ar", "so"):
        vis = await server.visitor({"lang": lang})
        await vis.expect("queued")
        waiting.append(vis)
    sup = await supervisor(server)
    await sup.send({"type": "supervise", "active": True})
    ov = await sup.expect("overview")
    by = {row["lang"]: row for row in ov["languages"]}
    assert [row["lang"] for row in ov["languages"]] == list(languages.CODES)
    assert (by["ar"]["waiting"], by["ar"]["on_duty"], by["ar"]["available"]) == (2, [], 0)
    assert by["ar"]["longest_wait_s"] >= 0
    assert (by["so"]["waiting"], by["so"]["on_duty"], by["so"]["available"]) == (1, ["Hodan"], 0)
    assert (by["sv"]["waiting"], by["sv"]["on_duty"]) == (0, ["Hodan", "Sara"])
    assert by["ti"] == {"lang": "ti", "waiting": 0, "longest_wait_s": 0, "on_duty": [], "available": 0}

    # Fair FIFO (chat/routing.py): the chat waiting longest goes to the one free volunteer, speaker or not.
    await hodan.send({"type": "status", "state": "available"})
    assert (await hodan.expect("assigned"))["lang"] == "ar"
    for _ in range(10):
        ov = await sup.expect("overview", timeout=3)
        by = {row["lang"]: row for row in ov["languages"]}
        if by["ar"]["waiting"] == 1:
            break
    assert (by["ar"]["waiting"], by["so"]["waiting"], by["so"]["on_duty"]) == (1, 1, ["Hodan"])


async def test_the_admin_page_and_cli_take_the_new_codes_and_name_a_bad_one(server: Running) -> None:
    admin = await server.client("root", role="admin", trained=False)
    async with admin:
        r = await admin.post("/api/admin/accounts", json={"username": "samira", "display_name": "Samira",
                                                          "languages": ["sv", "ar", "fa", "so", "ti", "uk"]})
        assert r.status_code == 201, r.text
        assert r.json()["account"]["languages"] == ["sv", "ar", "fa", "so", "ti", "uk"]
        r = await admin.post("/api/admin/accounts", json={"username": "kim", "display_name": "Kim",
                                                          "languages": "sv,de"})
        assert r.status_code == 400 and "sv, en, ar, fa, so, ti, uk" in r.text
