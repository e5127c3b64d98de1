"""The background-task supervisor (chat.tasks): a task that dies is logged and restarted."""

from __future__ import annotations

import asyncio
from typing import Callable

import pytest

from chat import tasks as tasks_module
from chat.tasks import Tasks

from ..conftest import LogLines as Lines


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks_module, "RESTART_FIRST_S", 0.05)
    monkeypatch.setattr(tasks_module, "RESTART_MAX_S", 0.2)


async def wait_for(cond: Callable[[], object], timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition never became true"
        await asyncio.sleep(0.005)


async def test_a_task_that_dies_is_logged_by_name_and_type_and_restarted(log_lines: Lines) -> None:
    runs: list[int] = []
    fail = asyncio.Event()

    async def work() -> None:
        runs.append(1)
        await fail.wait()
        fail.clear()
        raise LookupError("secret text a visitor wrote")

    tasks = Tasks()
    tasks.start("hub.work", work)
    await wait_for(lambda: runs)
    assert tasks.alive() == {"hub.work": True} and tasks.healthy()

    fail.set()
    await wait_for(lambda: not tasks.healthy())
    assert tasks.alive() == {"hub.work": False} and tasks.dead() == ["hub.work"]
    await wait_for(lambda: len(runs) == 2 and tasks.healthy())
    assert tasks.restarts() == {"hub.work": 1}

    died = [line for line in log_lines.lines if "task.died" in line]
    assert len(died) == 1
    assert "hub.work" in died[0] and "LookupError" in died[0]
    assert not any("secret text" in line for line in log_lines.lines)
    assert any("task.restarted" in line for line in log_lines.lines)
    for task in tasks.stop():
        task.cancel()


async def test_a_task_that_returns_or_is_cancelled_by_someone_else_is_restarted_too() -> None:
    runs: list[int] = []

    async def short() -> None:
        runs.append(1)

    tasks = Tasks()
    tasks.start("short", short)
    await wait_for(lambda: len(runs) >= 3)
    assert tasks.restarts()["short"] >= 2

    async def forever() -> None:
        await asyncio.Event().wait()

    tasks.start("forever", forever)
    await asyncio.sleep(0)
    for task in asyncio.all_tasks():
        if task.get_name() == "forever":
            task.cancel()
    await wait_for(lambda: tasks.restarts()["forever"] == 1 and tasks.alive()["forever"])
    for task in tasks.stop():
        task.cancel()


def test_the_back_off_doubles_up_to_the_cap() -> None:
    assert [tasks_module.backoff(n) for n in range(6)] == [0.05, 0.1, 0.2, 0.2, 0.2, 0.2]
    assert tasks_module.backoff(10_000) == 0.2


async def test_each_restart_waits_at_least_its_back_off() -> None:
    starts: list[float] = []
    loop = asyncio.get_running_loop()

    async def crash() -> None:
        starts.append(loop.time())
        raise RuntimeError

    tasks = Tasks()
    tasks.start("crash", crash)
    await wait_for(lambda: len(starts) >= 4, timeout=10)
    tasks.stop()
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    for gap, least in zip(gaps, (0.05, 0.1, 0.2)):
        assert gap >= least * 0.95


async def test_nothing_is_restarted_after_stop_and_names_are_unique() -> None:
    runs: list[int] = []

    async def crash() -> None:
        runs.append(1)
        raise RuntimeError

    tasks = Tasks()
    assert not tasks.healthy()                       # nothing started: not healthy
    tasks.start("crash", crash)
    with pytest.raises(ValueError, match="already supervised"):
        tasks.start("crash", crash)
    await wait_for(lambda: runs)
    assert tasks.stop() == []                        # dead, waiting for its restart
    await asyncio.sleep(0.2)
    assert runs == [1]
    assert tasks.alive() == {"crash": False}


async def test_stop_hands_back_the_running_tasks_and_their_end_is_no_death(log_lines: Lines) -> None:
    async def forever() -> None:
        await asyncio.Event().wait()

    tasks = Tasks()
    tasks.start("a", forever)
    tasks.start("b", forever)
    running = tasks.stop()
    assert sorted(t.get_name() for t in running) == ["a", "b"]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.sleep(0.1)
    assert not any("task.died" in line for line in log_lines.lines)
    assert tasks.alive() == {"a": False, "b": False}
