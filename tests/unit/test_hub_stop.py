"""Stopping the hub's background tasks is bounded, even when a task loses a cancellation.

On Python 3.11 ``asyncio.wait_for`` (used inside libraries) returns normally when a
cancellation arrives just as what it waits for finishes (CPython gh-86296): the task
runs on. These tasks do the same on purpose, deterministically.
"""

from __future__ import annotations

import asyncio

import pytest

from chat import hub as hub_module
from chat.hub import Hub


def loses_cancellations(times: list[int], counter: list[int]) -> asyncio.Task[None]:
    async def body() -> None:
        lost = 0
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                counter[0] += 1
                if lost >= times[0]:
                    raise
                lost += 1            # swallowed, like wait_for on 3.11

    return asyncio.create_task(body(), name=f"loses-{times[0]}")


async def test_a_task_that_loses_cancellations_is_cancelled_again_until_it_stops() -> None:
    seen = [0]
    task = loses_cancellations([3], seen)
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await Hub._cancel_all([task])
    assert task.cancelled()
    assert seen[0] == 4
    assert loop.time() - started < hub_module.STOP_TASKS_S


async def test_a_task_that_never_stops_does_not_hold_up_the_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "STOP_TASKS_S", 0.3)
    forever = [10**9]
    stuck = loses_cancellations(forever, [0])
    done = loses_cancellations([0], [0])
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    try:
        started = loop.time()
        await Hub._cancel_all([stuck, done])
        assert 0.3 <= loop.time() - started < 2.0
        assert done.cancelled() and not stuck.done()
    finally:
        forever[0] = 0               # let it go, so the test's loop can close
        stuck.cancel()
        await asyncio.gather(stuck, return_exceptions=True)
