#!/usr/bin/env python3
"""Set up and run jourchatt with nothing but Python 3.11+.

    python3 dev.py serve [--host H] [--port P]   set up .venv, start the server, print its URL
    python3 dev.py test [pytest args]            set up .venv and the test tools, then run every test

Both commands share one virtual environment, .venv, with jourchatt and its test
tools: switching between them never reinstalls, and a lock makes a second dev.py
wait while the first one installs. It is refreshed whenever pyproject.toml changes.

`test` also needs Debian's chromium, redis-server, redis-sentinel, postgresql,
postgresql-client, docker-compose and prometheus (promtool). As root it installs the missing ones with
apt-get (starting none of their services); otherwise it names them and stops. The
tests start their own Redis and PostgreSQL (tests/servers.py).

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

try:
    import fcntl
except ImportError:                     # Windows: no lock, as before
    fcntl = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
EXTRAS = "test"
# Debian package -> what shows it is installed (an absolute glob, or a command on PATH).
TEST_PACKAGES = {
    "chromium": "/usr/bin/chromium",                        # browser tests (Playwright, no download)
    "redis-server": "redis-server",                         # the session's Redis; tests that run their own
    "redis-sentinel": "redis-sentinel",                     # Sentinel failover tests
    "postgresql": "/usr/lib/postgresql/*/bin/postgres",     # the session's PostgreSQL (tests/servers.py)
    "postgresql-client": "/usr/lib/postgresql/*/bin/pg_dump",   # psql and pg_dump (no-trace tests)
    "docker-compose": "docker-compose",                     # docker-compose.yml is checked with 'config'
    "prometheus": "promtool",                               # promtool checks docs/deploy.md's scrape config and alerts
}
# Installed without their recommended packages (prometheus would bring a node exporter and more).
NO_RECOMMENDS = {"prometheus"}
POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
# How often `serve` looks whether the server listens yet.
LISTEN_POLL_S = 0.1


def _present(spec: str) -> bool:
    return bool(glob.glob(spec)) if spec.startswith("/") else shutil.which(spec) is not None


def missing_packages(wanted: dict[str, str]) -> list[str]:
    missing = [package for package, spec in wanted.items() if not _present(spec)]
    if not (BIN / "python").exists() and importlib.util.find_spec("ensurepip") is None:
        missing.append("python3-venv")      # Debian's python3 makes no venv with pip without it
    return missing


def apt_install(packages: list[str]) -> None:
    """Install Debian packages, letting none of them start its service meanwhile."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # invoke-rc.d asks policy-rc.d first: 101 is "action forbidden" (Debian's policy-rc.d
    # interface). Only ours, only while apt runs; one already there is left as it is.
    own_policy = not POLICY_RC_D.exists()
    if own_policy:
        POLICY_RC_D.write_text("#!/bin/sh\n# jourchatt dev.py: start no service while it installs packages\n"
                               "exit 101\n")
        POLICY_RC_D.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=True)
        plain = [p for p in packages if p not in NO_RECOMMENDS]
        lean = [p for p in packages if p in NO_RECOMMENDS]
        for names, flags in ((plain, []), (lean, ["--no-install-recommends"])):
            if names:
                subprocess.run(["apt-get", "install", "-y", "-qq", *flags, *names], env=env, check=True,
                               stdout=subprocess.DEVNULL)
    finally:
        if own_policy:
            POLICY_RC_D.unlink()


def ensure_packages(command: str, wanted: dict[str, str]) -> None:
    missing = missing_packages(wanted)
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit(f"'dev.py {command}' needs these Debian packages, which are missing: {' '.join(missing)}\n"
                 f"Install them (apt-get install {' '.join(missing)}), or run this command as root, "
                 "which installs them.")
    print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
    apt_install(missing)


def ensure_venv() -> None:
    """.venv with jourchatt[test], installed once per pyproject.toml; one installer at a time."""
    VENV.mkdir(exist_ok=True)
    with open(VENV / ".jourchatt-lock", "w") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                print("waiting for another dev.py to finish setting up .venv ...", flush=True)
                fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = VENV / ".jourchatt-installed"
        want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()
        if stamp.exists() and stamp.read_text() == want:
            return
        if not (BIN / "python").exists():
            print("creating .venv ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(VENV)
        print(f"installing jourchatt[{EXTRAS}] into .venv ...", flush=True)
        subprocess.run([str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-e", f".[{EXTRAS}]"], cwd=ROOT, check=True)
        stamp.write_text(want)


def _url(host: str, port: int) -> tuple[str, tuple[str, int]]:
    """The URL to print, and the address to probe (a wildcard address is probed on loopback)."""
    probe = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/", (probe, port)


def _listening(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def start(args: list[str]) -> subprocess.Popen[bytes]:
    """A child that owns the terminal's Ctrl-C: the child (pytest, uvicorn) stops in its own
    way, with its teardown, while dev.py waits for it; SIGTERM and SIGHUP are passed on."""
    child = subprocess.Popen(args, cwd=ROOT)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):          # (Windows has no SIGHUP)
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda signum, _frame: child.send_signal(signum))
    return child


def exit_code(child: subprocess.Popen[bytes]) -> int:
    code = child.wait()
    return 128 - code if code < 0 else code         # killed by signal N: 128 + N, as a shell says


def serve(rest: list[str]) -> int:
    """`jourchatt serve`, and its URL printed once it listens."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    known, _ = parser.parse_known_args(rest)
    url, address = _url(known.host, known.port)
    if _listening(address):
        print(f"something already listens on {url}: choose another port with --port", file=sys.stderr)
        return 1
    child = start([str(BIN / "jourchatt"), "serve", *rest])
    while child.poll() is None:
        if _listening(address):
            print(f"jourchatt listening on {url} (Ctrl-C stops it)", flush=True)
            break
        time.sleep(LISTEN_POLL_S)
    return exit_code(child)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("serve", "test"):
        print(__doc__.strip())
        return 2
    if sys.version_info < (3, 11):
        sys.exit(f"jourchatt needs Python 3.11 or newer, not {sys.version.split()[0]}")
    command, rest = argv[0], argv[1:]
    ensure_packages(command, TEST_PACKAGES if command == "test" else {})
    ensure_venv()
    if command == "serve":
        return serve(rest)
    return exit_code(start([str(BIN / "python"), "-m", "pytest", *rest]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
