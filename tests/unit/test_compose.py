"""docker-compose.yml is valid for Debian's docker-compose and says what the deployment needs.

No Docker engine runs on the development machines, so ``docker-compose config``
(which needs none) is the check; CI installs Debian's docker-compose.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {"POSTGRES_PASSWORD": "pw-for-test", "JOURCHATT_SECRET_KEY": "k" * 48,
       "JOURCHATT_ALLOWED_ORIGINS": "https://example.org"}


def _config(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is not installed (CI installs Debian's docker-compose; see .ci/run)"
    base = {k: v for k, v in os.environ.items() if k not in ENV}
    return subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), "config", *args],
                          env={**base, **(ENV if env is None else env)}, capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_compose_file_is_valid_and_has_every_service() -> None:
    done = _config("--services")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {"postgres", "redis", "migrate", "app1", "app2", "proxy"}


def test_replicas_share_redis_and_postgresql_and_redis_keeps_nothing_on_disk() -> None:
    done = _config()
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.count("JOURCHATT_BROKER_URL: redis://redis:6379/0") == 3          # migrate, app1, app2
    assert out.count("postgresql://jourchatt:pw-for-test@postgres:5432/jourchatt") == 3
    assert "appendonly" in out and "--save" in out
    assert "nginx.conf" in out and "8080" in out


def test_secrets_must_come_from_the_environment() -> None:
    done = _config(env={"JOURCHATT_SECRET_KEY": "k" * 48})
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr


def test_proxy_passes_websocket_upgrades_to_both_replicas_and_logs_nobody() -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "access_log off;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    assert "server app1:8000" in conf and "server app2:8000" in conf
