"""Supervised background tasks: named, restarted when they die, reported alive or dead.

A node's background work (housekeeping, the record writer, the notice listener,
the hours refresher) runs for the life of the process. A task that ends while
the supervisor still runs died: of an exception, by returning, or cancelled by
someone else. It is logged (``task.died``, with the task's name and the
exception's type only, never its message) and started again after a back-off
that doubles from ``RESTART_FIRST_S`` up to ``RESTART_MAX_S`` and starts over
once a task has run ``RESTART_RESET_S`` without dying. Until it runs again it
reports dead: ``/readyz`` answers 503 and names it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Coroutine

from .kernel.logs import get_logger

log = get_logger("chat.tasks")

# The first restart comes this soon: a task that died of a passing fault (a dependency
# that went away) is back before a load balancer's next health check.
RESTART_FIRST_S = 0.1
# ... doubling up to this, so a task that dies at once every time costs a log line and
# a restart every few seconds, not a busy loop.
RESTART_MAX_S = 5.0
# A task that ran this long before it died is restarted after RESTART_FIRST_S again.
RESTART_RESET_S = 60.0


def backoff(streak: int) -> float:
    """Seconds before a restart, after ``streak`` quick deaths in a row before this one."""
    return float(min(RESTART_FIRST_S * 2 ** min(streak, 32), RESTART_MAX_S))


@dataclass
class _Supervised:
    name: str
    run: Callable[[], Coroutine[Any, Any, None]]
    task: asyncio.Task[None] | None = None
    started_at: float = 0.0
    streak: int = 0             # deaths in a row, each soon after its start
    restarts: int = 0
    restart: asyncio.TimerHandle | None = field(default=None, repr=False)


class Tasks:
    """The supervisor of one node's background tasks."""

    def __init__(self) -> None:
        self._tasks: dict[str, _Supervised] = {}
        self._stopping = False

    def start(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``run()`` as the task ``name`` (unique), and again whenever it dies."""
        if name in self._tasks:
            raise ValueError(f"a task named {name!r} is already supervised; give each task its own name")
        self._tasks[name] = entry = _Supervised(name, run)
        self._launch(entry)

    def _launch(self, entry: _Supervised) -> None:
        entry.restart = None
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        entry.started_at = loop.time()
        entry.task = loop.create_task(entry.run(), name=entry.name)
        entry.task.add_done_callback(partial(self._ended, entry))
        if entry.restarts:
            log.warning("task.restarted", kind=entry.name, count=entry.restarts)

    def _ended(self, entry: _Supervised, task: asyncio.Task[None]) -> None:
        if self._stopping or entry.task is not task:
            return
        exc = None if task.cancelled() else task.exception()
        loop = asyncio.get_running_loop()
        if loop.time() - entry.started_at >= RESTART_RESET_S:
            entry.streak = 0
        pause = backoff(entry.streak)
        entry.streak += 1
        # The type and where it was raised (chat.kernel.logs keeps no exception message).
        log.error("task.died", kind=entry.name, count=entry.restarts + 1,
                  **({"exc_info": exc} if exc is not None
                     else {"error": "CancelledError" if task.cancelled() else "returned"}))
        entry.restarts += 1
        entry.restart = loop.call_later(pause, self._launch, entry)

    def alive(self) -> dict[str, bool]:
        """Each task's name and whether it runs now (False between a death and its restart)."""
        return {name: e.task is not None and not e.task.done() for name, e in self._tasks.items()}

    def dead(self) -> list[str]:
        return sorted(name for name, up in self.alive().items() if not up)

    def healthy(self) -> bool:
        """At least one task, and every one of them running."""
        return bool(self._tasks) and not self.dead()

    def restarts(self) -> dict[str, int]:
        """How often each task was started again after dying."""
        return {name: e.restarts for name, e in self._tasks.items()}

    def stop(self) -> list[asyncio.Task[None]]:
        """Restart nothing from now on; the running tasks, for the caller to cancel."""
        self._stopping = True
        running = []
        for entry in self._tasks.values():
            if entry.restart is not None:
                entry.restart.cancel()
                entry.restart = None
            if entry.task is not None and not entry.task.done():
                running.append(entry.task)
        return running
