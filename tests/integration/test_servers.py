"""The test session's own servers (tests/servers.py): they answer, they are stopped with
nothing left behind, and they stop by themselves when the process that started them dies."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import redis

from .. import servers

ROOT = Path(__file__).parents[2]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_a_redis_of_its_own_answers_keeps_nothing_on_disk_and_goes_away_whole() -> None:
    with servers.redis_server() as url:
        client = redis.Redis.from_url(url)
        try:
            assert client.ping()
            directory = Path(client.config_get("dir")["dir"])
            assert directory.name.startswith("jourchatt-test-redis-") and directory.is_dir()
            assert client.config_get("save")["save"] == "" and client.config_get("appendonly")["appendonly"] == "no"
            assert client.config_get("bind")["bind"] == "127.0.0.1"
        finally:
            client.close()
    assert _refused(_port(url)), "the Redis still answers after the block"
    assert not directory.exists(), "its directory is left behind"


async def test_a_postgresql_of_its_own_takes_databases_runs_unprivileged_and_goes_away_whole() -> None:
    with servers.postgres_server() as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute('CREATE DATABASE "jc_servers_check"')       # what every test does through it
            data = Path(await conn.fetchval("SHOW data_directory"))
            assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
            assert await conn.fetchval("SHOW unix_socket_directories") == ""
            assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        finally:
            await conn.close()
        assert data.parent.name.startswith("jourchatt-test-postgres-") and data.is_dir()
        if os.geteuid() == 0:        # PostgreSQL refuses root: it runs as the postgres account
            assert data.stat().st_uid == pwd.getpwnam(servers.POSTGRES_ACCOUNT).pw_uid
    assert _refused(_port(url)), "PostgreSQL still answers after the block"
    assert not data.parent.exists(), "its directory is left behind"


async def test_the_servers_stop_when_the_process_that_started_them_is_killed() -> None:
    """SIGKILL gives the starter no chance to clean up: the parent-death signal stops them."""
    script = ("import json, sys, time\n"
              "from tests import servers\n"
              "with servers.redis_server() as r, servers.postgres_server() as p:\n"
              "    print(json.dumps([r, p]), flush=True)\n"
              "    time.sleep(600)\n")
    starter = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE)
    left: list[Path] = []           # a killed starter leaves its directories: removed here
    assert starter.stdout is not None
    try:
        line = starter.stdout.readline()
        assert line, "the starter died before its servers answered"
        redis_url, postgres_url = json.loads(line)
        client = redis.Redis.from_url(redis_url)
        left.append(Path(client.config_get("dir")["dir"]))
        client.close()
        conn = await asyncpg.connect(postgres_url)
        left.append(Path(await conn.fetchval("SHOW data_directory")).parent)
        await conn.close()
        ports = [_port(redis_url), _port(postgres_url)]

        starter.send_signal(signal.SIGKILL)
        starter.wait(10)
        deadline = time.monotonic() + 30
        while not all(_refused(p) for p in ports) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert all(_refused(p) for p in ports), "a server outlived the process that started it"
    finally:
        starter.kill()
        starter.wait(10)
        starter.stdout.close()
        for directory in left:
            shutil.rmtree(directory, ignore_errors=True)
