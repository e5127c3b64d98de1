"""Warm transfer (offer, accept, decline, lapse, sender dropped; language and skill pools)
and care for volunteers (debrief, escalation counts, heavy chats in a row), on both
broker pairs (SQLite+memory, PostgreSQL+Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from chat import state as S
from referral.record import ChatRecord

from ..conftest import WS, Running
from .test_supervision import audited, drain, supervisor

NOTE = "NOTE-MARKER Hon är rädd för sin pojkvän, vill prata om skolan"


async def anna_with_chat(server: Running, intake: dict[str, Any] | None = None) -> tuple[WS, WS, str]:
    await server.add_account("anna", display_name="Anna", capacity=1)
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    if intake:
        await vis.send({"type": "intake", **intake})
    chat = (await vol.expect("assigned"))["chat"]
    await vis.expect("assigned")
    return vol, vis, chat


async def colleague_ids(ws: WS) -> dict[str, str]:
    await ws.send({"type": "colleagues"})
    return {v["display_name"]: v["id"] for v in (await ws.expect("colleagues"))["volunteers"]}


async def records(server: Running, count: int) -> list[ChatRecord]:
    for _ in range(100):
        async with server.app.state.db() as session:
            rows = list((await session.scalars(select(ChatRecord))).all())
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} records were not written")


async def test_an_offer_accepted_moves_the_chat_and_only_then_tells_the_visitor(server: Running) -> None:
    vol, vis, chat = await anna_with_chat(server, {"age": 16})
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo", available=False)          # paused: may still take a handover
    ids = await colleague_ids(vol)
    assert set(ids) == {"Bo"}
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    sent = await vol.expect("offer_sent")
    assert (sent["chat"], sent["receivers"], sent["expires_in_s"]) == (chat, 1, 60)
    card = await bo.expect("offer")
    assert (card["chat"], card["from"], card["note"], card["intake"]["age"]) == (chat, "Anna", NOTE, 16)
    assert card["offer"] == sent["offer"] and card["pool"] is None
    # Until Bo answers the chat is Anna's: she writes, the visitor hears nothing of the offer.
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "Jag är kvar"})
    await vol.expect("ack")
    assert (await vis.line("volunteer"))["text"] == "Jag är kvar"
    assert "transferred" not in str(await drain(vis, 0.3))
    # A second offer for the same chat waits for the first.
    await vol.send({"type": "offer", "chat": chat, "to": {"language": "sv"}})
    assert (await vol.expect("error"))["code"] == "out_of_order"

    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await bo.expect("assigned"))["chat"] == chat
    assert (await bo.expect("offer_ended"))["reason"] == "accepted"
    assert (await vol.expect("released"))["reason"] == "transfer"
    ended = await vol.expect("offer_ended")
    assert (ended["reason"], ended["by"]) == ("accepted", "Bo")
    assert (await vis.expect("assigned"))["volunteer"] == "Bo"
    assert (await vis.line("system"))["key"] == "transferred"
    await bo.send({"type": "message", "chat": chat, "id": 1, "text": "Hej, Bo här"})
    assert (await vis.line("volunteer"))["text"] == "Hej, Bo här"
    await vol.send({"type": "message", "chat": chat, "id": 2, "text": "sent"})
    assert (await vol.expect("error"))["code"] == "unknown_chat"
    assert await audited(server, "chat.offer", chat) and await audited(server, "chat.transfer", chat)
    # The offer is over: a second answer gets unknown_offer.
    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await bo.expect("error"))["code"] == "unknown_offer"


async def test_an_offer_declined_leaves_the_chat_with_the_sender(server: Running) -> None:
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": ""})
    card = await bo.expect("offer")
    # Someone else cannot answer it.
    await vol.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await vol.expect("error"))["code"] == "unknown_offer"
    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": False})
    assert (await bo.expect("offer_ended"))["reason"] == "declined"
    ended = await vol.expect("offer_ended")
    assert (ended["reason"], ended["by"], ended["chat"]) == ("declined", "Bo", chat)
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "fortfarande jag"})
    await vol.expect("ack")
    assert (await vis.line("volunteer"))["text"] == "fortfarande jag"
    await bo.none_of("assigned")
    # The chat may be offered again at once; Anna takes this one back before Bo answers.
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": "igen"})
    again = await bo.expect("offer")
    assert again["note"] == "igen"
    await bo.send({"type": "offer_cancel", "offer": again["offer"]})          # not Bo's to cancel
    assert (await bo.expect("error"))["code"] == "unknown_offer"
    await vol.send({"type": "offer_cancel", "offer": again["offer"]})
    assert (await vol.expect("offer_ended"))["reason"] == "cancelled"
    assert (await bo.expect("offer_ended"))["reason"] == "withdrawn"
    await bo.send({"type": "offer_reply", "offer": again["offer"], "accept": True})
    assert (await bo.expect("error"))["code"] == "unknown_offer"
    await bo.none_of("assigned")


async def test_an_offer_nobody_answers_lapses(server_factory: Any, fast_timers: None) -> None:
    server = await server_factory(transfer_offer_s=0.5)
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    card = await bo.expect("offer")
    assert (await vol.expect("offer_ended", timeout=5))["reason"] == "expired"
    assert (await bo.expect("offer_ended", timeout=5))["reason"] == "expired"
    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await bo.expect("error"))["code"] == "unknown_offer"
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "kvar hos Anna"})
    assert (await vis.line("volunteer"))["text"] == "kvar hos Anna"


async def test_the_receiver_may_take_the_chat_after_the_sender_dropped(server: Running) -> None:
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    card = await bo.expect("offer")
    await vol.close()                               # Anna's console drops (within her grace period)
    await asyncio.sleep(0.2)
    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await bo.expect("assigned"))["chat"] == chat
    assert (await vis.expect("assigned"))["volunteer"] == "Bo"
    await vis.send({"type": "message", "id": 1, "text": "hallå?"})
    assert (await bo.line("visitor"))["text"] == "hallå?"
    # Anna comes back: the chat is not hers any more.
    vol = await server.volunteer("anna", available=False)
    assert "assigned" not in [f["type"] for f in await drain(vol, 0.3)]


async def test_a_console_that_reconnects_gets_its_open_offers_again_with_the_time_left(server: Running) -> None:
    """A reload or a dropped network loses no offer: the receiver's new console gets the card again
    (note, intake, the seconds left) and can take the chat; the sender's gets its wait again. An offer
    a console declined, or one that is over, is not sent again."""
    vol, vis, chat = await anna_with_chat(server, {"age": 15})
    for name in ("bo", "cia"):
        await server.add_account(name, display_name=name.capitalize())
    bo = await server.volunteer("bo")
    cia = await server.volunteer("cia")
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    sent = await vol.expect("offer_sent")
    first = await bo.expect("offer")
    # The note waits sealed in the offer's hash, never in the clear; the offer is indexed while open.
    raw = await server.hub.broker.read(lambda tx: tx.hgetall(S.offer_key(sent["offer"]), watch=False))
    assert raw["note"] and "NOTE-MARKER" not in str(raw)
    assert [o for o, _ in await server.hub.broker.read(lambda tx: tx.zrange(S.OFFERS, watch=False))] == [sent["offer"]]

    await asyncio.sleep(1.1)                        # a second passes: the card comes back with less time
    await bo.close()                                # Bo's page reloads
    bo = await server.volunteer("bo", available=False)
    again = await bo.expect("offer")
    assert again["resumed"] is True and "resumed" not in first
    assert {k: v for k, v in again.items() if k not in ("resumed", "expires_in_s")} == \
        {k: v for k, v in first.items() if k != "expires_in_s"}
    assert (again["note"], again["from"], again["intake"]["age"]) == (NOTE, "Anna", 15)
    assert 50 <= again["expires_in_s"] < first["expires_in_s"] == 60
    assert "offer" not in [f["type"] for f in await drain(bo, 0.3)]          # once, not twice
    # Anna's page reloads too: her wait comes back after her chat.
    await vol.close()
    vol = await server.volunteer("anna", available=False)
    frames = [await vol.expect("assigned"), await vol.expect("offer_sent")]
    assert frames[0]["chat"] == chat and frames[0]["resumed"] is True
    assert {k: frames[1][k] for k in ("offer", "chat", "to", "receivers", "resumed")} == \
        {"offer": sent["offer"], "chat": chat, "to": {"volunteer": ids["Bo"]}, "receivers": 1, "resumed": True}
    assert frames[1]["expires_in_s"] < 60
    # Bo takes it from the new console; Anna's new console hears of it.
    await bo.send({"type": "offer_reply", "offer": sent["offer"], "accept": True})
    assert (await bo.expect("assigned"))["chat"] == chat
    assert (await vol.expect("released"))["reason"] == "transfer"
    assert (await vis.expect("assigned"))["volunteer"] == "Bo"
    assert await server.hub.broker.read(lambda tx: tx.zrange(S.OFFERS, watch=False)) == []
    assert await server.hub.broker.read(lambda tx: tx.hgetall(S.offer_key(sent["offer"]), watch=False)) == {}

    # A pool offer: Cia declines and reloads (nothing comes back); Anna, free again, reloads and gets it.
    await bo.send({"type": "offer", "chat": chat, "to": {"language": "sv"}, "note": ""})
    pool = await bo.expect("offer_sent")
    assert pool["receivers"] == 2
    assert (await cia.expect("offer"))["pool"] == {"language": "sv"}
    assert (await vol.expect("offer"))["note"] == ""
    await cia.send({"type": "offer_reply", "offer": pool["offer"], "accept": False})
    assert (await cia.expect("offer_ended"))["reason"] == "declined"
    await cia.close()
    cia = await server.volunteer("cia", available=False)
    await vol.close()
    vol = await server.volunteer("anna", available=False)
    assert (await vol.expect("offer"))["offer"] == pool["offer"]
    assert "offer" not in [f["type"] for f in await drain(cia, 0.3)]
    # Taken back: over, so a console that connects now gets nothing of it.
    await bo.send({"type": "offer_cancel", "offer": pool["offer"]})
    assert (await vol.expect("offer_ended"))["reason"] == "withdrawn"
    await vol.close()
    vol = await server.volunteer("anna", available=False)
    assert not {"offer", "offer_sent"} & {f["type"] for f in await drain(vol, 0.3)}
    await bo.close()
    bo = await server.volunteer("bo", available=False)
    assert not {"offer", "offer_sent"} & {f["type"] for f in await drain(bo, 0.3)}


async def test_an_offer_after_the_chat_went_back_to_the_queue_is_withdrawn(server_factory: Any,
                                                                            fast_timers: None) -> None:
    server = await server_factory(volunteer_grace_s=0.3)
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo", available=False)
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    card = await bo.expect("offer")
    await vol.close()
    assert (await vis.expect("queued", timeout=5))["position"] == 1     # Anna's grace period passed
    # The offer is withdrawn at once (not at its deadline); a late answer finds it gone.
    withdrawn = await bo.expect("offer_ended", timeout=5)
    assert (withdrawn["offer"], withdrawn["reason"]) == (card["offer"], "withdrawn")
    await bo.send({"type": "offer_reply", "offer": card["offer"], "accept": True})
    assert (await bo.expect("error"))["code"] == "unknown_offer"
    await bo.none_of("assigned")


async def test_an_offer_for_a_chat_that_ends_is_withdrawn(server: Running, fast_timers: None) -> None:
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    ids = await colleague_ids(vol)
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": NOTE})
    offer = (await bo.expect("offer"))["offer"]
    await vis.send({"type": "leave"})
    assert (await bo.expect("offer_ended", timeout=5))["reason"] == "withdrawn"
    ended = await vol.expect("offer_ended", timeout=5)
    assert (ended["offer"], ended["reason"]) == (offer, "withdrawn")


async def test_pool_offers_go_to_every_free_member_and_the_first_takes_it(server: Running) -> None:
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo", languages="sv,en")
    await server.add_account("cia", display_name="Cia", languages="en")
    await server.add_account("dan", display_name="Dan", languages="sv")
    bo, cia, dan = [await server.volunteer(n) for n in ("bo", "cia", "dan")]
    await vol.send({"type": "offer", "chat": chat, "to": {"language": "en"}, "note": NOTE})
    assert (await vol.expect("offer_sent"))["receivers"] == 2
    offer = (await bo.expect("offer"))["offer"]
    assert (await cia.expect("offer"))["pool"] == {"language": "en"}
    await dan.none_of("offer")
    await cia.send({"type": "offer_reply", "offer": offer, "accept": False})
    await cia.expect("offer_ended")
    await vol.none_of("offer_ended", 0.3)           # Bo has not answered yet
    await bo.send({"type": "offer_reply", "offer": offer, "accept": True})
    assert (await bo.expect("assigned"))["chat"] == chat
    assert (await vol.expect("offer_ended"))["reason"] == "accepted"

    # A skill pool: the consoles whose skills include it (the account's skills, as an admin sets them).
    await server.hub.skills_changed((await colleague_ids(bo))["Dan"], frozenset({"honour"}))
    await bo.send({"type": "offer", "chat": chat, "to": {"skill": "honour"}, "note": ""})
    assert (await bo.expect("offer_sent"))["receivers"] == 1
    offer = (await dan.expect("offer"))["offer"]
    await cia.none_of("offer")
    await dan.send({"type": "offer_reply", "offer": offer, "accept": True})
    assert (await dan.expect("assigned"))["chat"] == chat
    # Nobody with that skill (or language) free: refused at once.
    await dan.send({"type": "offer", "chat": chat, "to": {"skill": "nosuchskill"}, "note": ""})
    assert (await dan.expect("error"))["code"] == "transfer_refused"


async def test_offers_refused_at_the_edge(server: Running) -> None:
    vol, vis, chat = await anna_with_chat(server)
    await server.add_account("bo", display_name="Bo")
    bo = await server.volunteer("bo")
    ids = await colleague_ids(vol)
    await bo.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": ""})
    assert (await bo.expect("error"))["code"] == "unknown_chat"          # not Bo's chat
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": "nosuchaccount"}, "note": ""})
    assert (await vol.expect("error"))["code"] == "transfer_refused"
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": "x" * 65}, "note": ""})
    assert "to" in (await vol.expect("error"))["detail"]
    await vol.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": "x" * 501})
    err = await vol.expect("error")
    assert (err["code"], err["detail"].split(":")[0]) == ("invalid_field", "note")
    # A supervisor may offer any chat, on the holder's behalf.
    sup = await supervisor(server)
    await sup.send({"type": "offer", "chat": chat, "to": {"volunteer": ids["Bo"]}, "note": ""})
    assert (await sup.expect("offer_sent"))["chat"] == chat
    offer = (await bo.expect("offer"))["offer"]
    await sup.send({"type": "supervise", "active": True})
    ov = await sup.expect("overview")
    assert "offered" in next(c for c in ov["chats"] if c["chat"] == chat)["flags"]
    assert "NOTE" not in str(ov)
    await bo.send({"type": "offer_reply", "offer": offer, "accept": True})
    assert (await vol.expect("released"))["chat"] == chat
    assert (await sup.expect("offer_ended"))["reason"] == "accepted"


async def test_debrief_escalations_and_heavy_chats_are_counted_and_a_pause_suggested(
        server_factory: Any) -> None:
    server = await server_factory(care_heavy_streak=2)
    vol, vis, chat = await anna_with_chat(server)
    sup = await supervisor(server)
    await sup.send({"type": "supervise", "active": True})
    await vol.send({"type": "escalate", "chat": chat, "kind": "help"})
    await vol.expect("escalated")
    await vol.send({"type": "escalate", "chat": chat, "kind": "acute"})
    await vol.expect("escalated")
    await vol.send({"type": "debrief", "chat": chat})
    assert (await vol.expect("error"))["code"] == "out_of_order"          # after the chat
    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    await vol.send({"type": "debrief", "chat": chat})
    assert (await vol.expect("debrief_sent"))["chat"] == chat
    await vol.send({"type": "debrief", "chat": chat})                   # once is enough
    await vol.expect("debrief_sent")
    for _ in range(40):
        ov = await sup.expect("overview", timeout=3)
        debriefs = [a for a in ov["alerts"] if a["kind"] == "debrief"]
        if debriefs:
            break
    assert [(a["chat"], a["volunteer"]) for a in debriefs] == [(chat, "Anna")]
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    await vol.expect("wrapup_saved")
    await vol.none_of("care")                                          # one heavy chat (acute)
    # The debrief alert stays after the chat is over, until dismissed.
    ov = await sup.expect("overview", timeout=3)
    assert [a["kind"] for a in ov["alerts"] if a["chat"] == chat] == ["debrief"]

    vis2 = await server.visitor({"lang": "sv"})
    chat2 = (await vol.expect("assigned"))["chat"]
    await vol.send({"type": "end", "chat": chat2})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat2, "report": {"topic": "exposed", "heavy": True}})
    await vol.expect("wrapup_saved")
    care = await vol.expect("care")
    assert (care["suggest"], care["heavy_in_row"]) == ("pause", 2)
    # Paused: the count starts again.
    await vol.send({"type": "status", "state": "paused"})
    await vol.expect("status")
    await vol.send({"type": "status", "state": "available"})
    await vol.expect("status")
    vis3 = await server.visitor({"lang": "sv"})
    chat3 = (await vol.expect("assigned"))["chat"]
    await vol.send({"type": "end", "chat": chat3})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat3, "report": {"topic": "uses_violence"}})
    await vol.expect("wrapup_saved")
    await vol.none_of("care")

    rows = sorted(((r.escalations_help, r.escalations_acute, r.debrief, r.heavy, r.topic)
                   for r in await records(server, 3)), key=str)
    assert rows == sorted([(1, 1, True, True, "exposed"), (0, 0, False, True, "exposed"),
                           (0, 0, False, True, "uses_violence")], key=str)
    for ws in (vis2, vis3):
        await ws.close()
