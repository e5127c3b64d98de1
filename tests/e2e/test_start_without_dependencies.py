"""``jourchatt serve`` started while its database or its broker cannot be reached.

The real command, pointed at a port nothing listens on: the process must exit
with a non-zero status, and its log must name the cause (the kind of error and
the ``host:port`` it tried) without the password of the URL.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ..conftest import TEST_SECRET, free_port, jourchatt_command

pytestmark = pytest.mark.slow

PASSWORD = "hemligt-losenord-123"


def serve(tmp_path: Path, **env_overrides: str) -> tuple[int, list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
    env.update({"JOURCHATT_SECRET_KEY": TEST_SECRET, "JOURCHATT_LOG_FORMAT": "json",
                "JOURCHATT_VAR_DIR": str(tmp_path / "var"), **env_overrides})
    done = subprocess.run([*jourchatt_command(), "serve", "--port", str(free_port())], cwd=tmp_path, env=env,
                          capture_output=True, timeout=120)
    out = done.stdout.decode() + done.stderr.decode()
    lines = []
    for line in out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a log line that is not JSON: {line!r}") from None
    return done.returncode, lines, out


def test_no_database_exits_non_zero_and_names_the_cause(tmp_path: Path) -> None:
    port = free_port()                       # nothing listens here
    code, lines, out = serve(
        tmp_path, JOURCHATT_DATABASE_URL=f"postgresql://jourchatt:{PASSWORD}@127.0.0.1:{port}/jourchatt")
    assert code != 0
    failed = [line for line in lines if line["event"] == "app.start_failed"]
    assert len(failed) == 1, out
    assert failed[0]["reason"] == "database unreachable"
    assert failed[0]["error"] == "ConnectionRefusedError"
    assert failed[0]["database"] == f"127.0.0.1:{port}"
    assert failed[0]["level"] == "error"
    assert PASSWORD not in out


def test_no_broker_exits_non_zero_and_names_the_cause(tmp_path: Path) -> None:
    port = free_port()
    code, lines, out = serve(
        tmp_path, JOURCHATT_DATABASE_URL=f"sqlite:///{tmp_path / 'var' / 'jourchatt.sqlite3'}",
        JOURCHATT_BROKER_URL=f"redis://:{PASSWORD}@127.0.0.1:{port}/0")
    assert code != 0
    failed = [line for line in lines if line["event"] == "app.start_failed"]
    assert len(failed) == 1, out
    assert failed[0]["reason"] == "broker unreachable"
    assert "ConnectionError" in failed[0]["error"]
    assert failed[0]["broker"] == f"127.0.0.1:{port}"
    assert PASSWORD not in out
