"""Referrals through the real server: suggest, directory edits, refer in a chat, redeem.

Each test runs on both pairs (SQLite + memory://, PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from referral import codes, store
from referral.models import RecordReferral, ReferralCode

from ..conftest import Running
from .test_chat_flow import wait_for_records

CSRF = {"X-Jourchatt-CSRF": "1"}


async def signed_in(server: Running, username: str, role: str = "volunteer") -> httpx.AsyncClient:
    return await server.client(username, role=role)


async def partner_key(server: Running, pid: str = "rvc-sydvast", services: list[str] | None = None) -> str:
    return await store.add_partner(server.app.state.db, pid, "RVC Sydväst", services or ["rvc-sydvast"],
                                   date.today())


async def redeem(server: Running, key: str | None, code: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(base_url=server.http) as c:
        return await c.post("/api/referrals/redeem", json={"code": code}, headers=headers)


async def chat_with_intake(server: Running, intake: dict[str, Any]) -> tuple[Any, Any, str, str]:
    await server.add_account("anna", display_name="Anna")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    welcome = await vis.expect("welcome")
    await vis.send({"type": "intake", **intake})
    await vis.expect("assigned")
    chat = (await vol.expect("assigned"))["chat"]
    # the intake frame may land before or after the assignment: wait until the volunteer knows it
    for _ in range(100):
        st = await server.hub.live.read_chat(chat)
        if st is not None and server.hub.live.intake(st).get("age") == intake.get("age"):
            break
        await asyncio.sleep(0.02)
    return vol, vis, chat, welcome["resume_token"]


async def test_suggest_ranks_services_with_reasons(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as anon:
        assert (await anon.get("/api/referrals/suggest?age=19")).status_code == 401
    client = await signed_in(server, "anna")
    async with client:
        r = await client.get("/api/referrals/suggest", params={
            "age": "19", "role": "uses_violence", "municipality": "0180", "district": "skarholmen"})
        assert r.status_code == 200
        services = r.json()["services"]
        by_id = {s["id"]: s for s in services}
        assert by_id["rvc-sydvast"]["reason"] == "18 år eller äldre, använder våld, bor i Skärholmen"
        assert {"id", "kind", "name", "reason", "description", "contact", "hours", "anonymous"} <= set(services[0])
        assert services[-1]["id"] == "emergency-112"

        r = await client.get("/api/referrals/suggest", params={
            "age": "16", "role": "exposed", "municipality": "0182", "acute": "true", "lang": "en"})
        services = r.json()["services"]
        assert services[0]["id"] == "emergency-112"
        assert services[0]["reason"] == "immediate danger: call 112 now"
        assert "atv-nacka" not in [s["id"] for s in services]
        assert any(s["id"] == "samtalsforum-nacka-varmdo" for s in services)
        assert services[1]["description"].startswith("Talks with a psychologist")

        for params, field in [({"age": "sjutton"}, "age"), ({"role": "victim"}, "role"),
                              ({"municipality": "0182", "district": "bromma"}, "district"),
                              ({"lang": "de"}, "lang")]:
            r = await client.get("/api/referrals/suggest", params=params)
            assert r.status_code == 400
            assert r.json()["error"] == "invalid_query" and r.json()["detail"].startswith(field)


async def test_a_coordinator_edits_the_directory_and_every_reader_sees_it(server: Running) -> None:
    volunteer = await signed_in(server, "anna")
    coordinator = await signed_in(server, "cora", role="coordinator")
    async with volunteer, coordinator:
        listing = (await volunteer.get("/api/referrals/directory")).json()
        version = listing["version"]
        umo = next(s for s in listing["services"] if s["id"] == "umo")
        assert umo["eligibility"] == [{"min_age": 13, "max_age": 23}]

        denied = await volunteer.put("/api/referrals/directory/umo", json=umo)
        assert denied.status_code == 403 and denied.json()["error"] == "forbidden"

        changed = {**umo, "eligibility": [{"min_age": 13, "max_age": 25}]}
        r = await coordinator.put("/api/referrals/directory/umo", json=changed,
                                  headers={"If-Match": str(version)})
        assert r.status_code == 200 and r.json()["version"] == version + 1
        ids = [s["id"] for s in (await volunteer.get("/api/referrals/suggest?age=24")).json()["services"]]
        assert "umo" in ids

        stale = await coordinator.put("/api/referrals/directory/umo", json=umo, headers={"If-Match": str(version)})
        assert stale.status_code == 409 and stale.json()["error"] == "directory_changed"

        bad = {**umo, "eligibility": [{"min_age": 30, "max_age": 20}], "contact": {}}
        r = await coordinator.put("/api/referrals/directory/umo", json=bad)
        assert r.status_code == 422 and r.json()["error"] == "invalid_directory"
        assert "service[" in r.json()["detail"] and len(r.json()["errors"]) == 2
        assert any("min_age 30 is above max_age 20" in e for e in r.json()["errors"])

        new = {"id": "tjejjouren", "kind": "womens_shelter", "name": "Tjejjouren", "description": "Stöd",
               "contact": {"web": "https://tjejjouren.se"}, "hours": "Kvällar", "anonymous": True}
        r = await coordinator.put("/api/referrals/directory/tjejjouren", json=new)
        assert r.status_code == 201
        assert any(s["id"] == "tjejjouren" for s in (await volunteer.get("/api/referrals/directory")).json()["services"])


async def test_refer_sends_cards_with_codes_and_one_is_redeemed(server: Running) -> None:
    vol, vis, chat, token = await chat_with_intake(server, {"age": 19, "municipality": "0180",
                                                            "district": "skarholmen"})
    await vol.send({"type": "refer", "chat": chat, "services": ["rvc-sydvast", "umo"]})
    referred = await vol.expect("referred")
    assert referred["chat"] == chat and referred["services"] == ["rvc-sydvast", "umo"]
    frame = await vis.expect("referral")
    assert frame["seq"] == referred["seq"]
    cards = {c["id"]: c for c in frame["services"]}
    assert set(cards) == {"rvc-sydvast", "umo"}
    card = cards["rvc-sydvast"]
    assert card["name"] == "Relationsvåldscentrum Sydväst" and card["anonymous"] is True
    assert card["description"].startswith("Stöd och behandling") and card["hours"] == "Vardagar 8–16"
    assert card["contact"]["phone"] and card["kind"] == "rvc"
    assert card["expires_on"] == (store.today("Europe/Stockholm") + timedelta(days=90)).isoformat()
    code = card["code"]
    assert codes.normalise(code) == code.replace("-", "")
    assert cards["umo"]["code"] != code

    # nothing in the database holds the code in the clear
    async with server.app.state.db() as session:
        rows = (await session.scalars(select(ReferralCode))).all()
    assert len(rows) == 2 and all(code.replace("-", "") not in r.code_hash for r in rows)

    # unknown and ineligible services get clear errors; nothing is sent to the visitor
    await vol.send({"type": "refer", "chat": chat, "services": ["no-such-service"]})
    assert (await vol.expect("error"))["code"] == "unknown_service"
    await vol.send({"type": "refer", "chat": chat, "services": ["atv-nacka"]})
    err = await vol.expect("error")
    assert err["code"] == "ineligible_service" and "atv-nacka" in err["detail"]
    await vol.send({"type": "refer", "chat": chat, "services": ["rvc-sydvast"], "facts": {"age": 17}})
    assert (await vol.expect("error"))["code"] == "ineligible_service"
    await vol.send({"type": "refer", "chat": chat, "services": ["atv-nacka"], "facts": {"age": "x"}})
    err = await vol.expect("error")
    assert err["code"] == "invalid_field" and err["detail"].startswith("facts.age")
    await vis.none_of("referral")

    # a resumed visitor gets the cards again, with the same codes
    await vis.close()
    vis2 = await server.visitor({"resume": token, "last_seq": 0})
    again = await vis2.expect("referral")
    assert again["services"] == frame["services"]

    # the partner redeems while the chat is still open; the record links it later
    key = await partner_key(server)
    r = await redeem(server, key, code.lower())
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"id": "rvc-sydvast", "name": "Relationsvåldscentrum Sydväst"}

    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "uses_violence", "violence": []}})
    await vol.expect("wrapup_saved")
    [record] = await wait_for_records(server, 1)
    for _ in range(100):
        async with server.app.state.db() as session:
            links = (await session.scalars(select(RecordReferral).order_by(RecordReferral.id))).all()
        if links:
            break
        await asyncio.sleep(0.05)
    assert [(x.record_id, x.service_id) for x in links] == [(record.id, "rvc-sydvast"), (record.id, "umo")]
    assert links[0].redeemed_on == store.today("Europe/Stockholm") and links[1].redeemed_on is None

    # the second code is redeemed after the record exists: its row is marked at once
    umo_key = await partner_key(server, "umo", ["umo"])
    assert (await redeem(server, umo_key, cards["umo"]["code"])).status_code == 200
    async with server.app.state.db() as session:
        umo_link = await session.scalar(select(RecordReferral).where(RecordReferral.service_id == "umo"))
        code_rows = (await session.scalars(select(ReferralCode))).all()
    assert umo_link is not None and umo_link.redeemed_on is not None
    assert all(r.referral_id is not None and r.redeemed_on is not None for r in code_rows)
    assert {r.partner_id for r in code_rows} == {"rvc-sydvast", "umo"}


async def test_redeem_once_twice_unknown_expired_mistyped_and_wrong_key(server: Running) -> None:
    server.hub.timers.ticks = 2           # its housekeeping must not purge the code this test expires
    key = await partner_key(server)
    other_key = await partner_key(server, "umo", ["umo"])
    db = server.app.state.db
    issued = await store.issue_codes(db, server.hub.code_key, ["rvc-sydvast", "rvc-sydvast", "umo"],
                                     issued_on=date.today(), valid_days=90)
    fresh, old, umo = (codes.display(i.code) for i in issued)
    async with db() as session, session.begin():
        await session.execute(update(ReferralCode).where(ReferralCode.code_hash == issued[1].code_hash)
                              .values(expires_on=date.today() - timedelta(days=1)))

    r = await redeem(server, key, fresh)
    assert r.status_code == 200 and r.json()["ok"] is True
    r = await redeem(server, key, fresh.replace("-", " "))
    assert r.status_code == 409 and r.json()["error"] == "already_redeemed"
    r = await redeem(server, key, old)
    assert r.status_code == 410 and r.json()["error"] == "expired_code"
    unknown = codes.generate()
    r = await redeem(server, key, unknown)
    assert r.status_code == 404 and r.json()["error"] == "unknown_code"
    r = await redeem(server, key, umo)                 # another service's code: not yours = unknown
    assert r.status_code == 404 and r.json()["error"] == "unknown_code"
    mistyped = fresh[:-1] + next(c for c in codes.ALPHABET if c != fresh[-1])
    r = await redeem(server, key, mistyped)
    assert r.status_code == 400 and r.json()["error"] == "invalid_code" and "mistyped" in r.json()["detail"]
    for bad_key in (None, "jcp_wrong", other_key + "x"):
        r = await redeem(server, bad_key, umo)
        assert r.status_code == 401 and r.json()["error"] == "invalid_key"
    assert (await redeem(server, other_key, umo)).status_code == 200

    await store.disable_partner(db, "umo")
    assert (await redeem(server, other_key, umo)).status_code == 401

    # expired codes are purged; then the code is simply unknown
    assert await store.purge(db, date.today()) == 1
    assert (await redeem(server, key, old)).json()["error"] == "unknown_code"


async def test_redemption_attempts_are_rate_limited_per_key(server_factory: Any) -> None:
    server = await server_factory(redeem_per_minute=5, redeem_failures_per_hour=3)
    key = await partner_key(server)
    other = await partner_key(server, "umo", ["umo"])
    results = [(await redeem(server, key, codes.generate())).status_code for _ in range(4)]
    assert results == [404, 404, 404, 429]
    limited = await redeem(server, key, codes.generate())
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    # another key is not affected; mistyped codes count per minute but are not failures
    assert [(await redeem(server, other, "AAAAA-AAAAB")).status_code for _ in range(5)] == [400] * 5
    assert (await redeem(server, other, "AAAAA-AAAAB")).status_code == 429


async def test_closed_frame_lists_the_directory_services_112_first(server_factory: Any) -> None:
    server = await server_factory(max_queue=1)
    first = await server.visitor({"lang": "en"})
    await first.expect("welcome")
    turned = await server.visitor({"lang": "en"})
    closed = await turned.expect("closed")
    ids = [s["id"] for s in closed["services"]]
    assert ids[0] == "emergency-112" and "umo" in ids and len(ids) >= 3
    assert closed["services"][0]["description"] == "Call 112 if you or someone else is in immediate danger."
    assert all("code" not in s for s in closed["services"])


async def test_the_directory_and_referrals_are_shared_by_every_node(server_factory: Any) -> None:
    a = await server_factory()
    b = await server_factory()
    coordinator = await signed_in(a, "cora", role="coordinator")
    async with coordinator:
        umo = next(s for s in (await coordinator.get("/api/referrals/directory")).json()["services"]
                   if s["id"] == "umo")
        r = await coordinator.put("/api/referrals/directory/umo", json={**umo, "name": "UMO på nätet"})
        assert r.status_code == 200
    b.totp_secrets.update(a.totp_secrets)           # one account, in the database both nodes share
    async with httpx.AsyncClient(base_url=b.http, headers={"Cookie": await b.login("cora")}) as on_b:
        listing = (await on_b.get("/api/referrals/directory")).json()
        assert listing["version"] == r.json()["version"]
        assert next(s for s in listing["services"] if s["id"] == "umo")["name"] == "UMO på nätet"
    if not a.app.state.broker.shared:
        return          # memory:// brokers are one per process: chats do not cross nodes
    await a.add_account("anna")
    vol = await a.volunteer("anna")
    vis = await b.visitor({"lang": "en"})
    await vis.expect("assigned")
    chat = (await vol.expect("assigned"))["chat"]
    await vol.send({"type": "refer", "chat": chat, "services": ["umo"]})
    await vol.expect("referred")
    [card] = (await vis.expect("referral"))["services"]
    assert card["name"] == "UMO på nätet" and card["description"].startswith("Youth clinics")
    assert (await redeem(b, await partner_key(b, "umo", ["umo"]), card["code"])).status_code == 200


async def test_what_the_volunteer_learned_outranks_the_intake(server: Running) -> None:
    vol, vis, chat, _ = await chat_with_intake(server, {"age": 16, "municipality": "0180"})
    await vol.send({"type": "refer", "chat": chat, "services": ["atv-nacka"]})
    assert (await vol.expect("error"))["code"] == "ineligible_service"
    await vol.send({"type": "refer", "chat": chat, "services": ["atv-nacka"],
                    "facts": {"age": 19, "municipality": "0182"}})
    await vol.expect("referred")
    assert [c["id"] for c in (await vis.expect("referral"))["services"]] == ["atv-nacka"]


async def test_a_console_that_reconnects_sees_its_referrals_in_the_history(server: Running) -> None:
    vol, vis, chat, _ = await chat_with_intake(server, {"age": 15})
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "Här är ett ställe att vända sig till."})
    await vol.expect("ack")
    await vol.send({"type": "refer", "chat": chat, "services": ["samtalsmottagning"]})
    referred = await vol.expect("referred")
    await vis.expect("referral")
    await vol.close()
    vol2 = await server.volunteer("anna", available=False)
    assert (await vol2.expect("assigned"))["resumed"] is True
    again = await vol2.expect("referred")
    assert again == referred and "code" not in str(again)


async def test_a_coordinator_replaces_the_whole_directory_all_or_nothing(server: Running) -> None:
    """PUT /api/referrals/directory (the editor's bulk import): an export goes back as it is,
    a document with any error stores nothing, a stale If-Match is refused, only editors may."""
    volunteer = await signed_in(server, "anna")
    coordinator = await signed_in(server, "cora", role="coordinator")
    async with volunteer, coordinator:
        listing = (await coordinator.get("/api/referrals/directory")).json()
        version, docs = listing["version"], listing["services"]
        denied = await volunteer.put("/api/referrals/directory", json={"service": docs})
        assert denied.status_code == 403 and denied.json()["error"] == "forbidden"

        export = {"format": 1, "version": version, "service": [
            {**d, "name": "UMO på nätet"} if d["id"] == "umo" else d for d in docs if d["id"] != "atv-nacka"]}
        r = await coordinator.put("/api/referrals/directory", json=export, headers={"If-Match": str(version)})
        assert r.status_code == 200 and r.json() == {"version": version + 1, "services": len(docs) - 1}
        now = {d["id"]: d for d in (await volunteer.get("/api/referrals/directory")).json()["services"]}
        assert now["umo"]["name"] == "UMO på nätet" and "atv-nacka" not in now

        bad = {"service": [*export["service"], {"id": "trasig", "kind": "nope", "name": "Trasig"}]}
        r = await coordinator.put("/api/referrals/directory", json=bad)
        assert r.status_code == 422 and r.json()["error"] == "invalid_directory"
        assert any(e.startswith(f"service[{len(docs) - 1}] trasig: kind:") for e in r.json()["errors"])
        assert (await coordinator.get("/api/referrals/directory")).json()["version"] == version + 1   # nothing stored

        stale = await coordinator.put("/api/referrals/directory", json=export, headers={"If-Match": str(version)})
        assert stale.status_code == 409 and stale.json()["error"] == "directory_changed"
        r = await coordinator.put("/api/referrals/directory", json=[1, 2])
        assert r.status_code == 400 and r.json()["error"] == "invalid_body"
        r = await coordinator.put("/api/referrals/directory", json={"service": export["service"]},
                                  headers={"If-Match": "latest"})
        assert r.status_code == 400 and "If-Match" in r.json()["detail"]
        huge = {"service": [{"id": "x", "description": "å" * (2 * 1024 * 1024)}]}
        r = await coordinator.put("/api/referrals/directory", json=huge)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"


async def test_a_coordinator_removes_an_entry_unless_the_rest_would_break(server: Running) -> None:
    coordinator = await signed_in(server, "cora", role="coordinator")
    async with coordinator:
        assert (await coordinator.delete("/api/referrals/directory/nothing-here")).status_code == 404
        r = await coordinator.delete("/api/referrals/directory/stodcentrum")       # others defer to it
        assert r.status_code == 422 and "no service has id 'stodcentrum'" in r.json()["detail"]
        r = await coordinator.delete("/api/referrals/directory/emergency-112")
        assert r.status_code == 422 and "emergency service" in r.json()["detail"]
        r = await coordinator.delete("/api/referrals/directory/umo")
        assert r.status_code == 200
        ids = [s["id"] for s in (await coordinator.get("/api/referrals/directory")).json()["services"]]
        assert "umo" not in ids and "stodcentrum" in ids


async def test_each_node_purges_expired_codes_in_its_housekeeping(server: Running) -> None:
    from chat.live import timers as timers_module

    db = server.app.state.db
    issued = await store.issue_codes(db, server.hub.code_key, ["umo", "umo"], issued_on=date.today(),
                                     valid_days=90)
    async with db() as session, session.begin():
        await session.execute(update(ReferralCode).where(ReferralCode.code_hash == issued[0].code_hash)
                              .values(expires_on=date.today() - timedelta(days=1)))
    server.hub.timers.ticks = timers_module.PURGE_EVERY_TICKS      # the next tick is one that purges
    await server.hub.tick()
    async with db() as session:
        left = (await session.scalars(select(ReferralCode.code_hash))).all()
    assert left == [issued[1].code_hash]
