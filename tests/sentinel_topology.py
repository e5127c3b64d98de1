"""A real Redis Sentinel topology on loopback: a master, replicas and sentinels.

Each process runs from a temporary folder on a free port, without persistence (as
the broker requires), and is stopped at the end. Missing binaries are a failure, not
a skip. Used by the Sentinel tests and by ``bench/failover.py``.

One sentinel by default: the failover decision (quorum, leader election among
sentinels) is Redis's own and well tested there; what jourchatt must get right is the
client side (finding the master, following it, the subscription, WAIT), and one
sentinel exercises all of it with one process instead of three and no split votes
to slow a failover down. The URL also names a sentinel that is not running, first,
so the client is seen to try the next one. Two replicas by default: after the master
dies and one is promoted, the other is still a replica, so ``WAIT 1`` can still be met.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import redis

SERVICE = "jc"
# How quickly the sentinel calls a silent master down, and how long a failover may take.
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 3000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise RuntimeError(f"{name} is not installed (apt-get install redis-server redis-sentinel)")
    return path


def _until(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"Sentinel topology: {what} within {timeout:.0f} s")


class Topology:
    def __init__(self, tmp: Path, *, replicas: int = 2, sentinels: int = 1) -> None:
        self.tmp = tmp
        self.server, self.sentinel_bin = _binary("redis-server"), _binary("redis-sentinel")
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.master = free_port()
        self.replicas = [free_port() for _ in range(replicas)]
        self.sentinels = [free_port() for _ in range(sentinels)]
        self.dead_sentinel = free_port()          # named in the URL, never started

    def url(self, db: int = 0) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in [self.dead_sentinel, *self.sentinels])
        return f"redis+sentinel://{hosts}/{SERVICE}/{db}"

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=2, decode_responses=True)

    def _redis(self, port: int, *extra: str) -> None:
        args = [self.server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.tmp), "--repl-diskless-sync-delay", "0", *extra]
        with open(self.tmp / f"redis-{port}.log", "wb") as log:
            self.procs[port] = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def start(self) -> "Topology":
        self._redis(self.master)
        _until("the master answers", lambda: bool(self.client(self.master).ping()))
        for port in self.replicas:
            self._redis(port, "--replicaof", "127.0.0.1", str(self.master))
        for port in self.replicas:
            _until("a replica is in sync", lambda port=port: self.client(port).info("replication")
                   .get("master_link_status") == "up")  # type: ignore[misc]
        for port in self.sentinels:
            conf = self.tmp / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self.tmp}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master} 1\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {SERVICE} 2\n")
            with open(self.tmp / f"sentinel-{port}.log", "wb") as log:
                self.procs[port] = subprocess.Popen([self.sentinel_bin, str(conf)], stdout=log,
                                                    stderr=subprocess.STDOUT)
        for port in self.sentinels:
            _until("the sentinel knows every replica", lambda port=port: len(
                self.client(port).execute_command("SENTINEL", "REPLICAS", SERVICE)) == len(self.replicas))
        return self

    def master_port(self) -> int:
        """The master's port, as the (first) sentinel tells its clients (SENTINEL MASTER:
        during a failover it still names the old one until the failover ends)."""
        state = self.client(self.sentinels[0]).execute_command("SENTINEL", "MASTER", SERVICE)
        fields = dict(zip(state[::2], state[1::2])) if isinstance(state, list) else state
        return int(fields["port"])

    def failing_over(self) -> bool:
        state = self.client(self.sentinels[0]).execute_command("SENTINEL", "MASTER", SERVICE)
        fields = dict(zip(state[::2], state[1::2])) if isinstance(state, list) else state
        return "failover_in_progress" in fields["flags"]

    def kill_master(self) -> int:
        """SIGKILL the master: no goodbye, no last replication. Returns its port."""
        port = self.master_port()
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        return port

    def failover(self) -> int:
        """A graceful failover (SENTINEL FAILOVER): the master is demoted and stays up.
        Returns its port. Retried while the sentinel finds no replica fit yet."""
        port = self.master_port()

        def asked() -> bool:
            try:
                return bool(self.client(self.sentinels[0]).execute_command("SENTINEL", "FAILOVER", SERVICE))
            except redis.ResponseError as exc:
                if "NOGOODSLAVE" in str(exc) or "INPROG" in str(exc):
                    return False
                raise
        _until("the sentinel starts a failover", asked)
        return port

    def wait_failover(self, old: int, timeout: float = 20.0) -> int:
        """Wait until the sentinel names a new master and it takes writes; its port."""
        _until("a replica is promoted", lambda: self.master_port() != old and not self.failing_over()
               and self.client(self.master_port()).info("replication")["role"] == "master", timeout)
        return self.master_port()

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait(10)
