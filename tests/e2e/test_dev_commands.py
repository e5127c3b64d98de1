"""The README's two commands, `python3 dev.py serve` and `python3 dev.py test`, as a
person runs them (the test command's whole run is CI's own .ci/run)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from ..conftest import free_port

ROOT = Path(__file__).parents[2]
DEBIAN_PYTHON = "/usr/bin/python3"       # one that an unprivileged account may run


def test_test_names_the_missing_debian_packages_and_stops_when_it_cannot_install_them() -> None:
    """Not root (or no apt): one message naming every missing package, before any setup."""
    command = [DEBIAN_PYTHON, str(ROOT / "dev.py"), "test"]
    if os.geteuid() == 0:
        assert Path(DEBIAN_PYTHON).exists(), f"{DEBIAN_PYTHON} is needed to run dev.py as 'nobody'"
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to run dev.py as 'nobody'"
        command = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    # Nothing on PATH: the commands looked up there are all missing.
    done = subprocess.run(command, env={"PATH": "/nonexistent"}, cwd="/", capture_output=True, timeout=60)
    assert done.returncode == 1, done
    assert done.stdout == b""
    message = done.stderr.decode()
    assert "missing: redis-server redis-sentinel docker-compose" in message, message
    assert "apt-get install redis-server redis-sentinel docker-compose" in message, message
    assert len(message.strip().splitlines()) == 2, message


def test_serve_prints_the_url_it_listens_on_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")},
           "JOURCHATT_VAR_DIR": str(tmp_path / "var")}
    dev = subprocess.Popen([sys.executable, str(ROOT / "dev.py"), "serve", "--port", str(port)], cwd=tmp_path,
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert dev.stdout is not None
    try:
        line = dev.stdout.readline().decode()
        assert line == f"jourchatt listening on http://127.0.0.1:{port}/ (Ctrl-C stops it)\n", line
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        dev.send_signal(signal.SIGTERM)                  # passed on to the server, which stops
        # uvicorn stops cleanly, then ends by the signal it got: a shell's 128 + 15
        assert dev.wait(30) == 128 + signal.SIGTERM
    finally:
        dev.kill()
        dev.wait(10)
        dev.stdout.close()
    assert (tmp_path / "var" / "jourchatt.sqlite3").exists()      # the server's, not the checkout's


def test_serve_refuses_a_port_something_else_listens_on(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        done = subprocess.run([sys.executable, str(ROOT / "dev.py"), "serve", "--port", str(port)],
                              cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 1
    assert f"something already listens on http://127.0.0.1:{port}/" in done.stderr.decode()
