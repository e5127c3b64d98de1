"""Relay latency visitor -> volunteer: one node, and two nodes through Redis, side by side.

    python -m bench.latency [--chats 10] [--rate 200] [--two-rate R] [--seconds 2] [--rounds 7]
                            [--redis redis://127.0.0.1:6379/12]

(A) one ``jourchatt serve`` with the memory broker, visitor and volunteer on it;
(B) two ``jourchatt serve`` nodes sharing a real Redis, every visitor on node 1
and every volunteer on node 2, so each line crosses Redis Pub/Sub. Open-loop
senders: each visitor sends at a fixed pace (``rate`` lines/s in all), whatever
the replies do, with its send time in the line; the volunteer side notes the
delay on arrival (``--two-rate`` gives B a pace of its own, e.g. half of each
setup's maximum from bench.relay). A and B are interleaved ``rounds`` times;
p50/p99 are over all lines of each setup, and the ratio of medians per round is
reported.
Servers are pinned to core 0, the load generator to core 1.
Prints a table and writes bench/results/latency.json. The Redis database given
is emptied first.
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


from .accounts import volunteers
from .relay import ROOT, _free_port, _jourchatt, _wait_port, close_pairs, open_pairs

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
    chats = len(cookies)
    pairs = await open_pairs(vis_port, vol_port, cookies)
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
            if frame.get("type") == "message" and frame.get("from") == "visitor":
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
    await close_pairs(pairs)
    return delays


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
        procs = [single, node1, node2]
        all_a: list[float] = []
        all_b: list[float] = []
        rows = []
        for r in range(args.rounds):
            a = asyncio.run(_round(single_port, single_port, one_cookies, args.rate, args.seconds))
            b = asyncio.run(_round(port1, port2, two_cookies, args.two_rate or args.rate, args.seconds))
            all_a += a
            all_b += b
            row = {"round": r + 1, "single_p50_ms": _pct(a, 0.5), "single_p99_ms": _pct(a, 0.99),
                   "two_nodes_p50_ms": _pct(b, 0.5), "two_nodes_p99_ms": _pct(b, 0.99),
                   "single_lines": len(a), "two_nodes_lines": len(b)}
            row["p50_ratio"] = row["two_nodes_p50_ms"] / row["single_p50_ms"]
            rows.append(row)
            print(f"round {r + 1}: one node p50 {row['single_p50_ms']:6.2f} ms p99 {row['single_p99_ms']:6.2f} ms"
                  f" ({len(a)} lines)   two nodes via Redis p50 {row['two_nodes_p50_ms']:6.2f} ms"
                  f" p99 {row['two_nodes_p99_ms']:6.2f} ms ({len(b)} lines)", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
    result = {
        "chats": args.chats, "rate": args.rate, "two_nodes_rate": args.two_rate or args.rate,
        "seconds": args.seconds, "rounds": rows,
        "single": {"p50_ms": _pct(all_a, 0.5), "p99_ms": _pct(all_a, 0.99), "lines": len(all_a)},
        "two_nodes_redis": {"p50_ms": _pct(all_b, 0.5), "p99_ms": _pct(all_b, 0.99), "lines": len(all_b)},
        "median_p50_ratio": statistics.median(r["p50_ratio"] for r in rows),
    }
    print(f"\nall lines: one node p50 {result['single']['p50_ms']:.2f} ms, p99 {result['single']['p99_ms']:.2f} ms;"
          f" two nodes via Redis p50 {result['two_nodes_redis']['p50_ms']:.2f} ms,"
          f" p99 {result['two_nodes_redis']['p99_ms']:.2f} ms;"
          f" median paired p50 ratio {result['median_p50_ratio']:.2f}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "latency.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    sys.exit(main())
