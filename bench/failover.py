"""Acknowledged lines lost when Redis fails over: WAIT off against WAIT on, run after run.

    python -m bench.failover [--runs 10] [--chats 8] [--before 2] [--after 3] [--wait 0 1]
                             [--how kill|failover]

Each run starts its own Sentinel topology on loopback (tests/sentinel_topology.py: a
master, two replicas, one sentinel), two ``jourchatt serve`` nodes on it (visitors
on the first, volunteers on the second, so every line crosses Redis) and ``chats``
chats in which both sides write one line at a time as fast as acks come back
(tests/failover_chat.py: a refused line is sent again). After ``before`` seconds the
master is SIGKILLed; the sentinel promotes a replica. With ``--how failover`` the
master is not killed but failed over (``SENTINEL FAILOVER``, as for maintenance, or
as a partition that heals does): it stays up, still a master for some seconds until
the sentinels make it a replica, and nodes still connected to it write there (split
brain); the chats go on until it is a replica. (Loopback replication is too quick for
a SIGKILL to lose anything; cutting the replication links or stopping the replicas did
not either: they catch up at once, or the kernel keeps what the master sent them and
delivers it after.) The chats go on for ``after`` seconds after the failover; then
each visitor resumes with ``last_seq: 0`` and the
acknowledged lines missing from its replay log are counted: **lost acknowledged
lines**. Also counted: lines acknowledged and logged but not delivered live to the
other side (undelivered), lines refused during the failover (and resent), and the
longest pause between two acks of one writer (the outage as writers see it, median
over the writers). The settings in ``--wait`` alternate run by run (paired: the same
machine load for both). Prints a line per run and a summary; writes bench/results/failover.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import websockets

from tests.failover_chat import ChatLoad, replay_log
from tests.sentinel_topology import Topology

from .accounts import volunteers_async
from .relay import STALL_S, _free_port, _jourchatt, _until, _wait_port

ROOT = Path(__file__).resolve().parents[1]


async def _open(vis_port: int, vol_port: int, cookie: str) -> tuple[Any, Any, str, str]:
    """One chat: a console on ``vol_port`` (available), a visitor on ``vis_port``."""
    vol = await websockets.connect(f"ws://127.0.0.1:{vol_port}/ws/volunteer",
                                   additional_headers={"Cookie": cookie}, compression=None)
    await _until(vol, "welcome", "the console was never welcomed")
    await vol.send(json.dumps({"type": "status", "state": "available"}))
    vis = await websockets.connect(f"ws://127.0.0.1:{vis_port}/ws/visitor", compression=None)
    await vis.send(json.dumps({"type": "hello", "lang": "sv"}))
    token = (await _until(vis, "welcome", "the visitor was never welcomed"))["resume_token"]
    await _until(vis, "assigned", "the visitor was never assigned")
    chat = (await _until(vol, "assigned", "the volunteer was never given the chat"))["chat"]
    return vis, vol, token, chat


def _until_demoted(client: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.info("replication")["role"] != "slave":
        if time.monotonic() > deadline:
            raise SystemExit(f"the old master was not made a replica within {timeout:.0f} s")
        time.sleep(0.1)


async def _run(env: dict[str, str], work: Path, topology: Topology, chats: int, before: float,
               after: float, how: str) -> dict[str, Any]:
    cookies = await volunteers_async(env, work, chats)
    nodes = []
    for n in range(2):
        port = _free_port()
        log = open(work / f"node{n + 1}.log", "wb")  # noqa: SIM115
        nodes.append((subprocess.Popen([_jourchatt(), "serve", "--port", str(port)], cwd=work, env=env,
                                       stdout=log, stderr=log), port))
    try:
        for proc, port in nodes:
            _wait_port(port, proc)
        (_, vis_port), (_, vol_port) = nodes
        opened = [await _open(vis_port, vol_port, cookie) for cookie in cookies]
        loads = [ChatLoad(vis, vol, chat, f"c{i}") for i, (vis, vol, _, chat) in enumerate(opened)]
        stop = asyncio.Event()
        for load in loads:
            load.start(stop)
        await asyncio.sleep(before)
        loop = asyncio.get_running_loop()
        old = topology.kill_master() if how == "kill" else await asyncio.to_thread(topology.failover)
        killed_at = loop.time()
        await asyncio.to_thread(topology.wait_failover, old)
        promoted_at = loop.time()
        await asyncio.sleep(after)
        if how == "failover":
            old_master = topology.client(old)
            await asyncio.to_thread(lambda: _until_demoted(old_master))
            await asyncio.sleep(1.0)
        stop.set()
        for load in loads:
            await load.finish()
        outcomes = []
        for load, (_, _, token, _) in zip(loads, opened):
            vis = await websockets.connect(f"ws://127.0.0.1:{vis_port}/ws/visitor", compression=None)
            await vis.send(json.dumps({"type": "hello", "resume": token, "last_seq": 0}))
            outcomes.append(load.outcome(await replay_log(vis, STALL_S), promoted_at))
            await vis.close()
        # The outage as a writer sees it: the longest pause between two of its acks.
        pauses = [max(b - a for a, b in zip(side.acked_at, side.acked_at[1:])) for load in loads
                  for side in load.sides]
        return {"acked": sum(o.acked for o in outcomes), "lost": sum(len(o.lost) for o in outcomes),
                "undelivered": sum(len(o.undelivered) for o in outcomes),
                "refused": sum(o.refused for o in outcomes),
                "promoted_after_s": promoted_at - killed_at,
                "writer_pause_s": statistics.median(pauses)}
    finally:
        for proc, _ in nodes:
            proc.terminate()
        for proc, _ in nodes:
            proc.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10, help="runs of each --wait setting")
    p.add_argument("--chats", type=int, default=8)
    p.add_argument("--before", type=float, default=2.0, help="seconds of chatting before the kill")
    p.add_argument("--after", type=float, default=3.0, help="seconds of chatting after the failover")
    p.add_argument("--how", choices=["kill", "failover"], default="kill",
                   help="SIGKILL the master, or fail it over and leave it running")
    p.add_argument("--wait", type=int, nargs="+", default=[0, 1],
                   help="JOURCHATT_BROKER_WAIT_REPLICAS settings to compare")
    args = p.parse_args()
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
    base.update({"JOURCHATT_LOG_LEVEL": "warning", "JOURCHATT_FRAME_RATE": "1000000",
                 "JOURCHATT_SECRET_KEY": "bench-secret-" + "x" * 40})
    rows = []
    for r in range(args.runs):
        for wait in args.wait:
            for attempt in range(2):
                work = Path(tempfile.mkdtemp(prefix="jourchatt-failover-"))
                (work / "redis").mkdir()
                topology = Topology(work / "redis").start()
                env = {**base, "JOURCHATT_BROKER_URL": topology.url(),
                       "JOURCHATT_BROKER_WAIT_REPLICAS": str(wait),
                       "JOURCHATT_DATABASE_URL": f"sqlite:///{work / 'jourchatt.sqlite3'}"}
                try:
                    row = {"run": r + 1, "wait": wait,
                           **asyncio.run(_run(env, work, topology, args.chats, args.before, args.after, args.how))}
                    break
                except SystemExit as exc:
                    # A node that could not start (on a loaded machine the sentinel may call a
                    # busy master down before the run began): that run again, once, and said.
                    if attempt:
                        raise
                    print(f"run {r + 1} WAIT {wait}: {exc} (see {work}); once more", flush=True)
                finally:
                    topology.stop()
            rows.append(row)
            print(f"run {r + 1} WAIT {wait}: {row['acked']} lines acked, {row['lost']} acked lines lost, "
                  f"{row['undelivered']} undelivered live, {row['refused']} refused and resent; replica promoted "
                  f"{row['promoted_after_s']:.2f} s after the kill, writers paused (median) "
                  f"{row['writer_pause_s']:.2f} s", flush=True)
    summary: dict[str, Any] = {"how": args.how, "runs": args.runs, "chats": args.chats, "before_s": args.before,
                               "after_s": args.after, "rows": rows, "by_wait": {}}
    for wait in args.wait:
        mine = [row for row in rows if row["wait"] == wait]
        lost = [row["lost"] for row in mine]
        summary["by_wait"][str(wait)] = {
            "lost_per_run": lost, "lost_total": sum(lost), "acked_total": sum(row["acked"] for row in mine),
            "runs_with_loss": sum(1 for x in lost if x), "lost_max": max(lost),
            "undelivered_per_run": [row["undelivered"] for row in mine],
            "median_promoted_after_s": statistics.median(row["promoted_after_s"] for row in mine),
            "median_writer_pause_s": statistics.median(row["writer_pause_s"] for row in mine)}
        s = summary["by_wait"][str(wait)]
        print(f"WAIT {wait}: lost acked lines per run {lost} (total {s['lost_total']} of {s['acked_total']} acked; "
              f"{s['runs_with_loss']} of {len(mine)} runs lost some); undelivered live per run "
              f"{s['undelivered_per_run']}; promoted after {s['median_promoted_after_s']:.2f} s, writers paused "
              f"{s['median_writer_pause_s']:.2f} s (medians)")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    name = "failover.json" if args.how == "kill" else "failover-graceful.json"
    (out / name).write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    sys.exit(main())
