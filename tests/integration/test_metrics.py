"""GET /metrics on a real server: the token, the text format, figures that follow a real
chat over real sockets (on the memory broker with SQLite and on real Redis with
PostgreSQL), and not a trace of the chat in the body."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from chat import hub as hub_module, metrics as metrics_module, tasks as tasks_module
from chat.kernel.broker import MemoryBroker
from chat.metrics import Metrics, Sources
from volunteer.models import Account

from ..conftest import Running

TOKEN = "metrics-test-token-" + "t" * 30
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Factory = Callable[..., Awaitable[Running]]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def body(server: Running) -> str:
    async with httpx.AsyncClient(base_url=server.http) as c:
        r = await c.get("/metrics", headers=AUTH)
    assert r.status_code == 200, r.text
    return r.text


def samples(text: str, node: str) -> Samples:
    """Every sample by (name, labels but node); every sample must carry ``node``."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            assert s.labels.get("node") == node, s
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "node"))
            out[(s.name, labels)] = s.value
    return out


async def eventually(server: Running, want: dict[tuple[str, tuple[tuple[str, str], ...]], float],
                     timeout: float = 6.0) -> Samples:
    """Scrape until every wanted sample has its value (the shared figures are cached for a second)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        got = samples(await body(server), server.hub.node)
        if all(got.get(k) == v for k, v in want.items()):
            return got
        if loop.time() > deadline:
            raise AssertionError(f"wanted {want}, got { {k: got.get(k) for k in want} }")
        await asyncio.sleep(0.2)


def one(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


async def test_metrics_is_not_there_while_the_token_is_unset(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.http) as c:
        for headers in ({}, {"Authorization": "Bearer nothing"}, AUTH):
            r = await c.get("/metrics", headers=headers)
            assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_metrics_needs_the_bearer_token(server_factory: Factory) -> None:
    server = await server_factory(metrics_token=TOKEN)
    wrong = [{}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"},
             {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"Authorization": f"Bearer {TOKEN}x"},
             {"Authorization": "Bearer"}, {"Authorization": f"Bearer {TOKEN.upper()}"}]
    async with httpx.AsyncClient(base_url=server.http) as c:
        for headers in wrong:
            r = await c.get("/metrics", headers=headers)
            assert r.status_code == 401, headers
            assert r.json()["error"] == "not_authenticated" and r.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in r.text
        r = await c.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})   # the scheme is case-blind
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert r.headers["cache-control"] == "no-store"
    families = list(text_string_to_metric_families(r.text))
    names = {f.name for f in families}
    assert all(n.startswith("jourchatt_") for n in names), names
    assert {"jourchatt_visitors_waiting", "jourchatt_chats_active", "jourchatt_volunteers",
            "jourchatt_lines_relayed", "jourchatt_frames_refused", "jourchatt_sockets_open",
            "jourchatt_broker_roundtrip_seconds", "jourchatt_records_written", "jourchatt_records_failed",
            "jourchatt_task_alive", "jourchatt_open", "jourchatt_broker_up",
            "jourchatt_queue_oldest_wait_seconds"} <= names
    got = samples(r.text, server.hub.node)
    assert got[one("jourchatt_broker_up")] == 1
    assert 0 <= got[one("jourchatt_broker_roundtrip_seconds")] < 5
    assert {k[1][0][1] for k in got if k[0] == "jourchatt_task_alive"} == set(server.hub.tasks_alive())
    assert all(v == 1 for k, v in got.items() if k[0] == "jourchatt_task_alive")
    assert got[one("jourchatt_open")] == 1           # no schedule stored: always open


async def test_the_figures_follow_a_real_chat(server_factory: Factory) -> None:
    server = await server_factory(metrics_token=TOKEN)
    await server.add_account("anna")
    vol = await server.volunteer("anna", available=False)
    await eventually(server, {one("jourchatt_volunteers", state="paused"): 1,
                              one("jourchatt_volunteers", state="available"): 0,
                              one("jourchatt_sockets_open", side="volunteer"): 1,
                              one("jourchatt_sockets_open", side="visitor"): 0,
                              one("jourchatt_visitors_waiting"): 0})

    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    got = await eventually(server, {one("jourchatt_visitors_waiting"): 1, one("jourchatt_chats_active"): 0,
                                    one("jourchatt_sockets_open", side="visitor"): 1})
    assert 0 <= got[one("jourchatt_queue_oldest_wait_seconds")] < 30

    await vol.send({"type": "status", "state": "available"})
    chat = (await vol.expect("assigned"))["chat"]
    await vis.expect("assigned")
    await eventually(server, {one("jourchatt_visitors_waiting"): 0, one("jourchatt_chats_active"): 1,
                              one("jourchatt_queue_oldest_wait_seconds"): 0,
                              one("jourchatt_volunteers", state="busy"): 1,     # capacity 1, one chat
                              one("jourchatt_volunteers", state="paused"): 0})

    await vis.send({"type": "message", "id": "m1", "text": "hej"})
    await vol.line("visitor")
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "hej hej"})
    await vis.line("volunteer")
    await vis.send({"type": "nonsense"})
    assert (await vis.expect("error"))["code"] == "unknown_type"
    await vis.send("not json {")
    assert (await vis.expect("error"))["code"] == "invalid_json"
    await vol.send({"type": "message", "chat": "no-such-chat", "id": 2, "text": "x"})
    assert (await vol.expect("error"))["code"] == "unknown_chat"
    await eventually(server, {one("jourchatt_lines_relayed_total", side="visitor"): 1,
                              one("jourchatt_lines_relayed_total", side="volunteer"): 1,
                              one("jourchatt_frames_refused_total", code="unknown_type"): 1,
                              one("jourchatt_frames_refused_total", code="invalid_json"): 1,
                              one("jourchatt_frames_refused_total", code="unknown_chat"): 1,
                              one("jourchatt_records_written_total"): 0})

    await vol.send({"type": "end", "chat": chat})
    await vol.expect("ended")
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "uses_violence"}})
    await vol.expect("wrapup_saved")
    await vis.close()
    await eventually(server, {one("jourchatt_records_written_total"): 1,
                              one("jourchatt_records_failed_total"): 0,
                              one("jourchatt_chats_active"): 0,
                              one("jourchatt_volunteers", state="available"): 1,
                              one("jourchatt_sockets_open", side="visitor"): 0})


async def test_a_dead_background_task_shows_as_zero(server_factory: Factory,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # The hours refresher wakes every 50 ms and keeps dying; the supervisor (chat.tasks)
    # waits 10 s before a restart, so the scrape sees it dead.
    monkeypatch.setattr(hub_module, "HOURS_CACHE_S", 0.05)
    monkeypatch.setattr(tasks_module, "RESTART_FIRST_S", 10.0)
    monkeypatch.setattr(tasks_module, "RESTART_MAX_S", 10.0)
    server = await server_factory(metrics_token=TOKEN)

    async def broken() -> None:
        raise ValueError("the refresher broke")

    monkeypatch.setattr(server.hub.hours, "refresh", broken)
    got = await eventually(server, {one("jourchatt_task_alive", task="hub.hours"): 0})
    assert got[one("jourchatt_task_alive", task="hub.records")] == 1


async def test_the_body_holds_no_chat_id_text_account_or_address(server_factory: Factory) -> None:
    server = await server_factory(metrics_token=TOKEN)
    marker = "MARKERMETRICS" + server.hub.node
    await server.add_account("metricsmarkerperson", display_name="Markerperson")
    vol = await server.volunteer("metricsmarkerperson")
    vis = await server.visitor({"lang": "sv"}, origin=server.http)
    token = (await vis.expect("welcome"))["resume_token"]
    chat = (await vol.expect("assigned"))["chat"]
    await vis.send({"type": "intake", "age": 16, "municipality": "0180"})
    await vis.send({"type": "message", "id": marker + "id", "text": marker + " visitor"})
    await vol.line("visitor")
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": marker + " volunteer"})
    await vis.line("volunteer")
    await vis.send({"type": marker})                  # a bad frame with the marker as its type
    assert (await vis.expect("error"))["code"] == "unknown_type"
    await vis.send(json.dumps({"type": "message", "id": 9, "text": marker * 1000}))
    assert (await vis.expect("error"))["code"] == "text_too_long"
    async with server.app.state.db() as session:
        account_id = await session.scalar(select(Account.id).where(Account.username == "metricsmarkerperson"))
    assert account_id
    text = await body(server)
    assert "jourchatt_lines_relayed_total" in text
    needles = {"chat id": chat, "text marker": marker, "account name": "metricsmarkerperson",
               "display name": "Markerperson", "account id": str(account_id), "resume token": token,
               "account id prefix": str(account_id)[:8], "address": "127.0.0.1"}
    assert [name for name, needle in needles.items() if needle in text] == []


# -- Metrics on its own: a broker that is gone, and the cache ---------------------------

def sources() -> Sources:
    return Sources(tasks_alive=lambda: {"hub.records": True}, records=lambda: (3, 1),
                   sockets={"visitor": 2, "volunteer": 1}, is_open=lambda: False)


async def test_a_broker_that_is_gone_gives_broker_up_0_and_no_shared_figures() -> None:
    broker = MemoryBroker()
    await broker.start()
    await broker.close()                    # a real broker, closed: every call raises BrokerError
    m = Metrics("node1", broker, sources())
    await m.refresh()
    got = samples(m.expose().decode(), "node1")
    assert got[one("jourchatt_broker_up")] == 0
    assert not any(k[0] in ("jourchatt_visitors_waiting", "jourchatt_chats_active",
                            "jourchatt_broker_roundtrip_seconds") for k in got)
    assert got[one("jourchatt_records_written_total")] == 3 and got[one("jourchatt_records_failed_total")] == 1
    assert got[one("jourchatt_sockets_open", side="visitor")] == 2 and got[one("jourchatt_open")] == 0


def test_a_code_that_is_not_a_plain_word_is_counted_as_other() -> None:
    m = Metrics("node1", MemoryBroker(), sources())
    for code in ("invalid_json", "MARKER text", "a" * 41, "invalid_json"):
        m.refused(code)
    got = samples(m.expose().decode(), "node1")
    assert {k[1]: v for k, v in got.items() if k[0] == "jourchatt_frames_refused_total"} == {
        (("code", "invalid_json"),): 2, (("code", "other"),): 2}


class CountingBroker(MemoryBroker):
    reads = 0

    async def read(self, fn: Any) -> Any:
        self.reads += 1
        return await super().read(fn)


async def test_scrapes_within_a_second_share_one_read_of_the_shared_state(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = CountingBroker()
    await broker.start()
    m = Metrics("node1", broker, sources())
    await asyncio.gather(*(m.refresh() for _ in range(5)))
    await m.refresh()
    assert broker.reads == 1
    monkeypatch.setattr(metrics_module, "SHARED_CACHE_S", 0.0)
    await m.refresh()
    assert broker.reads == 2
    await broker.close()
