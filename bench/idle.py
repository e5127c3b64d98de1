"""Idle capacity: how many waiting visitors one process holds, and what each costs.

    python -m bench.idle [--counts 1000,5000,10000,15000]

For each count N, in one invocation: (A) a bare ``websockets`` server that
accepts N connections and holds them; (B) ``jourchatt serve`` on the embedded
defaults with N visitors who said ``hello`` and wait in the queue (no volunteer
on duty). Each server runs in a fresh process pinned to core 0, the clients in
this process pinned to core 1. The figure is resident memory per connection:
(RSS with N connections − RSS after start-up) ÷ N, in KiB, for A and B side
by side, and whether every one of the N visitors got its ``queued`` frame.
Raises the file-descriptor limit for both sides. Prints a table and writes
bench/results/idle.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import websockets

from .relay import ROOT, _free_port, _jourchatt, _wait_port

FD_LIMIT = 65536
CONNECT_BATCH = 250

BARE_HOLDER = textwrap.dedent('''
    import asyncio, resource, sys
    import websockets
    _s, _h = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (_h, _h))
    async def handler(ws):
        async for _ in ws:
            pass
    async def main():
        async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None,
                                    max_size=65536, ping_interval=20):
            await asyncio.Future()
    asyncio.run(main())
''')


def _raise_fd_limit() -> None:
    """As high as allowed: the hard limit can only be raised with CAP_SYS_RESOURCE."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = FD_LIMIT if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))
    except ValueError:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _pin(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if os.cpu_count() and os.cpu_count() > 1 else []  # type: ignore[operator]


async def _open(port: int, path: str, n: int, hello: bool) -> tuple[list[Any], int]:
    """Open ``n`` connections in batches; with ``hello``, wait for each one's ``queued``."""
    conns: list[Any] = []
    queued = 0

    async def one() -> None:
        nonlocal queued
        ws = await websockets.connect(f"ws://127.0.0.1:{port}{path}", compression=None,
                                      open_timeout=60, ping_interval=None, max_queue=4)
        conns.append(ws)
        if hello:
            await ws.send('{"type":"hello","lang":"sv"}')
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if frame["type"] == "queued":
                    queued += 1
                    return
                if frame["type"] in ("closed", "error"):
                    return

    for start in range(0, n, CONNECT_BATCH):
        await asyncio.gather(*(one() for _ in range(min(CONNECT_BATCH, n - start))))
    return conns, queued


async def _close(conns: list[Any]) -> None:
    for start in range(0, len(conns), 500):
        await asyncio.gather(*(c.close() for c in conns[start:start + 500]), return_exceptions=True)


def _settle(pid: int, seconds: float = 1.5) -> int:
    time.sleep(seconds)
    return _rss_kib(pid)


async def _measure(proc: subprocess.Popen[bytes], port: int, path: str, n: int, hello: bool) -> dict[str, Any]:
    before = _settle(proc.pid)
    t0 = time.perf_counter()
    conns, queued = await _open(port, path, n, hello)
    opened_s = time.perf_counter() - t0
    after = _settle(proc.pid)
    alive = proc.poll() is None
    await _close(conns)
    return {"connections": len(conns), "queued": queued if hello else None, "rss_before_kib": before,
            "rss_after_kib": after, "kib_per_connection": round((after - before) / max(1, len(conns)), 2),
            "open_s": round(opened_s, 2), "server_alive": alive}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def run(counts: list[int]) -> list[dict[str, Any]]:
    _raise_fd_limit()
    if len(_pin(1)):
        os.sched_setaffinity(0, {1})
    rows = []
    for n in counts:
        port = _free_port()
        bare = subprocess.Popen([*_pin(0), sys.executable, "-c", BARE_HOLDER, str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_raise_fd_limit)
        _wait_port(port, bare)
        a = await _measure(bare, port, "/", n, hello=False)
        _stop(bare)
        with tempfile.TemporaryDirectory() as work:
            env = {**os.environ, "JOURCHATT_VAR_DIR": str(Path(work) / "var"), "JOURCHATT_LOG_LEVEL": "warning",
                   "JOURCHATT_MAX_QUEUE": str(max(counts) + 100), "JOURCHATT_MAX_SOCKETS": str(max(counts) + 100)}
            port = _free_port()
            proc = subprocess.Popen([*_pin(0), _jourchatt(), "serve", "--port", str(port)], cwd=work, env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    preexec_fn=_raise_fd_limit)
            _wait_port(port, proc)
            b = await _measure(proc, port, "/ws/visitor", n, hello=True)
            _stop(proc)
        rows.append({"n": n, "bare": a, "jourchatt": b,
                     "ratio_kib": round(b["kib_per_connection"] / max(0.01, a["kib_per_connection"]), 2)})
        print(f"  n={n}: bare {a['kib_per_connection']} KiB/conn, jourchatt {b['kib_per_connection']} KiB/conn, "
              f"queued {b['queued']}/{n}, alive {b['server_alive']}", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", default="1000,5000,10000,15000")
    args = p.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    rows = asyncio.run(run(counts))
    print()
    print(f"{'N':>7} {'bare KiB/conn':>14} {'jourchatt KiB/conn':>19} {'ratio':>6} {'queued':>8} {'open s':>7}")
    for r in rows:
        print(f"{r['n']:>7} {r['bare']['kib_per_connection']:>14} {r['jourchatt']['kib_per_connection']:>19} "
              f"{r['ratio_kib']:>6} {r['jourchatt']['queued']:>8} {r['jourchatt']['open_s']:>7}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "idle.json").write_text(json.dumps({"counts": counts, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
