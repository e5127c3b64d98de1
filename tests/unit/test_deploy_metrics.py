"""docs/deploy.md, "Metrics": the scrape config and the alert rules are valid for Prometheus,
the alerts fire when they should (``promtool test rules`` on made-up series), and the
metric list names exactly what the app serves.

promtool comes with Debian's prometheus package (``.ci/run`` installs it); a missing
promtool is a failure, never a skip. Its test files are written as JSON, which is YAML.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from chat.kernel.broker import MemoryBroker
from chat.metrics import Metrics, Sources

DEPLOY = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def section() -> str:
    text = DEPLOY.read_text()
    start = text.index("## Metrics\n")
    return text[start:text.index("\n## ", start + 1)]


def yaml_blocks() -> tuple[str, str]:
    scrape, rules = re.findall(r"```yaml\n(.*?)```", section(), re.S)
    return scrape, rules


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool is not on PATH: apt-get install --no-install-recommends prometheus (as .ci/run does)"
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_the_scrape_config_is_valid(tmp_path: Path) -> None:
    scrape, rules = yaml_blocks()
    assert "type: Bearer" in scrape and "credentials_file:" in scrape
    (tmp_path / "token").write_text("t" * 40)
    (tmp_path / "jourchatt-alerts.yml").write_text(rules)
    config = re.sub(r"credentials_file: \S+", f"credentials_file: {tmp_path / 'token'}", scrape)
    (tmp_path / "prometheus.yml").write_text(config)
    done = promtool("check", "config", "prometheus.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 3 rules found" in done.stdout


def test_the_alert_rules_are_valid(tmp_path: Path) -> None:
    (tmp_path / "jourchatt-alerts.yml").write_text(yaml_blocks()[1])
    done = promtool("check", "rules", "jourchatt-alerts.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def alert(name: str, at: str, *expected: dict[str, Any]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": list(expected)}


def test_the_alerts_fire_when_they_should_and_not_before(tmp_path: Path) -> None:
    (tmp_path / "jourchatt-alerts.yml").write_text(yaml_blocks()[1])
    page = {"severity": "page"}
    waited = {"exp_labels": page, "exp_annotations": {
        "summary": "A young person has waited more than 10 minutes in the queue",
        "description": "The first visitor in the queue has waited 11m 40s. Call in volunteers."}}
    nobody = {"exp_labels": page, "exp_annotations": {
        "summary": "The chat is open and no volunteer is on duty",
        "description": "Within the opening hours, no volunteer has been taking chats for 10 minutes: "
                       "visitors wait for nobody."}}
    dead = {"exp_labels": {**page, "node": "b", "task": "hub.records"}, "exp_annotations": {
        "summary": "Background task hub.records is dead on node b",
        "description": "Restart that replica (its /readyz fails too, so the orchestrator may already do so)."}}
    tests = {"rule_files": ["jourchatt-alerts.yml"], "evaluation_interval": "1m", "tests": [
        {   # Two nodes report the same whole-service figures; b's record writer dies at 2m.
            "interval": "1m",
            "input_series": [
                {"series": 'jourchatt_queue_oldest_wait_seconds{node="a"}', "values": "0 0 700x20"},
                {"series": 'jourchatt_queue_oldest_wait_seconds{node="b"}', "values": "0 0 700x20"},
                {"series": 'jourchatt_open{node="a"}', "values": "1x30"},
                {"series": 'jourchatt_open{node="b"}', "values": "1x30"},
                {"series": 'jourchatt_volunteers{node="a",state="available"}', "values": "0x30"},
                {"series": 'jourchatt_volunteers{node="a",state="busy"}', "values": "0x30"},
                {"series": 'jourchatt_volunteers{node="a",state="paused"}', "values": "2x30"},
                {"series": 'jourchatt_task_alive{node="a",task="hub.records"}', "values": "1x30"},
                {"series": 'jourchatt_task_alive{node="b",task="hub.records"}', "values": "1 1 0x20"},
            ],
            "alert_rule_test": [
                alert("JourchattQueueWaitingTooLong", "6m"),          # pending for 4 of its 5 minutes
                alert("JourchattQueueWaitingTooLong", "8m", waited),
                alert("JourchattNoVolunteerOnDuty", "9m"),            # paused volunteers are not on duty
                alert("JourchattNoVolunteerOnDuty", "11m", nobody),
                alert("JourchattBackgroundTaskDead", "2m"),
                alert("JourchattBackgroundTaskDead", "4m", dead),
            ],
        },
        {   # Closed, or a volunteer busy in a chat: nobody is paged.
            "interval": "1m",
            "input_series": [
                {"series": 'jourchatt_open{node="a"}', "values": "0x15 1x15"},
                {"series": 'jourchatt_volunteers{node="a",state="available"}', "values": "0x30"},
                {"series": 'jourchatt_volunteers{node="a",state="busy"}', "values": "0x15 1x15"},
                {"series": 'jourchatt_queue_oldest_wait_seconds{node="a"}', "values": "0x10 300x20"},
            ],
            "alert_rule_test": [
                alert("JourchattNoVolunteerOnDuty", "14m"),
                alert("JourchattNoVolunteerOnDuty", "29m"),
                alert("JourchattQueueWaitingTooLong", "29m"),
            ],
        },
    ]}
    (tmp_path / "alerts.test.yml").write_text(json.dumps(tests))
    done = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


async def test_the_metric_list_names_exactly_what_the_app_serves() -> None:
    broker = MemoryBroker()
    await broker.start()
    metrics = Metrics("node1", broker, Sources(tasks_alive=lambda: {"hub.records": True}, records=lambda: (0, 0),
                                               sockets={}, is_open=lambda: True))
    metrics.refused("invalid_json")
    await metrics.refresh()
    await broker.close()
    served = {s.name for f in text_string_to_metric_families(metrics.expose().decode()) for s in f.samples}
    table = set(re.findall(r"^\| `(jourchatt_\w+)` \|", section(), re.M))
    assert table == served
    named = set(re.findall(r"\bjourchatt_[a-z_]+", yaml_blocks()[1]))
    assert named and named <= served, named - served
