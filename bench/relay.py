"""Relay throughput: jourchatt against a bare websockets relay, in one invocation.

    python -m bench.relay [--chats 20] [--window 8] [--seconds 3] [--rounds 7]
                          [--redis redis://127.0.0.1:6379/12 | --redis none]
                          [--wait-replicas N] [--logs DIR [--log-level info]]

C chats; in each, the visitor streams lines to its volunteer keeping at most
``window`` lines in flight (sent, not yet received by the volunteer). The same
load runs against (A) a bare relay: a few lines of ``websockets`` that forward
each frame to the partner and nothing else, and (B) ``jourchatt serve``, which
also validates, numbers, seals, logs for replay and acks each line. A and B are
interleaved ``rounds`` times; the figure is the median of the paired ratios
B/A. A second baseline, the bare relay with acks (it also answers each frame with an
ack frame to its sender, as jourchatt does), shows what writing two frames per line
costs by itself; B is also reported against it. With ``--redis`` (the default) each
round also runs (C) two ``jourchatt
serve`` nodes sharing that Redis, every visitor on node 1 and every volunteer
on node 2, so each line crosses Redis; the second figure is the median of the
paired ratios C/B. Servers are pinned to core 0 (both nodes of C share it, so
C/B compares the same CPU), the load generator to core 1, and the CPU time each
side used is reported so one can see which side saturated (Redis itself is not
pinned). The Redis database given is emptied first. With ``--wait-replicas N`` the
bench starts its own Redis master with N replicas on loopback (instead of
``--redis``), runs C on it, and in each round also (D) two more nodes on the same
master (another database) with JOURCHATT_BROKER_WAIT_REPLICAS=N: a line is acked only
once N replicas have it; the third figure is the median of the paired ratios D/C.
Prints a table and writes bench/results/relay.json. ``--logs DIR`` keeps each
jourchatt server's log there and, after a stall (a frame that never came within
30 s), the shared Redis state too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import websockets

from .accounts import volunteers

ROOT = Path(__file__).resolve().parents[1]

BARE_RELAY = textwrap.dedent('''
    import asyncio, sys
    import websockets
    waiting = {}
    async def handler(ws):
        key = ws.request.path
        if key in waiting:
            peer = waiting.pop(key)
            peer_ready = peer[1]
            peer_ready.set_result(ws)
            other = peer[0]
        else:
            fut = asyncio.get_running_loop().create_future()
            waiting[key] = (ws, fut)
            other = await fut
        ack = len(sys.argv) > 2
        async for frame in ws:
            await other.send(frame)
            if ack:
                await ws.send('{"type":"ack"}')
    async def main():
        async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None,
                                    max_size=65536):
            await asyncio.Future()
    asyncio.run(main())
''')
# BARE_RELAY with a second argument also answers each frame with an ack frame to its
# sender (the bare relay with acks): what writing two frames per line costs by itself.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _jourchatt() -> str:
    return str(Path(sys.executable).parent / "jourchatt")


def _wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(400):
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.025)
    raise SystemExit("server did not start")


def _cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _pump(send, recv_count, window: int, stop_at: float, received: list[int], idx: int) -> None:  # type: ignore[no-untyped-def]
    sent = 0
    while time.perf_counter() < stop_at:
        while sent - received[idx] >= window:
            try:
                async with asyncio.timeout(STALL_S):
                    await recv_count.wait()
            except TimeoutError:
                raise RuntimeError(f"stalled: chat {idx} has {sent - received[idx]} lines sent and never "
                                   f"received (none arrived within {STALL_S:.0f} s)") from None
            recv_count.clear()
        sent += 1
        await send(sent)


async def open_bare_pairs(port: int, chats: int) -> list[tuple[Any, Any]]:
    """``chats`` pairs of sockets on the bare relay (BARE_RELAY pairs them by path)."""
    pairs = []
    for i in range(chats):
        a = await websockets.connect(f"ws://127.0.0.1:{port}/p{i}", compression=None)
        b = await websockets.connect(f"ws://127.0.0.1:{port}/p{i}", compression=None)
        pairs.append((a, b))
    await asyncio.sleep(0.2)
    return pairs


async def close_bare_pairs(pairs: list[tuple[Any, Any]]) -> None:
    for a, b in pairs:
        await a.close()
        await b.close()


async def _run_bare(port: int, chats: int, window: int, seconds: float, acks: bool = False) -> int:
    pairs = await open_bare_pairs(port, chats)
    drains = [asyncio.create_task(_drain(a)) for a, _ in pairs] if acks else []
    total = await _drive(pairs, window, seconds,
                         lambda a, n: a.send(json.dumps({"type": "message", "id": n, "text": "hej hej " * 4})),
                         lambda frame: True)
    for d in drains:
        d.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    await close_bare_pairs(pairs)
    return total


async def _drive(pairs, window, seconds, send, counts) -> int:  # type: ignore[no-untyped-def]
    received = [0] * len(pairs)
    events = [asyncio.Event() for _ in pairs]
    stop_at = time.perf_counter() + seconds

    async def reader(i: int, ws) -> None:  # type: ignore[no-untyped-def]
        async for frame in ws:
            if counts(frame):
                received[i] += 1
                events[i].set()

    readers = [asyncio.create_task(reader(i, b)) for i, (_, b) in enumerate(pairs)]
    pumps = [asyncio.create_task(_pump(lambda n, a=a: send(a, n), events[i], window, stop_at, received, i))
             for i, (a, _) in enumerate(pairs)]
    await asyncio.gather(*pumps)
    for t in readers:
        t.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    return sum(received)


async def open_pairs(vis_port: int, vol_port: int, cookies: list[str]) -> list[tuple[Any, Any]]:
    """One chat per cookie: that volunteer's console on ``vol_port``, a visitor on ``vis_port``."""
    pairs = []
    for cookie in cookies:
        vol = await websockets.connect(f"ws://127.0.0.1:{vol_port}/ws/volunteer",
                                       additional_headers={"Cookie": cookie}, compression=None)
        await vol.recv()
        await vol.send(json.dumps({"type": "status", "state": "available"}))
        vis = await websockets.connect(f"ws://127.0.0.1:{vis_port}/ws/visitor", compression=None)
        await vis.send(json.dumps({"type": "hello", "lang": "sv"}))
        await _until(vis, "assigned", "the visitor was never assigned")
        await _until(vol, "assigned", "the volunteer was never given the chat")
        pairs.append((vis, vol))
    return pairs


# A wait that outlasts this is a stall (a frame that never came), reported by name
# instead of hanging the benchmark (two such stalls were seen with two nodes via Redis).
STALL_S = 30.0


async def _until(ws: Any, kind: str, what: str) -> dict[str, Any]:
    try:
        async with asyncio.timeout(STALL_S):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == kind:
                    return frame  # type: ignore[no-any-return]
    except TimeoutError:
        raise RuntimeError(f"stalled: {what} (no {kind!r} frame within {STALL_S:.0f} s)") from None


async def close_pairs(pairs: list[tuple[Any, Any]]) -> None:
    """End every chat properly so the volunteers are free for the next round."""
    for vis, vol in pairs:
        await vis.send(json.dumps({"type": "leave"}))
        frame = await _until(vol, "ended", "the volunteer was never told the chat ended")
        await vol.send(json.dumps({"type": "wrapup", "chat": frame["chat"], "report": {"non_data": "test"}}))
        await _until(vol, "wrapup_saved", "the wrap-up was never confirmed")
        await vis.close()
        await vol.close()


async def _run_jourchatt(port: int, cookies: list[str], window: int, seconds: float,
                         vol_port: int | None = None) -> int:
    pairs = await open_pairs(port, vol_port or port, cookies)
    # the visitor also receives acks: drain them so its socket never backs up
    drains = [asyncio.create_task(_drain(vis)) for vis, _ in pairs]
    total = await _drive(pairs, window, seconds,
                         lambda a, n: a.send(json.dumps({"type": "message", "id": n, "text": "hej hej " * 4})),
                         lambda frame: '"type":"message"' in frame)
    for d in drains:
        d.cancel()
    await asyncio.gather(*drains, return_exceptions=True)
    await close_pairs(pairs)
    return total


async def _drain(ws) -> None:  # type: ignore[no-untyped-def]
    try:
        async for _ in ws:
            pass
    except Exception:
        pass


def dump_state(url: str, path: Path) -> None:
    """After a stall: the shared queue, nodes, timers, volunteers and waiting chats, for a
    post-mortem (a benchmark's chats only; nothing here is a person's)."""
    import redis

    r = redis.Redis.from_url(url, decode_responses=True)
    out = [f"{key} = {r.zrange(key, 0, -1, withscores=True)}" for key in ("jc:queue", "jc:nodes", "jc:due")]
    for vid in sorted(r.smembers("jc:vols")):
        out.append(f"jc:vol:{vid} = {r.hgetall(f'jc:vol:{vid}')}")
    for key in sorted(r.scan_iter("jc:chat:*")):
        out.append(f"{key} = { {k: v for k, v in r.hgetall(key).items() if len(v) < 80} }")
    path.write_text("\n".join(out) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chats", type=int, default=20)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12",
                   help="Redis for the two-node run (emptied first); 'none' to skip that run")
    p.add_argument("--wait-replicas", type=int, default=0,
                   help="start a master with this many replicas and compare WAIT off (C) with WAIT on (D)")
    p.add_argument("--logs", type=Path, default=None,
                   help="write each jourchatt server's log to this folder, to look into a stall")
    p.add_argument("--log-level", default="warning",
                   help="the servers' log level (info logs every chat, which slows the servers)")
    args = p.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)

    def log_to(name: str) -> Any:
        return open(args.logs / f"{name}.log", "wb") if args.logs else subprocess.DEVNULL  # noqa: SIM115
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() >= 2:  # type: ignore[operator]
        os.sched_setaffinity(0, {1})
    pin = ["taskset", "-c", "0"] if os.cpu_count() and os.cpu_count() >= 2 else []  # type: ignore[operator]

    work = Path(tempfile.mkdtemp(prefix="jourchatt-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
    env.update({"JOURCHATT_LOG_LEVEL": args.log_level, "JOURCHATT_IDLE_WARN_S": "3600",
                "JOURCHATT_FRAME_RATE": "1000000"})  # the bench streams far faster than a person
    cookies = volunteers(env, work, args.chats)
    topology = None
    if args.wait_replicas:
        from tests.sentinel_topology import Topology

        (work / "redis").mkdir()
        topology = Topology(work / "redis", replicas=args.wait_replicas, sentinels=0).start()
        args.redis = f"redis://127.0.0.1:{topology.master}/0"
    two = args.redis.lower() != "none"
    if two:
        import redis

        redis.Redis.from_url(args.redis).flushdb()
        two_dir = Path(tempfile.mkdtemp(prefix="jourchatt-bench-two-"))
        two_env = {**env, "JOURCHATT_BROKER_URL": args.redis, "JOURCHATT_VOLUNTEER_GRACE_S": "0.5",
                   "JOURCHATT_SECRET_KEY": "bench-secret-" + "x" * 40,
                   "JOURCHATT_DATABASE_URL": f"sqlite:///{two_dir / 'jourchatt.sqlite3'}"}
        two_cookies = volunteers(two_env, two_dir, args.chats)
    if topology is not None:
        wait_dir = Path(tempfile.mkdtemp(prefix="jourchatt-bench-wait-"))
        wait_env = {**two_env, "JOURCHATT_BROKER_URL": f"redis://127.0.0.1:{topology.master}/1",
                    "JOURCHATT_BROKER_WAIT_REPLICAS": str(args.wait_replicas),
                    "JOURCHATT_DATABASE_URL": f"sqlite:///{wait_dir / 'jourchatt.sqlite3'}"}
        wait_cookies = volunteers(wait_env, wait_dir, args.chats)
    bare_port, jc_port = _free_port(), _free_port()
    bare = subprocess.Popen([*pin, sys.executable, "-c", BARE_RELAY, str(bare_port)])
    acked_port = _free_port()
    acked = subprocess.Popen([*pin, sys.executable, "-c", BARE_RELAY, str(acked_port), "ack"])
    jc_log = log_to("single")
    jc = subprocess.Popen([*pin, _jourchatt(), "serve", "--port", str(jc_port)], cwd=work, env=env,
                          stdout=jc_log, stderr=jc_log)
    procs = [bare, acked, jc]
    nodes: list[tuple[subprocess.Popen[bytes], int]] = []
    if two:
        for n in range(2):
            port = _free_port()
            node_log = log_to(f"node{n + 1}")
            proc = subprocess.Popen([*pin, _jourchatt(), "serve", "--port", str(port)], cwd=two_dir,
                                    env=two_env, stdout=node_log, stderr=node_log)
            procs.append(proc)
            nodes.append((proc, port))
    wait_nodes: list[tuple[subprocess.Popen[bytes], int]] = []
    if topology is not None:
        for n in range(2):
            port = _free_port()
            node_log = log_to(f"wait-node{n + 1}")
            proc = subprocess.Popen([*pin, _jourchatt(), "serve", "--port", str(port)], cwd=wait_dir,
                                    env=wait_env, stdout=node_log, stderr=node_log)
            procs.append(proc)
            wait_nodes.append((proc, port))
    rows = []
    try:
        _wait_port(bare_port, bare)
        _wait_port(acked_port, acked)
        _wait_port(jc_port, jc)
        for proc, port in nodes + wait_nodes:
            _wait_port(port, proc)
        for r in range(args.rounds):
            c0, l0 = _cpu(bare.pid), time.process_time()
            a = asyncio.run(_run_bare(bare_port, args.chats, args.window, args.seconds))
            ca, la = _cpu(bare.pid) - c0, time.process_time() - l0
            c0, l0 = _cpu(acked.pid), time.process_time()
            k = asyncio.run(_run_bare(acked_port, args.chats, args.window, args.seconds, acks=True))
            ck, lk = _cpu(acked.pid) - c0, time.process_time() - l0
            c0, l0 = _cpu(jc.pid), time.process_time()
            b = asyncio.run(_run_jourchatt(jc_port, cookies, args.window, args.seconds))
            cb, lb = _cpu(jc.pid) - c0, time.process_time() - l0
            row = {"round": r + 1, "bare_lines_s": a / args.seconds, "jourchatt_lines_s": b / args.seconds,
                   "ratio": b / a if a else 0.0, "bare_server_cpu_s": ca, "jourchatt_server_cpu_s": cb,
                   "load_cpu_bare_s": la, "load_cpu_jourchatt_s": lb,
                   "bare_acked_lines_s": k / args.seconds, "bare_acked_ratio": k / a if a else 0.0,
                   "ratio_to_bare_acked": b / k if k else 0.0, "bare_acked_server_cpu_s": ck,
                   "load_cpu_bare_acked_s": lk}
            line = (f"round {r + 1}: bare {row['bare_lines_s']:6.0f} lines/s (server cpu {ca:4.2f}s, load {la:4.2f}s)"
                    f"  bare+acks {row['bare_acked_lines_s']:6.0f} (cpu {ck:4.2f}s, load {lk:4.2f}s)"
                    f"  jourchatt {row['jourchatt_lines_s']:6.0f} (cpu {cb:4.2f}s, load {lb:4.2f}s)"
                    f"  ratio {row['ratio']:.2f} (to bare+acks {row['ratio_to_bare_acked']:.2f})")
            if two:
                (p1, port1), (p2, port2) = nodes
                c0, l0 = _cpu(p1.pid) + _cpu(p2.pid), time.process_time()
                try:
                    c = asyncio.run(_run_jourchatt(port1, two_cookies, args.window, args.seconds, vol_port=port2))
                except RuntimeError:
                    if args.logs:
                        dump_state(args.redis, args.logs / "redis-state.txt")
                    raise
                cc, lc = _cpu(p1.pid) + _cpu(p2.pid) - c0, time.process_time() - l0
                row.update({"two_nodes_lines_s": c / args.seconds, "two_nodes_ratio": c / b if b else 0.0,
                            "two_nodes_server_cpu_s": cc, "load_cpu_two_nodes_s": lc})
                line += (f"  two nodes {row['two_nodes_lines_s']:7.0f} (servers cpu {cc:4.2f}s, load {lc:4.2f}s)"
                         f"  ÷ one node {row['two_nodes_ratio']:.2f}")
            if wait_nodes:
                (p1, port1), (p2, port2) = wait_nodes
                c0 = _cpu(p1.pid) + _cpu(p2.pid)
                d = asyncio.run(_run_jourchatt(port1, wait_cookies, args.window, args.seconds, vol_port=port2))
                cd = _cpu(p1.pid) + _cpu(p2.pid) - c0
                row.update({"wait_lines_s": d / args.seconds, "wait_ratio": d / c if c else 0.0,
                            "wait_server_cpu_s": cd})
                line += (f"  WAIT {args.wait_replicas} {row['wait_lines_s']:7.0f} (servers cpu {cd:4.2f}s)"
                         f"  ÷ WAIT 0 {row['wait_ratio']:.2f}")
            rows.append(row)
            print(line, flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        if topology is not None:
            topology.stop()
    result: dict[str, Any] = {
        "chats": args.chats, "window": args.window, "seconds": args.seconds, "rounds": rows,
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_bare_lines_s": statistics.median(r["bare_lines_s"] for r in rows),
        "median_jourchatt_lines_s": statistics.median(r["jourchatt_lines_s"] for r in rows),
        "median_bare_acked_lines_s": statistics.median(r["bare_acked_lines_s"] for r in rows),
        "median_bare_acked_ratio": statistics.median(r["bare_acked_ratio"] for r in rows),
        "median_ratio_to_bare_acked": statistics.median(r["ratio_to_bare_acked"] for r in rows),
    }
    summary = (f"\nmedian: bare {result['median_bare_lines_s']:.0f} lines/s, bare with acks "
               f"{result['median_bare_acked_lines_s']:.0f} (paired ratio to bare "
               f"{result['median_bare_acked_ratio']:.2f}), jourchatt {result['median_jourchatt_lines_s']:.0f}"
               f" lines/s, paired ratio {result['median_ratio']:.2f} (to bare with acks "
               f"{result['median_ratio_to_bare_acked']:.2f})")
    if two:
        result["median_two_nodes_lines_s"] = statistics.median(r["two_nodes_lines_s"] for r in rows)
        result["median_two_nodes_ratio"] = statistics.median(r["two_nodes_ratio"] for r in rows)
        summary += (f"; two nodes via Redis {result['median_two_nodes_lines_s']:.0f} lines/s,"
                    f" paired ratio to one node {result['median_two_nodes_ratio']:.2f}")
    if wait_nodes:
        result["wait_replicas"] = args.wait_replicas
        result["median_wait_lines_s"] = statistics.median(r["wait_lines_s"] for r in rows)
        result["median_wait_ratio"] = statistics.median(r["wait_ratio"] for r in rows)
        summary += (f"; with WAIT {args.wait_replicas} {result['median_wait_lines_s']:.0f} lines/s,"
                    f" paired ratio to WAIT 0 {result['median_wait_ratio']:.2f}")
    print(summary)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "relay.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
