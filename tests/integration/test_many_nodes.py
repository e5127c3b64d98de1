"""Many nodes: real ``jourchatt serve`` processes sharing a real Redis and PostgreSQL.

A node killed with SIGKILL loses no line; a visitor resumes on another node and
gets exactly what it missed. A Redis restart is survived by the nodes and told
plainly to both sides. A node told to stop drains: its clients are asked to
reconnect and continue elsewhere. And two nodes racing to assign the same
waiting chats never double-assign or overfill a volunteer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import httpx
import pytest
import websockets

from chat import state as S
from chat.kernel.broker import create_broker
from chat.hub import Hub

from ..conftest import TEST_SECRET, Authenticator, free_port, fresh_redis, jourchatt_command, make_settings, postgres_database

pytestmark = pytest.mark.slow
PASSWORD = "ett långt lösenord för test"
AUTHENTICATOR = Authenticator()
OPTS: dict[str, Any] = {"max_queue": None, "close_timeout": 2}


class Node:
    def __init__(self, cluster: Cluster, port: int, proc: subprocess.Popen[bytes]) -> None:
        self.cluster, self.port, self.proc = cluster, port, proc

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self, want: int = 200, timeout: float = 20) -> None:
        async with httpx.AsyncClient(base_url=self.base) as c:
            for _ in range(int(timeout / 0.05)):
                if self.proc.poll() is not None:
                    raise AssertionError(f"node exited with {self.proc.returncode}")
                try:
                    if (await c.get("/readyz")).status_code == want:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"/readyz never answered {want}")

    async def visitor(self, hello: dict[str, Any]) -> Any:
        ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws/visitor", **self.cluster.ws_options())
        await ws.send(json.dumps({"type": "hello", **hello}))
        return ws

    async def volunteer(self, username: str) -> Any:
        async with self.cluster.http_client(self.base) as c:
            cookie = await AUTHENTICATOR.sign_in(c, username, PASSWORD)
        ws = await websockets.connect(f"ws://127.0.0.1:{self.port}/ws/volunteer",
                                      additional_headers={"Cookie": cookie}, **self.cluster.ws_options())
        await recv(ws, "welcome")
        await ws.send(json.dumps({"type": "status", "state": "available"}))
        await recv(ws, "status")
        return ws


class Cluster:
    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp, self.env, self.nodes = tmp, env, []  # type: ignore[var-annotated]
        # Every client of the cluster connects from this loopback address and sends this
        # User-Agent when they are set (tests/e2e/test_cluster_leaves_no_trace.py).
        self.client_addr: str | None = None
        self.user_agent: str | None = None

    def ws_options(self) -> dict[str, Any]:
        opts = dict(OPTS)
        if self.client_addr:
            opts["local_addr"] = (self.client_addr, 0)
        if self.user_agent:
            opts["user_agent_header"] = self.user_agent
        return opts

    def http_client(self, base: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=self.client_addr) if self.client_addr else None
        headers = {"User-Agent": self.user_agent} if self.user_agent else None
        return httpx.AsyncClient(base_url=base, transport=transport, headers=headers)

    async def node(self) -> Node:
        port = free_port()
        with open(self.tmp / f"node-{port}.log", "wb") as log:
            proc = subprocess.Popen([*jourchatt_command(), "serve", "--port", str(port)], cwd=self.tmp,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT)
        node = Node(self, port, proc)
        self.nodes.append(node)
        await node.ready()
        return node


async def recv(ws: Any, kind: str, timeout: float = 10) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time())))
        if frame["type"] == kind:
            return frame  # type: ignore[no-any-return]


async def lines(ws: Any, n: int, sender: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < n:
        frame = await recv(ws, "message")
        if frame["from"] == sender:
            out.append(frame)
    return out


async def open_chat(*, vol_node: Node, vis_node: Node) -> tuple[Any, Any, str, str]:
    """Anna available on ``vol_node``, a visitor on ``vis_node``: assigned to each other."""
    vol = await vol_node.volunteer("anna")
    vis = await vis_node.visitor({"lang": "sv"})
    token = (await recv(vis, "welcome"))["resume_token"]
    await recv(vis, "assigned")
    chat = (await recv(vol, "assigned"))["chat"]
    return vol, vis, token, chat


@asynccontextmanager
async def cluster(tmp_path: Path, redis_url: str | None = None) -> AsyncIterator[Cluster]:
    async with postgres_database() as db_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
        env.update({"JOURCHATT_DATABASE_URL": db_url, "JOURCHATT_SECRET_KEY": TEST_SECRET,
                    "JOURCHATT_BROKER_URL": redis_url or await fresh_redis(),
                    "JOURCHATT_LOG_LEVEL": "info", "JOURCHATT_VAR_DIR": str(tmp_path / "var")})
        done = subprocess.run([*jourchatt_command(), "db", "upgrade"], cwd=tmp_path, env=env,
                              capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        AUTHENTICATOR.__init__()      # a fresh database: no second factor set up yet
        for name in ("anna", "bo"):
            done = subprocess.run([*jourchatt_command(), "volunteer", "add", name, "--display-name",
                                   name.capitalize(), "--trained", "--password-stdin"],
                                  input=PASSWORD.encode(), cwd=tmp_path, env=env, capture_output=True,
                                  timeout=120)
            assert done.returncode == 0, done.stderr.decode()
        c = Cluster(tmp_path, env)
        try:
            yield c
        finally:
            for node in c.nodes:
                if node.proc.poll() is None:
                    node.proc.kill()
                node.proc.wait(10)


async def test_killed_node_loses_nothing_and_the_visitor_resumes_elsewhere(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = await c.node(), await c.node()
        vol, vis, token, chat = await open_chat(vol_node=b, vis_node=a)

        # Lines both ways across the two nodes.
        await vis.send(json.dumps({"type": "message", "id": "v1", "text": "hej från A"}))
        ack = await recv(vis, "ack")
        assert [f["text"] for f in await lines(vol, 1, "visitor")] == ["hej från A"]
        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 1, "text": "hej från B"}))
        await recv(vol, "ack")
        got = (await lines(vis, 1, "volunteer"))[0]
        assert got["text"] == "hej från B" and got["seq"] > ack["seq"]
        last_seq = got["seq"]

        # The visitor's node dies without a goodbye; the volunteer keeps writing.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        sent = []
        for i in range(2, 7):
            await vol.send(json.dumps({"type": "message", "chat": chat, "id": i, "text": f"rad {i}"}))
            sent.append((await recv(vol, "ack"))["seq"])

        vis2 = await b.visitor({"resume": token, "last_seq": last_seq})
        assert (await recv(vis2, "welcome"))["resumed"] is True
        replayed = await lines(vis2, 5, "volunteer")
        assert [f["text"] for f in replayed] == [f"rad {i}" for i in range(2, 7)]
        assert [f["seq"] for f in replayed] == sent               # once each, in order
        await recv(vis2, "assigned")

        # The chat goes on, and nothing was delivered twice.
        await vis2.send(json.dumps({"type": "message", "id": "v2", "text": "jag är kvar"}))
        assert [f["text"] for f in await lines(vol, 1, "visitor")] == ["jag är kvar"]
        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 99, "text": "bra"}))
        assert [f["text"] for f in await lines(vis2, 1, "volunteer")] == ["bra"]

        await vol.send(json.dumps({"type": "end", "chat": chat}))
        assert (await recv(vis2, "ended"))["by"] == "volunteer"
        await vol.close()
        await vis2.close()


async def test_a_draining_node_hands_its_clients_to_another(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        a, b = await c.node(), await c.node()
        vol, vis, token, chat = await open_chat(vol_node=b, vis_node=a)
        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 1, "text": "första"}))
        first = (await lines(vis, 1, "volunteer"))[0]

        a.proc.send_signal(signal.SIGTERM)
        assert (await recv(vis, "reconnect"))["after_ms"] >= 0
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await vis.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert a.proc.wait(15) is not None           # the node exits within a bounded time

        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 2, "text": "andra"}))
        await recv(vol, "ack")
        vis2 = await b.visitor({"resume": token, "last_seq": first["seq"]})
        assert [f["text"] for f in await lines(vis2, 1, "volunteer")] == ["andra"]
        await vol.close()
        await vis2.close()


async def test_a_redis_restart_is_survived_and_told_plainly(tmp_path: Path) -> None:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path)]
    redis = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    try:
        await asyncio.sleep(0.3)
        async with cluster(tmp_path, f"redis://127.0.0.1:{port}/0") as c:
            a, b = await c.node(), await c.node()
            vol = await b.volunteer("anna")
            vis = await a.visitor({"lang": "sv"})
            await recv(vis, "welcome")
            await recv(vis, "assigned")
            chat = (await recv(vol, "assigned"))["chat"]

            redis.kill()
            redis.wait(10)
            await a.ready(want=503)                  # not ready while Redis is gone
            # A line written now is not lost silently: the writer hears it was not carried out.
            await vol.send(json.dumps({"type": "message", "chat": chat, "id": 5, "text": "hallå?"}))
            assert (await recv(vol, "error"))["code"] == "unavailable"

            redis = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            await a.ready(timeout=30)
            await b.ready(timeout=30)
            # The restarted Redis is empty: both sides are told the chat was lost.
            assert (await recv(vis, "error", timeout=15))["code"] == "chat_lost"
            assert (await recv(vis, "ended"))["by"] == "timeout"
            assert (await recv(vol, "error", timeout=15))["code"] == "chat_lost"
            assert (await recv(vol, "ended"))["chat"] == chat

            # And the service works again: a new chat reaches the same console.
            await vol.send(json.dumps({"type": "status", "state": "available"}))
            vis2 = await a.visitor({"lang": "sv"})
            await recv(vis2, "assigned", timeout=15)
            assert (await recv(vol, "assigned"))["chat"] != chat
            for node in (a, b):
                assert node.proc.poll() is None      # nothing crashed
            await vol.close()
            await vis2.close()
    finally:
        redis.kill()
        redis.wait(10)


@pytest.mark.parametrize("round_", range(25))
async def test_two_nodes_racing_never_double_assign(tmp_path: Path, round_: int) -> None:
    """Two hubs, each with its own Redis connections, match the same queue at once."""
    url = await fresh_redis()
    settings = make_settings(tmp_path, "sqlite:///unused", url)
    brokers = [create_broker(url), create_broker(url)]
    hubs = [Hub(settings, br, None, node=f"node{i}") for i, br in enumerate(brokers)]  # type: ignore[arg-type]
    try:
        now = hubs[0].clock()
        vols = {f"v{i}": 1 + i % 2 for i in range(4)}           # capacities 1, 2, 1, 2: six slots

        async def setup(tx: Any) -> None:
            tx.zadd(S.NODES, {"node0": now, "node1": now})
            for vid, cap in vols.items():
                vol = S.VolState(id=vid, node=f"node{int(vid[1:]) % 2}", conn="c", wants=True,
                                 capacity=cap, langs=frozenset({"sv"}), idle_since=now - int(vid[1:]))
                tx.hset(S.vol_key(vid), vol.dump())
                tx.sadd(S.VOLS, vid)
            for i in range(10):
                st = S.ChatState(id=f"c{i}", state="queued", started=now + i, lang="sv", last_act=now)
                tx.hset(S.chat_key(st.id), st.dump())
                tx.zadd(S.QUEUE, {st.id: st.started})

        await brokers[0].transact(setup)
        results = await asyncio.gather(*(h.live.commit(h.matching._tx_match) for h in hubs for _ in range(3)))
        pairs = [p for r in results for p in r]
        chats = [c for c, _ in pairs]
        assert len(chats) == len(set(chats)) == 6                 # each chat once; every slot filled

        async def read(tx: Any) -> tuple[Any, ...]:
            raws = await tx.hgetall_many([S.vol_key(v) for v in vols])
            states = await tx.hgetall_many([S.chat_key(f"c{i}") for i in range(10)])
            return raws, states, await tx.zrange(S.QUEUE)

        raws, states, queue = await brokers[0].read(read)
        for (vid, cap), raw in zip(vols.items(), raws):
            held = [x for x in raw["chats"].split(",") if x]
            assert len(held) == cap                               # full, never over
        assert {st["vol"] for st in states if st["state"] == "active"} == set(vols)
        assert [m for m, _ in queue] == [f"c{i}" for i in range(6, 10)]   # FIFO: the first six went
        assert sorted(chats) == [f"c{i}" for i in range(6)]
    finally:
        for br in brokers:
            await br.close()
