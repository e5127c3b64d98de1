"""The test session's own Redis and PostgreSQL: throwaway servers on free ports.

Each server runs from Debian's binaries in a temporary directory of its own, keeps
nothing anywhere else, and is stopped (and its directory removed) when its ``with``
block ends. A server is started in a process session of its own, so a Ctrl-C in the
terminal reaches pytest (which then stops it after the tests' teardown) and not the
server mid-test; and with the parent-death signal set (``setpriv --pdeathsig``) it
stops too if pytest is killed outright.

PostgreSQL refuses to run as root, so when the tests run as root ``initdb`` and
``postgres`` run as the ``postgres`` system account (which Debian's package creates)
in a directory that account owns.

Nothing here connects to a server it did not start: the URLs handed out name only the
ports these servers were started on. Standard library only.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

# initdb and a first start take a few seconds on this 2-core machine while other test
# runs share it; a minute leaves room and still fails a run that would hang.
START_TIMEOUT_S = 60.0
# A fast shutdown (PostgreSQL) or SIGTERM (Redis, nothing to save) takes well under a
# second; after this the server is killed.
STOP_TIMEOUT_S = 15.0
# A free port can be taken by someone else between choosing and binding it: try again.
PORT_ATTEMPTS = 3
# The system account that runs PostgreSQL when the tests run as root.
POSTGRES_ACCOUNT = "postgres"
POSTGRES_BIN_DIRS = "/usr/lib/postgresql"      # Debian: /usr/lib/postgresql/<major>/bin


class ServerError(RuntimeError):
    """A throwaway server could not be started; the message says why and what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _guard() -> list[str]:
    """Prefix that makes the started server get SIGINT when pytest dies (setpriv, util-linux)."""
    exe = shutil.which("setpriv")
    return [exe, "--pdeathsig", "INT", "--"] if exe else []


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)


def _wait_until(ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str, log: Path) -> bool:
    """True once ``ready()``; False if the server exited (e.g. its port was taken)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            return True
        time.sleep(0.05)
    _stop(proc, signal.SIGKILL)
    raise ServerError(f"{what} did not answer within {START_TIMEOUT_S:.0f} s; its log ends:\n{_tail(log)}")


# -- Redis -----------------------------------------------------------------------------


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server() -> Iterator[str]:
    """A redis-server of the session's own, nothing on disk; yields ``redis://127.0.0.1:<port>/0``."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise ServerError("redis-server is not installed (Debian: apt-get install redis-server; "
                          "'python3 dev.py test' installs it when run as root)")
    directory = Path(tempfile.mkdtemp(prefix="jourchatt-test-redis-"))
    log = directory / "redis.log"
    proc = None
    try:
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    [*_guard(), exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
            if _wait_until(lambda: _redis_answers(port), proc, "redis-server", log):
                break
        else:
            raise ServerError(f"redis-server did not start; its log ends:\n{_tail(log)}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        if proc is not None:
            _stop(proc, signal.SIGTERM)
        shutil.rmtree(directory, ignore_errors=True)


# -- PostgreSQL ------------------------------------------------------------------------


def postgres_bin_dir() -> Path:
    """The newest Debian PostgreSQL with a server (initdb and postgres), else the PATH's."""
    def major(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.name))

    found = [p for p in Path(POSTGRES_BIN_DIRS).glob("*/bin")
             if (p / "initdb").exists() and (p / "postgres").exists() and major(p)]
    if found:
        return max(found, key=major)
    initdb = shutil.which("initdb")
    if initdb and (Path(initdb).parent / "postgres").exists():
        return Path(initdb).parent
    raise ServerError("PostgreSQL's server (initdb, postgres) is not installed (Debian: apt-get install "
                      "postgresql); 'python3 dev.py test' installs it when run as root")


def _as_server_account(directory: Path) -> list[str]:
    """The prefix that runs a PostgreSQL program as the account owning ``directory``."""
    if os.geteuid() != 0:
        return _guard()
    try:
        account = pwd.getpwnam(POSTGRES_ACCOUNT)
    except KeyError:
        raise ServerError(f"PostgreSQL refuses to run as root and there is no '{POSTGRES_ACCOUNT}' "
                          "account to run it as (Debian's postgresql package creates it)") from None
    if shutil.which("setpriv") is None:
        raise ServerError("setpriv (util-linux) is needed to run PostgreSQL as the postgres account")
    os.chown(directory, account.pw_uid, account.pw_gid)
    return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
            "--pdeathsig", "INT", "--"]


def _postgres_answers(bin_dir: Path, port: int) -> bool:
    done = subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "1"],
                          stdin=subprocess.DEVNULL, capture_output=True)
    return done.returncode == 0


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL of the session's own (trust auth, TCP on 127.0.0.1 only); yields the
    superuser's URL, ``postgresql://postgres@127.0.0.1:<port>/postgres``."""
    bin_dir = postgres_bin_dir()
    directory = Path(tempfile.mkdtemp(prefix="jourchatt-test-postgres-"))
    data, log = directory / "data", directory / "postgres.log"
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "TZ": "UTC"}
    proc = None
    try:
        prefix = _as_server_account(directory)
        with log.open("ab") as out:
            done = subprocess.run(
                [*prefix, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"],
                cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise ServerError(f"initdb failed ({done.returncode}); its output ends:\n{_tail(log)}")
        for _ in range(PORT_ATTEMPTS):
            port = free_port()
            with log.open("ab") as out:
                proc = subprocess.Popen(
                    # Throwaway data: no fsync. No Unix socket: TCP on the chosen port only.
                    [*prefix, str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                     "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                     "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
                    cwd=directory, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
            if _wait_until(lambda: _postgres_answers(bin_dir, port), proc, "PostgreSQL", log):
                break
        else:
            raise ServerError(f"PostgreSQL did not start; its log ends:\n{_tail(log)}")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if proc is not None:
            _stop(proc, signal.SIGINT)          # fast shutdown: ends open sessions, then exits
        shutil.rmtree(directory, ignore_errors=True)
