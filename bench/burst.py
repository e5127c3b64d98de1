"""Queue bursts: many visitors arriving at once, and many volunteers matched at once.

    python -m bench.burst [--arrivals 1000,2500,5000] [--spread 10] [--volunteers 50]
                          [--match 1000]

Part 1, waiting crowd: 50 volunteers (capacity 1) are on duty, so 50 chats are
taken and everyone else waits. N visitors arrive spread evenly over ``spread``
seconds (open loop). Reported: the server's CPU time for the arrivals, per
arrival (it should stay flat as N grows: position updates are coalesced, never
one broadcast per arrival), and, after the crowd has settled, the delay until
every waiting visitor has its new position when the volunteers free their slots
(each volunteer ends its chat and files the wrap-up; the queue moves up by 50):
p50/p99 over all waiting visitors, with the CPU time the server and this
process (the load generator, one core) spent meanwhile: when the latter is
close to the wall time, the clients, not the server, set the delay. The
baseline in the same invocation is a bare ``websockets`` server that accepts
the same N sockets and answers one frame each: the floor for the arrivals' CPU.

Part 2, matching burst: ``match`` volunteers are on duty and ``match``
visitors say hello at once. Reported: the time from the first hello until the
last visitor is assigned, the server's CPU time for it, double assignments (a
volunteer given two chats) and whether the chats were handed out in arrival
order, as the server saw both: its log (JSON, info level, for this round only)
names each chat when it is queued (``chat.queued``, in the order the hellos
were taken in, which is the queue's order) and when it is assigned
(``chat.assigned``, in the order of assignment). Strict first-come order means
the two sequences are the same; the figure is the number of chats assigned
before a chat queued earlier was. (The clients' view of the order is also
reported but is not the measure: frames of 1,000 sockets reach the client in
an order of the kernel's choosing.)

With ``--specialists P`` (default 10) part 2 runs a second time in the same
invocation: P % of the volunteers hold the skill ``uses_violence`` and every
(100 / P)th visitor says hello with ``topic: uses_violence`` (topic routing, issue
18), so the figure stands beside today's plain matching. Reported besides: how
many topic chats reached a volunteer with the skill.

Servers are pinned to core 0, this process to core 1. Sessions for the
volunteers are created directly in the database (login's Argon2id is not what
is measured). Prints a table and writes bench/results/burst.json.
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

from .accounts import volunteers_async
from .idle import _close, _pin, _raise_fd_limit
from .relay import ROOT, _cpu, _free_port, _jourchatt, _wait_port

BARE_ANSWER = textwrap.dedent('''
    import asyncio, resource, sys
    import websockets
    _s, _h = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (_h, _h))
    async def handler(ws):
        async for frame in ws:
            await ws.send('{"type":"queued","position":1,"estimated_wait_s":30}')
    async def main():
        async with websockets.serve(handler, "127.0.0.1", int(sys.argv[1]), compression=None,
                                    max_size=65536):
            await asyncio.Future()
    asyncio.run(main())
''')


def _own_cpu() -> float:
    """CPU seconds of this process (the load generator): is it, not the server, the saturated side?"""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _console(port: int, cookie: str) -> Any:
    ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/volunteer", compression=None,
                                  additional_headers={"Cookie": cookie}, open_timeout=60, max_queue=None)
    assert json.loads(await ws.recv())["type"] == "welcome"
    return ws


class Crowd:
    """Visitors' sockets and the latest position each was told."""

    def __init__(self) -> None:
        self.position: dict[int, int] = {}
        self.changed_at: dict[int, float] = {}
        self.assigned_at: dict[int, float] = {}
        self.names: dict[int, str] = {}            # visitor -> the volunteer's display name
        self.readers: list[asyncio.Task[None]] = []
        self.conns: list[Any] = []

    async def arrive(self, port: int, i: int) -> None:
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor", compression=None,
                                      open_timeout=60, max_queue=None)
        self.conns.append(ws)
        await ws.send('{"type":"hello","lang":"sv"}')
        self.readers.append(asyncio.create_task(self._read(ws, i)))

    async def _read(self, ws: Any, i: int) -> None:
        try:
            async for raw in ws:
                frame = json.loads(raw)
                if frame["type"] == "queued":
                    self.position[i] = frame["position"]
                    self.changed_at[i] = time.perf_counter()
                elif frame["type"] == "assigned":
                    self.assigned_at[i] = time.perf_counter()
                    self.names[i] = frame.get("volunteer", "")
                    self.position.pop(i, None)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        for t in self.readers:
            t.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await _close(self.conns)


async def _spread(port: int, crowd: Crowd, n: int, spread: float) -> None:
    start = time.perf_counter()
    tasks = []
    for i in range(n):
        delay = start + spread * i / n - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(crowd.arrive(port, i)))
    await asyncio.gather(*tasks)


async def _wait_until(cond: Any, timeout: float) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


def _serve(work: str, env: dict[str, str], log: Any = None) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    # This checkout's code, even when the shared virtualenv's editable install is another worktree.
    env = {**env, "PYTHONPATH": os.pathsep.join(x for x in (str(ROOT), env.get("PYTHONPATH", "")) if x)}
    proc = subprocess.Popen([*_pin(0), _jourchatt(), "serve", "--port", str(port)], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            preexec_fn=_raise_fd_limit)
    _wait_port(port, proc)
    return proc, port


def _server_order(log_path: Path) -> tuple[list[str], list[str]]:
    """The chats in the order the server queued them, and in the order it assigned them."""
    queued: list[str] = []
    assigned: list[str] = []
    for line in log_path.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "chat.queued":
            queued.append(event["chat"])
        elif event.get("event") == "chat.assigned":
            assigned.append(event["chat"])
    return queued, assigned


def fifo_violations(queued: list[str], assigned: list[str]) -> int:
    """Chats assigned while a chat queued before them was still waiting."""
    rank = {chat: i for i, chat in enumerate(queued)}
    later = 0
    waiting_before = 0        # the lowest queue rank not yet assigned
    done: set[int] = set()
    for chat in assigned:
        r = rank.get(chat, -1)
        if r > waiting_before:
            later += 1
        done.add(r)
        while waiting_before in done:
            waiting_before += 1
    return later


def _env(work: str, n: int) -> dict[str, str]:
    return {**os.environ, "JOURCHATT_VAR_DIR": str(Path(work) / "var"), "JOURCHATT_LOG_LEVEL": "warning",
            "JOURCHATT_MAX_QUEUE": str(n + 100), "JOURCHATT_MAX_SOCKETS": str(2 * n + 2200)}


async def crowd_round(n: int, spread: float, volunteers: int) -> dict[str, Any]:
    # A: the bare floor for n arrivals.
    port = _free_port()
    bare = subprocess.Popen([*_pin(0), sys.executable, "-c", BARE_ANSWER, str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_raise_fd_limit)
    _wait_port(port, bare)
    base = _cpu(bare.pid)
    crowd = Crowd()
    await _spread(port, crowd, n, spread)
    await _wait_until(lambda: len(crowd.position) >= n, 30)
    bare_cpu = _cpu(bare.pid) - base
    await crowd.close()
    bare.terminate()
    bare.wait()

    # B: jourchatt with ``volunteers`` on duty.
    with tempfile.TemporaryDirectory() as work:
        env = _env(work, n)
        cookies = await volunteers_async(env, Path(work), volunteers)
        proc, port = _serve(work, env)
        consoles = [await _console(port, c) for c in cookies]
        for ws in consoles:
            await ws.send('{"type":"status","state":"available"}')
        chats: dict[int, str] = {}

        async def console_reader(k: int, ws: Any) -> None:
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "assigned":
                        chats[k] = frame["chat"]
                    elif frame["type"] == "ended":
                        await ws.send(json.dumps({"type": "wrapup", "chat": frame["chat"],
                                                  "report": {"non_data": "test"}}))
            except websockets.ConnectionClosed:
                pass

        readers = [asyncio.create_task(console_reader(k, ws)) for k, ws in enumerate(consoles)]
        crowd = Crowd()
        base = _cpu(proc.pid)
        t0 = time.perf_counter()
        await _spread(port, crowd, n, spread)
        settled = await _wait_until(lambda: len(crowd.position) + len(crowd.assigned_at) >= n
                                    and len(chats) >= volunteers, 60)
        arrive_cpu = _cpu(proc.pid) - base
        arrive_wall = time.perf_counter() - t0
        await asyncio.sleep(1.0)                      # let the last coalesced updates land
        waiting = dict(crowd.position)
        # Everyone waiting moves up by ``volunteers`` places when the volunteers free their slots.
        moved_from = time.perf_counter()
        base = _cpu(proc.pid)
        client_base = _own_cpu()
        for k, ws in enumerate(consoles):
            await ws.send(json.dumps({"type": "end", "chat": chats[k]}))
        target = {i: p - volunteers for i, p in waiting.items() if p - volunteers >= 1}
        await _wait_until(lambda: all(crowd.position.get(i, 0) <= p for i, p in target.items()), 30)
        move_cpu = _cpu(proc.pid) - base
        client_move_cpu = _own_cpu() - client_base
        delays = [crowd.changed_at[i] - moved_from for i in target if crowd.position.get(i, 10**9) <= target[i]]
        for t in readers:
            t.cancel()
        await crowd.close()
        await _close(consoles)
        proc.terminate()
        proc.wait()
    return {"n": n, "bare_cpu_s": round(bare_cpu, 3), "arrive_cpu_s": round(arrive_cpu, 3),
            "arrive_cpu_ms_per_visitor": round(1000 * arrive_cpu / n, 3),
            "bare_cpu_ms_per_visitor": round(1000 * bare_cpu / n, 3),
            "arrive_wall_s": round(arrive_wall, 2), "settled": settled, "waiting": len(waiting),
            "moved": len(target), "updated": len(delays), "move_cpu_s": round(move_cpu, 3),
            "client_move_cpu_s": round(client_move_cpu, 3), "move_wall_s": round(max(delays, default=0.0), 3),
            "update_p50_ms": round(1000 * _pct(delays, 0.5), 1), "update_p99_ms": round(1000 * _pct(delays, 0.99), 1),
            "update_max_ms": round(1000 * max(delays, default=float("nan")), 1)}


async def match_round(m: int, specialists_pct: float = 0.0) -> dict[str, Any]:
    skilled = int(m * specialists_pct / 100)
    step = round(100 / specialists_pct) if specialists_pct else 0
    topic_chats = {i for i in range(m) if step and i % step == 0}
    with tempfile.TemporaryDirectory() as work:
        env = {**_env(work, m), "JOURCHATT_LOG_LEVEL": "info", "JOURCHATT_LOG_FORMAT": "json"}
        cookies = await volunteers_async(env, Path(work), m, skilled=skilled)
        log_path = Path(work) / "server.log"
        with open(log_path, "wb") as log:
            proc, port = _serve(work, env, log)
        consoles = [await _console(port, c) for c in cookies]
        got: dict[int, list[str]] = {k: [] for k in range(m)}

        async def console_reader(k: int, ws: Any) -> None:
            try:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "assigned":
                        got[k].append(frame["chat"])
            except websockets.ConnectionClosed:
                pass

        readers = [asyncio.create_task(console_reader(k, ws)) for k, ws in enumerate(consoles)]
        for ws in consoles:
            await ws.send('{"type":"status","state":"available"}')
        await asyncio.sleep(1.0)
        visitors = []
        for _ in range(m):     # connect first, so that the hellos go out together
            visitors.append(await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor", compression=None,
                                                     open_timeout=60, max_queue=None))
        crowd = Crowd()
        crowd.conns = visitors
        for i, ws in enumerate(visitors):
            crowd.readers.append(asyncio.create_task(crowd._read(ws, i)))
        await asyncio.sleep(0.5)
        base = _cpu(proc.pid)
        t0 = time.perf_counter()
        for i, ws in enumerate(visitors):
            await ws.send('{"type":"hello","lang":"sv","topic":"uses_violence"}' if i in topic_chats
                          else '{"type":"hello","lang":"sv"}')
        sent_s = time.perf_counter() - t0
        done = await _wait_until(lambda: len(crowd.assigned_at) >= m and
                                 sum(len(c) for c in got.values()) >= m, 30)
        took = max(crowd.assigned_at.values(), default=float("nan")) - t0
        cpu = _cpu(proc.pid) - base
        order = sorted(crowd.assigned_at, key=crowd.assigned_at.get)  # type: ignore[arg-type]
        client_inversions = sum(1 for a, b in zip(order, order[1:]) if a > b)
        doubles = sum(1 for chats in got.values() if len(chats) > 1)
        given = [c for chats in got.values() for c in chats]
        specialist_names = {f"V{k}" for k in range(skilled)}
        to_specialist = sum(1 for i in topic_chats if crowd.names.get(i) in specialist_names)
        for t in readers:
            t.cancel()
        await crowd.close()
        await _close(consoles)
        proc.terminate()
        proc.wait()
        queued, assigned = _server_order(log_path)
    return {"m": m, "specialists": skilled, "topic_chats": len(topic_chats),
            "topic_chats_to_specialist": to_specialist, "all_assigned": done, "assigned": len(crowd.assigned_at), "took_s": round(took, 3),
            "hellos_sent_s": round(sent_s, 3), "server_cpu_s": round(cpu, 3),
            "double_assignments": doubles, "chats_given_twice": len(given) - len(set(given)),
            "server_queued": len(queued), "server_assigned": len(assigned),
            "server_fifo_violations": fifo_violations(queued, assigned),
            "server_order_strict": assigned == queued[:len(assigned)],
            "order_inversions_seen_by_clients": client_inversions}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arrivals", default="1000,2500,5000")
    p.add_argument("--spread", type=float, default=10.0)
    p.add_argument("--volunteers", type=int, default=50)
    p.add_argument("--match", type=int, default=1000)
    p.add_argument("--specialists", type=float, default=10.0,
                   help="percent of volunteers with a skill in a second matching round (0: none)")
    args = p.parse_args()
    _raise_fd_limit()
    if _pin(1):
        os.sched_setaffinity(0, {1})

    async def go() -> dict[str, Any]:
        crowd = []
        for n in (int(x) for x in args.arrivals.split(",") if x):
            row = await crowd_round(n, args.spread, args.volunteers)
            print("  crowd", row, flush=True)
            crowd.append(row)
        match = await match_round(args.match) if args.match else None
        if match:
            print("  match", match, flush=True)
        topics = await match_round(args.match, args.specialists) if args.match and args.specialists else None
        if topics:
            print("  match with specialists", topics, flush=True)
        return {"crowd": crowd, "match": match, "match_specialists": topics}

    result = asyncio.run(go())
    print()
    print(f"{'N':>6} {'bare ms/arr':>11} {'jc ms/arr':>10} {'ratio':>6} {'waiting':>8} {'updated':>8} "
          f"{'upd p50 ms':>10} {'upd p99 ms':>10} {'srv cpu s':>9} {'load cpu s':>10}")
    for r in result["crowd"]:
        ratio = r["arrive_cpu_ms_per_visitor"] / max(1e-9, r["bare_cpu_ms_per_visitor"])
        print(f"{r['n']:>6} {r['bare_cpu_ms_per_visitor']:>11} {r['arrive_cpu_ms_per_visitor']:>10} {ratio:>6.2f} "
              f"{r['waiting']:>8} {r['updated']:>8} {r['update_p50_ms']:>10} {r['update_p99_ms']:>10} "
              f"{r['move_cpu_s']:>9} {r['client_move_cpu_s']:>10}")
    if result["match"]:
        m = result["match"]
        print(f"\nmatching {m['m']} visitors to {m['m']} volunteers: all assigned {m['all_assigned']} "
              f"in {m['took_s']} s (server CPU {m['server_cpu_s']} s), double assignments "
              f"{m['double_assignments']}, assigned before an earlier arrival (server's order) "
              f"{m['server_fifo_violations']}, strict FIFO {m['server_order_strict']}")
    if result.get("match_specialists"):
        m = result["match_specialists"]
        print(f"with {m['specialists']} specialists and {m['topic_chats']} topic chats: all assigned "
              f"{m['all_assigned']} in {m['took_s']} s (server CPU {m['server_cpu_s']} s), double assignments "
              f"{m['double_assignments']}, topic chats to a specialist {m['topic_chats_to_specialist']}, "
              f"assigned before an earlier arrival {m['server_fifo_violations']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "burst.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
