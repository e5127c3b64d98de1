"""A background task of the node that dies is logged, named on /readyz, and restarted (chat.tasks)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from chat import hub as hub_module, tasks as tasks_module

from ..conftest import LogLines as Lines, Running


@pytest.fixture
def quick_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hours refresher wakes every 50 ms; a dead task waits 0.5 s for its restart."""
    monkeypatch.setattr(hub_module, "HOURS_CACHE_S", 0.05)
    monkeypatch.setattr(tasks_module, "RESTART_FIRST_S", 0.5)


async def readyz(server: Running) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as c:
        return await c.get("/readyz")


async def test_a_dead_task_is_named_on_readyz_logged_and_restarted(
        quick_hours: None, server: Running, log_lines: Lines, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = server.hub
    assert hub.tasks_alive() == {"hub.housekeeping": True, "hub.records": True,
                                 "hub.notices": True, "hub.hours": True}
    real = hub.hours.refresh
    broken = True

    async def refresh() -> None:
        if broken:
            raise ValueError("a message that must not reach the log")
        await real()

    monkeypatch.setattr(hub.hours, "refresh", refresh)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while (r := await readyz(server)).status_code == 200:
        assert loop.time() < deadline, "the task never died"
        await asyncio.sleep(0.02)
    assert r.status_code == 503
    assert r.json()["checks"]["hub"] == "background task stopped: hub.hours"
    assert hub.tasks_alive()["hub.hours"] is False

    broken = False
    deadline = loop.time() + 5
    while (r := await readyz(server)).status_code != 200:
        assert loop.time() < deadline, f"the task was never restarted: {r.text}"
        await asyncio.sleep(0.05)
    assert all(hub.tasks_alive().values())
    died = [line for line in log_lines.lines if "task.died" in line]
    assert died and all("hub.hours" in line and "ValueError" in line for line in died)
    assert any("task.restarted" in line for line in log_lines.lines)
    assert not any("must not reach" in line for line in log_lines.lines)
