"""The anonymous survey after a chat, through the real server, on both broker pairs:
the token in ``ended``, ``POST /api/survey`` and its errors, the answers beside the record."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sqlalchemy import select, update

from referral.record import ChatRecord
from referral.survey import SurveyResponse, SurveyToken

from ..conftest import Running
from .test_chat_flow import open_chat, wait_for_records


async def post(server: Running, body: Any, *, origin: str | None = None, raw: bytes | None = None) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    async with httpx.AsyncClient(base_url=server.http) as client:
        if raw is not None:
            return await client.post("/api/survey", content=raw,
                                     headers={**headers, "content-type": "application/json"})
        return await client.post("/api/survey", json=body, headers=headers)


async def responses(server: Running) -> list[SurveyResponse]:
    async with server.app.state.db() as session:
        return list((await session.scalars(select(SurveyResponse))).all())


async def ended_chat(server: Running, by: str = "volunteer") -> tuple[Any, str, str]:
    """A chat with a volunteer, ended; (volunteer socket, chat id, survey token)."""
    vol, vis, *_rest, assigned = await open_chat(server)
    chat = assigned["chat"]
    if by == "volunteer":
        await vol.send({"type": "end", "chat": chat})
    else:
        await vis.send({"type": "leave"})
    ended = await vis.expect("ended")
    assert ended["by"] == by and isinstance(ended.get("survey"), str)
    await vol.expect("ended")
    return vol, chat, ended["survey"]


async def test_an_answer_before_the_wrapup_lands_beside_the_record(server: Running) -> None:
    vol, chat, token = await ended_chat(server)
    r = await post(server, {"token": token, "answers": {"helped": "partly", "knows_where_to_turn": "yes",
                                                         "would_return": None}})
    assert r.status_code == 204, r.text
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "uses_violence", "violence": []}})
    await vol.expect("wrapup_saved")
    [record] = await wait_for_records(server, 1)
    assert record.survey_offered
    [answer] = await responses(server)
    assert answer.record_id == record.id
    assert (answer.helped, answer.knows_where_to_turn, answer.would_return) == ("partly", "yes", None)
    async with server.app.state.db() as session:
        [tok] = (await session.scalars(select(SurveyToken))).all()
    assert tok.used and tok.record_id is None and token not in tok.token_hash   # the link is gone once used
    again = await post(server, {"token": token, "answers": {"helped": "yes"}})
    assert again.status_code == 409 and again.json()["error"] == "survey_closed"
    assert again.json()["field"] == "token"


async def test_an_answer_after_the_record_counts_and_the_visitor_may_end_it(server: Running) -> None:
    vol, chat, token = await ended_chat(server, by="visitor")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed", "violence": ["digital"]}})
    await vol.expect("wrapup_saved")
    [record] = await wait_for_records(server, 1)
    assert (await post(server, {"token": token, "answers": {"would_return": "unsure"}})).status_code == 204
    [answer] = await responses(server)
    assert answer.record_id == record.id and answer.would_return == "unsure" and answer.helped is None


async def test_quick_exit_offers_no_survey(server: Running) -> None:
    vol, vis, *_rest, assigned = await open_chat(server)
    await vis.send({"type": "leave", "quick": True})
    ended = await vis.expect("ended")
    assert ended == {"type": "ended", "by": "visitor"}
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": assigned["chat"], "report": {"topic": "exposed", "violence": []}})
    await vol.expect("wrapup_saved")
    [record] = await wait_for_records(server, 1)
    assert not record.survey_offered
    async with server.app.state.db() as session:
        assert (await session.scalars(select(SurveyToken))).all() == []


async def test_a_chat_that_never_had_a_volunteer_offers_no_survey(server: Running) -> None:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    await vis.expect("queued")
    await vis.send({"type": "leave"})
    assert await vis.expect("ended") == {"type": "ended", "by": "visitor"}
    [record] = await wait_for_records(server, 1)
    assert record.outcome == "left_queued" and not record.survey_offered


async def test_bad_answers_are_refused_naming_the_field(server: Running) -> None:
    _vol, _chat, token = await ended_chat(server)
    cases = [
        ({"token": "x" * 32, "answers": {}}, 400, "unknown_survey", "token"),
        ({"token": 7}, 400, "unknown_survey", "token"),
        ({"answers": {"helped": "yes"}}, 400, "unknown_survey", "token"),
        ({"token": token, "answers": {"helped": "maybe"}}, 400, "invalid_answer", "answers.helped"),
        ({"token": token, "answers": {"mood": "yes"}}, 400, "invalid_answer", "answers.mood"),
        ({"token": token, "answers": ["yes"]}, 400, "invalid_answer", "answers"),
        ({"token": token, "answers": {}, "age": 15}, 400, "invalid_body", "age"),
        (["token"], 400, "invalid_body", "body"),
    ]
    for body, status, code, field in cases:
        r = await post(server, body)
        assert (r.status_code, r.json()["error"], r.json().get("field")) == (status, code, field), (body, r.text)
    r = await post(server, None, raw=b"{not json")
    assert r.status_code == 400 and r.json()["error"] == "invalid_body"
    # None of that used the token.
    assert (await post(server, {"token": token, "answers": {"helped": "no"}})).status_code == 204


async def test_an_expired_token_is_409(server: Running) -> None:
    _vol, _chat, token = await ended_chat(server)
    async with server.app.state.db() as session, session.begin():
        await session.execute(update(SurveyToken).values(expires=int(time.time()) - 60))
    r = await post(server, {"token": token, "answers": {"helped": "yes"}})
    assert r.status_code == 409 and r.json()["error"] == "survey_closed"
    assert await responses(server) == []


async def test_cors_for_allowed_origins_only(server_factory: Any) -> None:
    server: Running = await server_factory(allowed_origins="https://example.org")
    _vol, _chat, token = await ended_chat(server)
    async with httpx.AsyncClient(base_url=server.http) as client:
        pre = await client.options("/api/survey", headers={
            "Origin": "https://example.org", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://example.org"
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert "content-type" in pre.headers["access-control-allow-headers"].lower()
        bad = await client.options("/api/survey", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "POST"})
        assert bad.status_code == 403 and "access-control-allow-origin" not in bad.headers
    refused = await post(server, {"token": token, "answers": {"helped": "yes"}}, origin="https://evil.example")
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    ok = await post(server, {"token": token, "answers": {"helped": "yes"}}, origin="https://example.org")
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == "https://example.org"


async def test_answers_are_rate_limited_per_address(server: Running) -> None:
    # 20 at once, then one every 3 s: a loaded machine may let one more through before the 429.
    statuses = [(await post(server, {"token": f"{i:032d}", "answers": {}})).status_code for i in range(24)]
    assert statuses[:20] == [400] * 20
    assert 429 in statuses[20:]
    r = await post(server, {"token": "0" * 32, "answers": {}})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and r.json()["error"] == "rate_limited"


async def test_the_token_crosses_nodes_and_answers_on_any(tmp_path: Any) -> None:
    """The visitor on node A, the volunteer on node B (the ended notice, token inside, crosses
    Redis sealed); the answer goes to node B, the record is written by B."""
    from ..conftest import fresh_redis, two_nodes

    async with two_nodes(tmp_path, await fresh_redis()) as (a, b):
        vol = await b.volunteer("anna")
        vis = await a.visitor({"lang": "sv"})
        await vis.expect("welcome")
        await vis.expect("assigned")
        chat = (await vol.expect("assigned"))["chat"]
        await vol.send({"type": "end", "chat": chat})
        token = (await vis.expect("ended"))["survey"]
        await vol.expect("ended")
        assert (await post(b, {"token": token, "answers": {"knows_where_to_turn": "no"}})).status_code == 204
        assert (await post(a, {"token": token, "answers": {"helped": "yes"}})).status_code == 409
        await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "other", "violence": []}})
        await vol.expect("wrapup_saved")
        [record] = await wait_for_records(b, 1)
        [answer] = await responses(a)
        assert answer.record_id == record.id and answer.knows_where_to_turn == "no"
