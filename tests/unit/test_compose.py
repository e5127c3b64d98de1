"""docker-compose.yml is valid for Debian's docker-compose and says what the deployment needs.

No Docker engine runs on the development machines, so ``docker-compose config``
(which needs none) is the check; ``python3 dev.py test`` installs Debian's docker-compose.
A missing docker-compose is a failure, never a skip. PyYAML is not a dependency,
so the rendered config is checked as text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"
ENV = {"POSTGRES_PASSWORD": "pw-for-test", "JOURCHATT_SECRET_KEY": "k" * 48,
       "JOURCHATT_ALLOWED_ORIGINS": "https://example.org"}
SERVICES = {"postgres", "redis", "migrate", "app1", "app2", "proxy"}
APPS = ("migrate", "app1", "app2")


@pytest.fixture
def compose(tmp_path: Path):
    """Run ``docker-compose -f docker-compose.yml [--env-file F] config ARGS``.

    By default an empty env file is used, so a developer's own ``.env`` beside the
    compose file cannot make a test pass or fail.
    """
    exe = shutil.which("docker-compose")
    assert exe, ("docker-compose is not on PATH: install Debian's docker-compose "
                 "(apt-get install -y docker-compose), as 'python3 dev.py test' does as root")
    empty = tmp_path / "empty.env"
    empty.write_text("")

    def run(*args: str, env: dict[str, str] | None = None,
            env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if k not in ENV and not k.startswith("COMPOSE_")}
        return subprocess.run(
            [exe, "-f", str(COMPOSE), "--env-file", str(env_file or empty), "config", *args],
            env={**base, **(ENV if env is None else env)}, capture_output=True, text=True,
            timeout=120, cwd=tmp_path,
        )

    return run


def _services(rendered: str) -> dict[str, str]:
    """The rendered config's ``services:`` section, split into one text block per service."""
    section = re.search(r"^services:\n(.*?)(?=^\S)", rendered, re.S | re.M)
    assert section, rendered
    parts = re.split(r"^  ([A-Za-z0-9_.-]+):\n", section.group(1), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def test_compose_file_is_valid_and_has_every_service(compose) -> None:
    done = compose("--services")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == SERVICES


def test_app_replicas_share_redis_and_postgresql(compose) -> None:
    done = compose()
    assert done.returncode == 0, done.stderr
    services = _services(done.stdout)
    assert set(services) == SERVICES
    for name in APPS:
        block = services[name]
        assert "JOURCHATT_BROKER_URL: redis://redis:6379/0" in block, name
        assert "JOURCHATT_DATABASE_URL: postgresql://jourchatt:pw-for-test@postgres:5432/jourchatt" in block, name
        assert "JOURCHATT_SECRET_KEY: " + "k" * 48 in block, name
        assert "JOURCHATT_ALLOWED_ORIGINS: https://example.org" in block, name
        # the proxy's X-Forwarded-For is believed (private networks only: the replicas publish no port)
        assert "JOURCHATT_TRUSTED_PROXIES: 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16" in block, name
        assert "image: jourchatt:local" in block, name
        assert "read_only: true" in block, name
        assert re.search(r"tmpfs:\n\s+- /tmp\n", block), name
        user = re.search(r"^\s+user: '?(\S+?)'?$", block, re.M)
        assert user and user.group(1).split(":")[0] not in ("0", "root"), name
    for name in ("app1", "app2"):
        block = services[name]
        assert re.search(r"- jourchatt\n\s+- serve\n\s+- --host\n\s+- 0\.0\.0\.0\n\s+- --port\n\s+- '8000'", block)
        assert re.search(r"migrate:\n\s+condition: service_completed_successfully", block), name
        assert re.search(r"redis:\n\s+condition: service_healthy", block), name
        assert "/readyz" in block and "urllib" in block, name
        assert "stop_signal: SIGTERM" in block, name
        grace = re.search(r"stop_grace_period: (\d+)s", block)
        assert grace and int(grace.group(1)) >= 20, name
    assert re.search(r"- jourchatt\n\s+- db\n\s+- upgrade", services["migrate"])
    assert re.search(r"postgres:\n\s+condition: service_healthy", services["migrate"])


def test_redis_keeps_nothing_on_disk_and_postgres_keeps_its_volume(compose) -> None:
    done = compose()
    assert done.returncode == 0, done.stderr
    services = _services(done.stdout)
    redis = services["redis"]
    assert "image: redis:7-alpine" in redis
    assert re.search(r"- --save\n\s+- ''\n\s+- --appendonly\n\s+- \"?no\"?\n", redis), redis
    assert "volumes:" not in redis
    assert "redis-cli" in redis
    postgres = services["postgres"]
    assert "image: postgres:16-alpine" in postgres
    assert "pg_isready" in postgres
    assert "POSTGRES_PASSWORD: pw-for-test" in postgres
    assert re.search(r"- pgdata:/var/lib/postgresql/data", postgres)


def test_proxy_mounts_the_nginx_conf_and_publishes_8080(compose) -> None:
    done = compose()
    assert done.returncode == 0, done.stderr
    proxy = _services(done.stdout)["proxy"]
    assert "image: nginx:1.27-alpine" in proxy
    assert re.search(r"- \S*/deploy/nginx\.conf:/etc/nginx/nginx\.conf:ro\n", proxy), proxy
    assert re.search(r"published: 8080\n\s+target: 80\n", proxy), proxy
    assert "/healthz" in proxy


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "JOURCHATT_SECRET_KEY"])
def test_secrets_must_come_from_the_environment(compose, missing: str) -> None:
    done = compose(env={k: v for k, v in ENV.items() if k != missing})
    assert done.returncode != 0, done.stdout
    assert missing in done.stderr


def test_env_example_lists_every_required_variable_and_renders(compose) -> None:
    example = ROOT / ".env.example"
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example.read_text(), re.M))
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE.read_text()))
    assert used <= listed, used - listed
    done = compose("--services", env={}, env_file=example)
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == SERVICES


def test_proxy_passes_websocket_upgrades_to_both_replicas_and_logs_nobody() -> None:
    conf = NGINX.read_text()
    code = "\n".join(line.split("#", 1)[0] for line in conf.splitlines())   # without comments
    assert re.search(r"^\s*access_log off;", code, re.M)
    assert re.findall(r"access_log\s+(\S+);", code) == ["off"]           # no access log anywhere
    assert "error_log /dev/stderr warn;" in code
    assert re.search(r"map \$http_upgrade \$connection_upgrade \{", code)
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", code, re.S)
    assert upstream, conf
    assert "least_conn;" in upstream.group(2)
    assert re.search(r"^\s*server app1:8000\b", upstream.group(2), re.M)
    assert re.search(r"^\s*server app2:8000\b", upstream.group(2), re.M)
    ws = re.search(r"location /ws/ \{(.*?)\}", code, re.S)
    assert ws, conf
    ws_block = ws.group(1)
    assert f"proxy_pass http://{upstream.group(1)};" in ws_block
    assert "proxy_http_version 1.1;" in ws_block
    assert "proxy_set_header Upgrade $http_upgrade;" in ws_block
    assert "proxy_set_header Connection $connection_upgrade;" in ws_block
    assert re.search(r"proxy_set_header Host \$(http_)?host;", ws_block)
    assert "proxy_set_header X-Forwarded-Proto" in ws_block
    timeout = re.search(r"proxy_read_timeout (\d+)s;", ws_block)
    assert timeout and int(timeout.group(1)) >= 600
    # The client's address reaches the replicas in exactly one header, overwriting what the
    # client sent (never appended to it), and only from a proxy the replicas trust.
    for block in re.findall(r"location \S+ \{(.*?)\}", code, re.S):
        assert "proxy_set_header X-Forwarded-For $remote_addr;" in block
        assert 'proxy_set_header X-Real-IP "";' in block
        assert "$proxy_add_x_forwarded_for" not in block
    assert "real_ip_header X-Forwarded-For;" in code
    assert not re.search(r"set_real_ip_from\s+(0\.0\.0\.0/0|::/0|unix:)", code)
    assert "access_log off;" in code
