"""Relay latency visitor -> volunteer: one node, and two nodes through Redis, side by side.

    python -m bench.latency [--chats 10] [--rate 200] [--two-rate R] [--seconds 2] [--rounds 7]
                            [--redis redis://127.0.0.1:6379/12]

(0) the bare relay of bench.relay (the floor: a few lines of ``websockets`` that
forward each frame); (A) one ``jourchatt serve`` with the memory broker, visitor
and volunteer on it;
(B) two ``jourchatt serve`` nodes sharing a real Redis, every visitor on node 1
and every volunteer on node 2, so each line crosses Redis Pub/Sub. Open-loop
senders: each visitor sends at a fixed pace (``rate`` lines/s in all), whatever
the replies do, with its send time in the line; the volunteer side notes the
delay on arrival (``--two-rate`` gives B a pace of its own, e.g. half of each
setup's maximum from bench.relay; the bare relay gets ``rate``). 0, A and B are
interleaved ``rounds`` times; the load generator's cycle collector is off during a
round (its full passes would stall the senders and be charged to the server);
p50/p99 are over all lines of each setup, and the ratio of medians per round is
reported.
Servers are pinned to core 0, the load generator to core 1.
Prints a table and writes bench/results/latency.json. The Redis database given
is emptied first.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable


from .accounts import volunteers
from .relay import (BARE_RELAY, ROOT, _free_port, _jourchatt, _wait_port, close_bare_pairs, close_pairs,
                    open_bare_pairs, open_pairs)

SECRET = "bench-secret-" + "x" * 40


def _start(work: Path, env: dict[str, str], pin: list[str],
           log: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    out = open(log, "wb") if log else subprocess.DEVNULL   # noqa: SIM115 (the child holds it)
    proc = subprocess.Popen([*pin, _jourchatt(), "serve", "--port", str(port)], cwd=work, env=env,
                            stdout=out, stderr=out)
    _wait_port(port, proc)
    return proc, port


def _setup(work: Path, env: dict[str, str], chats: int) -> list[str]:
    """Migrate the database and make ``chats`` signed-in volunteers; their cookies."""
    return volunteers(env, work, chats)


async def _round(vis_port: int, vol_port: int, cookies: list[str], rate: float, seconds: float) -> list[float]:
    pairs = await open_pairs(vis_port, vol_port, cookies)
    delays = await _measure(pairs, rate, seconds, lambda frame: frame.get("from") == "visitor")
    await close_pairs(pairs)
    return delays


async def _bare_round(port: int, chats: int, rate: float, seconds: float) -> list[float]:
    """The same open-loop load through the bare relay (bench.relay's): the floor."""
    pairs = await open_bare_pairs(port, chats)
    delays = await _measure(pairs, rate, seconds, lambda frame: True)
    await close_bare_pairs(pairs)
    return delays


async def _measure(pairs: list[tuple[Any, Any]], rate: float, seconds: float,
                   is_line: Callable[[dict[str, Any]], bool]) -> list[float]:
    """Open-loop senders on the first socket of each pair; the delay of each line at the second."""
    chats = len(pairs)
    delays: list[float] = []
    interval = chats / rate
    stop_at = time.perf_counter() + seconds

    async def sender(vis: Any, offset: float) -> None:
        n, start = 0, time.perf_counter() + offset
        while True:
            due = start + n * interval
            if due > stop_at:
                return
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            n += 1
            await vis.send(json.dumps({"type": "message", "id": n, "text": f"t={time.perf_counter()!r}"}))

    async def reader(vol: Any) -> None:
        async for raw in vol:
            frame = json.loads(raw)
            if frame.get("type") == "message" and is_line(frame):
                delays.append(time.perf_counter() - float(frame["text"][2:]))

    async def drain(vis: Any) -> None:
        async for _ in vis:
            pass

    tasks = [asyncio.create_task(reader(vol)) for _, vol in pairs]
    tasks += [asyncio.create_task(drain(vis)) for vis, _ in pairs]
    await asyncio.gather(*(sender(vis, i * interval / chats) for i, (vis, _) in enumerate(pairs)))
    await asyncio.sleep(0.5)            # let the last lines arrive
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return delays


def _run(coro: Any) -> Any:
    """Run one setup's round with the load generator's cycle collector off: a full pass over
    its objects stalls every sender and reader for tens of milliseconds, which would be
    charged to the server (the load is a few thousand lines; memory is no concern)."""
    gc.collect()
    gc.disable()
    try:
        return asyncio.run(coro)
    finally:
        gc.enable()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chats", type=int, default=10)
    p.add_argument("--rate", type=float, default=200.0, help="lines per second, all chats together")
    p.add_argument("--two-rate", type=float, default=None,
                   help="lines per second for the two-node setup (default: --rate)")
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    p.add_argument("--logs", type=Path, default=None,
                   help="write each server's log to this folder, to look into a stall")
    p.add_argument("--log-level", default="warning",
                   help="the servers' log level (info logs every chat, which slows the servers)")
    args = p.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    logs = [args.logs / f"{name}.log" if args.logs else None for name in ("single", "node1", "node2")]
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {1})
    pin = ["taskset", "-c", "0"] if (os.cpu_count() or 1) >= 2 else []
    import redis

    redis.Redis.from_url(args.redis).flushdb()
    base = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
    base.update({"JOURCHATT_LOG_LEVEL": args.log_level, "JOURCHATT_IDLE_WARN_S": "3600", "JOURCHATT_FRAME_RATE": "1000000",
                 "JOURCHATT_VOLUNTEER_GRACE_S": "0.5", "JOURCHATT_SECRET_KEY": SECRET})
    one_dir, two_dir = Path(tempfile.mkdtemp(prefix="jc-one-")), Path(tempfile.mkdtemp(prefix="jc-two-"))
    one_env = dict(base)
    two_env = {**base, "JOURCHATT_BROKER_URL": args.redis,
               "JOURCHATT_DATABASE_URL": f"sqlite:///{two_dir / 'jourchatt.sqlite3'}"}
    one_cookies = _setup(one_dir, one_env, args.chats)
    two_cookies = _setup(two_dir, two_env, args.chats)
    procs = []
    try:
        single, single_port = _start(one_dir, one_env, pin, logs[0])
        node1, port1 = _start(two_dir, two_env, pin, logs[1])
        node2, port2 = _start(two_dir, two_env, pin, logs[2])
        bare_port = _free_port()
        bare = subprocess.Popen([*pin, sys.executable, "-c", BARE_RELAY, str(bare_port)])
        procs = [single, node1, node2, bare]
        _wait_port(bare_port, bare)
        all_0: list[float] = []
        all_a: list[float] = []
        all_b: list[float] = []
        rows = []
        for r in range(args.rounds):
            z = _run(_bare_round(bare_port, args.chats, args.rate, args.seconds))
            a = _run(_round(single_port, single_port, one_cookies, args.rate, args.seconds))
            b = _run(_round(port1, port2, two_cookies, args.two_rate or args.rate, args.seconds))
            all_0 += z
            all_a += a
            all_b += b
            row = {"round": r + 1, "bare_p50_ms": _pct(z, 0.5), "bare_p99_ms": _pct(z, 0.99),
                   "single_p50_ms": _pct(a, 0.5), "single_p99_ms": _pct(a, 0.99),
                   "two_nodes_p50_ms": _pct(b, 0.5), "two_nodes_p99_ms": _pct(b, 0.99),
                   "bare_lines": len(z), "single_lines": len(a), "two_nodes_lines": len(b)}
            row["p50_ratio"] = row["two_nodes_p50_ms"] / row["single_p50_ms"]
            rows.append(row)
            print(f"round {r + 1}: bare relay p50 {row['bare_p50_ms']:5.2f} p99 {row['bare_p99_ms']:5.2f} ms"
                  f" ({len(z)} lines)   one node p50 {row['single_p50_ms']:5.2f} p99 {row['single_p99_ms']:5.2f} ms"
                  f" ({len(a)} lines)   two nodes via Redis p50 {row['two_nodes_p50_ms']:5.2f}"
                  f" p99 {row['two_nodes_p99_ms']:5.2f} ms ({len(b)} lines)", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
    result = {
        "chats": args.chats, "rate": args.rate, "two_nodes_rate": args.two_rate or args.rate,
        "seconds": args.seconds, "rounds": rows,
        "bare_relay": {"p50_ms": _pct(all_0, 0.5), "p99_ms": _pct(all_0, 0.99), "lines": len(all_0)},
        "single": {"p50_ms": _pct(all_a, 0.5), "p99_ms": _pct(all_a, 0.99), "lines": len(all_a)},
        "two_nodes_redis": {"p50_ms": _pct(all_b, 0.5), "p99_ms": _pct(all_b, 0.99), "lines": len(all_b)},
        "median_p50_ratio": statistics.median(r["p50_ratio"] for r in rows),
    }
    print(f"\nall lines: bare relay p50 {result['bare_relay']['p50_ms']:.2f} ms, p99 {result['bare_relay']['p99_ms']:.2f} ms;"
          f" one node p50 {result['single']['p50_ms']:.2f} ms, p99 {result['single']['p99_ms']:.2f} ms;"
          f" two nodes via Redis p50 {result['two_nodes_redis']['p50_ms']:.2f} ms,"
          f" p99 {result['two_nodes_redis']['p99_ms']:.2f} ms;"
          f" median paired p50 ratio two/one {result['median_p50_ratio']:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
