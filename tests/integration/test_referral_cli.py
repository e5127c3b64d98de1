"""The referral commands of ``jourchatt`` on both databases.

They run in-process through ``chat.cli.main`` (a process per command would cost
seconds each); the e2e test runs ``directory load`` and ``partner add`` as real
processes.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from chat.cli import main

from ..conftest import TEST_SECRET

SEED = Path(__file__).resolve().parents[2] / "referral" / "directory.seed.toml"


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def jc(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
       capsys: pytest.CaptureFixture[str]) -> Callable[..., Done]:
    for k in [k for k in os.environ if k.startswith("JOURCHATT_")]:
        monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)
    for k, v in {"JOURCHATT_DATABASE_URL": database_url, "JOURCHATT_VAR_DIR": str(tmp_path / "var"),
                 "JOURCHATT_SECRET_KEY": TEST_SECRET, "JOURCHATT_LOG_FORMAT": "console",
                 "JOURCHATT_LOG_LEVEL": "warning"}.items():
        monkeypatch.setenv(k, v)

    def run(*args: str) -> Done:
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run


def test_directory_partner_and_purge_commands(tmp_path: Path, jc: Callable[..., Done]) -> None:
    assert jc("db", "upgrade").returncode == 0

    ok = jc("directory", "check", str(SEED))
    assert ok.returncode == 0 and "ok, 31 services" in ok.stdout

    bad = tmp_path / "bad.json"
    doc = json.loads(jc("directory", "export").stdout)
    assert doc["service"] == [] and doc["version"] == 0          # nothing loaded yet
    bad.write_text(json.dumps({"service": [{"id": "x", "kind": "rvc", "name": "X", "description": "d",
                                            "contact": {"phone": "1"}, "hours": "h", "anonymous": True,
                                            "eligibility": [{"min_age": "18"}]}]}))
    failed = jc("directory", "check", str(bad))
    assert failed.returncode == 1
    assert f"{bad}: service[0] x: eligibility[0].min_age: must be a whole number" in failed.stderr
    assert "needs an emergency service" in failed.stderr and "2 error(s)" in failed.stderr
    assert jc("directory", "load", str(bad)).returncode == 1

    loaded = jc("directory", "load", str(SEED))
    assert loaded.returncode == 0 and "version 1" in loaded.stdout
    exported = json.loads(jc("directory", "export").stdout)
    assert exported["version"] == 1 and len(exported["service"]) == 31
    assert "version 2" in jc("directory", "load", str(SEED)).stdout
    export_file = tmp_path / "export.json"
    export_file.write_text(jc("directory", "export").stdout)
    assert "version 3" in jc("directory", "load", str(export_file)).stdout     # an export loads as it is

    added = jc("partner", "add", "rvc-sydvast", "--name", "RVC Sydväst", "--service", "rvc-sydvast")
    assert added.returncode == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("jcp_") and len(key) > 40
    listed = jc("partner", "list").stdout
    assert "rvc-sydvast\tRVC Sydväst\trvc-sydvast\tactive" in listed and key not in listed
    again = jc("partner", "add", "rvc-sydvast", "--name", "X", "--service", "rvc-sydvast")
    assert again.returncode == 1 and "exists already" in again.stderr
    unknown = jc("partner", "add", "nobody", "--name", "X", "--service", "no-such-service")
    assert unknown.returncode == 1 and "not in the live directory" in unknown.stderr
    assert jc("partner", "disable", "rvc-sydvast").returncode == 0
    assert "disabled" in jc("partner", "list").stdout

    purged = jc("referrals", "purge")
    assert purged.returncode == 0 and "deleted 0 expired code(s)" in purged.stdout
