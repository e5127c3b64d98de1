"""Redis Sentinel: the broker finds the master, follows it through a failover, and a
chat goes on while its master is killed; with JOURCHATT_BROKER_WAIT_REPLICAS=1 not one
acknowledged line is lost.

Real redis-server and redis-sentinel processes (tests/sentinel_topology.py: a master,
two replicas, one sentinel, on loopback), real ``jourchatt serve`` nodes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from redis.asyncio.connection import Connection

from chat.kernel.broker import BrokerError, LineWrite, create_broker
from chat.kernel.broker.redis import RedisBroker
from chat.kernel.broker.sentinel import following_connection

from ..failover_chat import ChatLoad, replay_log
from ..sentinel_topology import Topology
from .test_many_nodes import cluster, open_chat, recv

pytestmark = pytest.mark.slow


def topology(tmp_path: Path) -> Topology:
    folder = tmp_path / "redis"
    folder.mkdir()
    return Topology(folder).start()


async def until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout:.0f} s")
        await asyncio.sleep(0.05)


def line(chat: str, n: int) -> LineWrite:
    return LineWrite(chat=chat, chat_key=f"jc:chat:{chat}", ids_key=f"jc:ids:{chat}", log_key=f"jc:log:{chat}",
                     vol_prefix="jc:vol:", side="visitor", sender="", id_key=f"v{n}", digest=f"d{n}",
                     expect=n, blob=f"blob{n}", now=time.time(), ttl_s=60, node="n1")


class StaleConnection(following_connection()):  # type: ignore[misc]
    """FollowingConnection without its fix for redis-py #3874: a retry reconnects to the
    address the connection had."""

    send_packed_command = Connection.send_packed_command


@pytest.mark.parametrize("connection", ["following", "stale"])
async def test_a_write_after_the_master_was_demoted_reaches_the_new_one(tmp_path: Path, connection: str) -> None:
    """A pooled connection to a master that a failover demoted (it stays up as a replica)
    gets READONLY; the write is retried at once on the master the sentinels name. With the
    stale reconnect of redis-py #3874 the retry lands on the old master again and fails."""
    t = topology(tmp_path)
    broker = RedisBroker(t.url(), connection_class=None if connection == "following" else StaleConnection)
    try:
        await broker.ping()                          # a pooled connection to the master
        old = await asyncio.to_thread(t.failover)
        new = await asyncio.to_thread(t.wait_failover, old)
        t.client(old).replicaof("127.0.0.1", new)    # what the sentinel does some seconds later
        assert t.client(old).info("replication")["role"] == "slave"
        if connection == "following":
            assert await broker.r.set("jc:after", "1")
            assert t.client(new).get("jc:after") == "1"
        else:
            with pytest.raises(Exception, match="replica"):
                await broker.r.set("jc:after", "1")
    finally:
        await broker.close()
        t.stop()


async def test_the_subscription_follows_the_master_after_a_failover(tmp_path: Path) -> None:
    """A demoted master keeps its subscribers; the node's subscription moves to the new
    master by itself, and says it reconnected (the hub then fills what it missed)."""
    t = topology(tmp_path)
    broker = create_broker(t.url())
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    broker.on_reconnect(on_reconnect)
    got: list[str] = []

    async def read() -> None:
        async for message in broker.subscribe("n1"):
            got.append(message)

    reader = asyncio.create_task(read())
    try:
        await until("the subscription hears the master", lambda: bool(
            t.client(t.master_port()).publish("jc:to:n1", "before")) and "before" in got, 10)
        old = await asyncio.to_thread(t.failover)
        new = await asyncio.to_thread(t.wait_failover, old)
        await until("the subscription hears the new master", lambda: bool(
            t.client(new).publish("jc:to:n1", "after") or True) and "after" in got, 15)
        assert reconnected.is_set()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await broker.close()
        t.stop()


async def test_a_line_is_not_acked_before_enough_replicas_have_it(tmp_path: Path) -> None:
    """WAIT n: with the two replicas there, a line waiting for two is acked; waiting for
    three (there are not three) it is refused as unavailable, never acked on a hope."""
    t = topology(tmp_path)
    brokers = [create_broker(t.url(), wait_replicas=2, wait_timeout_ms=3000),
               create_broker(t.url(), wait_replicas=3, wait_timeout_ms=200)]
    try:
        async def chat(tx: Any) -> None:
            tx.hset("jc:chat:c1", {"state": "queued", "seq": "0"})
        await brokers[0].transact(chat)
        assert (await brokers[0].append_line(line("c1", 1))).status == "ok"
        assert t.client(t.replicas[0]).zcard("jc:log:c1") == t.client(t.replicas[1]).zcard("jc:log:c1") == 1
        with pytest.raises(BrokerError, match="2 of 3 replicas"):
            await brokers[1].append_line(line("c1", 2))
        # Written on the master all the same: the writer's resend is a "dup", acked once replicated.
        assert (await brokers[0].append_line(line("c1", 2))).status == "dup"
    finally:
        for b in brokers:
            await b.close()
        t.stop()


@pytest.mark.parametrize("wait", [0, 1])
async def test_a_chat_goes_on_when_its_master_is_killed(tmp_path: Path, wait: int) -> None:
    """Two nodes, one chat, lines both ways; the master is SIGKILLed mid-chat and a replica
    promoted. The chat goes on both ways (lines acked both ways after the failover, the
    resumed visitor gets the log); with WAIT 1 no acknowledged line is missing from it."""
    t = topology(tmp_path)
    try:
        async with cluster(tmp_path, t.url()) as c:
            c.env.update({"JOURCHATT_BROKER_WAIT_REPLICAS": str(wait), "JOURCHATT_FRAME_RATE": "1000"})
            a, b = await c.node(), await c.node()
            vol, vis, token, chat = await open_chat(vol_node=b, vis_node=a)
            load, stop = ChatLoad(vis, vol, chat, "rad"), asyncio.Event()
            load.start(stop)
            await until("lines flow", lambda: all(len(s.acked) >= 20 for s in load.sides))
            old = t.kill_master()
            await asyncio.to_thread(t.wait_failover, old)
            failed_over = asyncio.get_running_loop().time()
            await until("lines are acked both ways after the failover", lambda: all(
                sum(1 for at in s.acked_at if at > failed_over) >= 20 for s in load.sides))
            stop.set()
            await load.finish()

            vis2 = await a.visitor({"resume": token, "last_seq": 0})
            assert (await recv(vis2, "welcome"))["resumed"] is True
            out = load.outcome(await replay_log(vis2), failed_over)
            print(f"WAIT {wait}: {out.acked} lines acked, {len(out.lost)} lost, {len(out.undelivered)} undelivered, "
                  f"{out.refused} refused and resent")
            assert out.acked_after >= 40
            if wait:
                assert out.lost == []
            # Lines acknowledged but not delivered live (out.undelivered) are not asserted on: a
            # failover that loses lines hands their seq numbers out again, and a reader that had
            # them skips the new lines as seen (docs/deploy.md, "Known issue"). The stall after any
            # outage (a repair up to the reader's own line) is tested in test_lost_notices.py.
            for node in (a, b):
                assert node.proc.poll() is None
            await vol.close()
            await vis2.close()
    finally:
        t.stop()
