"""``GET /metrics``: the node's figures for Prometheus (contract, "Operations").

Each app has a registry of its own (``Metrics.registry``; never prometheus_client's
global one: tests run many apps in one process), written out with
prometheus_client's text exposition. The route answers only with
``Authorization: Bearer $JOURCHATT_METRICS_TOKEN`` (compared in constant time;
401 without or wrong) and is not there (404) when that setting is unset.

Where the figures come from:

* counted at the edge (chat.endpoints): lines relayed (accepted ``message`` frames)
  by side, frames refused by error code;
* the node's own state, read at scrape time: sockets open by side, the background
  tasks alive, records written and failed writes, whether the service is open;
* the shared state (chat.state's keys), read at scrape time at most once every
  ``SHARED_CACHE_S``: visitors waiting and how long the first has waited, chats
  active, volunteers by state, and the broker's round-trip time (a ping). These
  are the whole service's, the same on every node.

Every series carries the node's id (random, from chat.hub) as ``node``. Label
values are only that id, a side, a volunteer state, a task's name and a frame
error code (fixed strings of the code): never a chat's text, a chat id, an
account name or an address.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import state as S
from .kernel import error_codes as codes
from .kernel.broker import Broker, Tx
from .kernel.logs import get_logger
from .kernel.web import refuse

log = get_logger("chat.metrics")

# A scrape reads the shared state at most this often: Prometheus scrapes every
# 15-60 s, but several Prometheus servers, or a dashboard reloaded in a loop, must
# not turn into load on the broker.
SHARED_CACHE_S = 1.0
# A shared read slower than this is given up and the scrape answers without the
# shared figures (jourchatt_broker_up 0): Prometheus' own scrape timeout is 10 s.
SHARED_READ_TIMEOUT_S = 3.0
# The text format every Prometheus since 2.0 reads (prometheus_client writes it).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# What an error code looks like (docs/protocol.md lists them all).
_CODE = re.compile(r"[a-z][a-z_]{0,39}")

SIDES = ("visitor", "volunteer")
# available: takes chats and has room; busy: takes chats, all its places taken;
# paused: connected, not taking chats; away: console gone, within its grace period.
VOLUNTEER_STATES = ("available", "busy", "paused", "away")


@dataclass(frozen=True)
class Sources:
    """The node's own figures, as the app wires them (chat.app)."""

    tasks_alive: Callable[[], Mapping[str, bool]]   # background task name -> still running
    records: Callable[[], tuple[int, int]]          # (records written, failed write attempts)
    sockets: Mapping[str, int]                      # open sockets by side (chat.endpoints)
    is_open: Callable[[], bool]                     # within the opening hours now


@dataclass(frozen=True)
class Shared:
    """One read of the shared state."""

    waiting: int
    oldest_wait_s: float
    active: int
    volunteers: Mapping[str, int] = field(default_factory=dict)
    roundtrip_s: float = 0.0


async def read_shared(broker: Broker, now: float) -> Shared:
    """Ping the broker (timed), then read the queue and the volunteers' hashes, unwatched."""
    start = time.perf_counter()
    await broker.ping()
    roundtrip = time.perf_counter() - start

    async def fn(tx: Tx) -> tuple[int, list[tuple[str, float]], list[dict[str, str]]]:
        waiting = await tx.zcard(S.QUEUE, watch=False)
        front = await tx.zrangebyscore(S.QUEUE, -math.inf, math.inf, limit=1, watch=False)
        vids = sorted(await tx.smembers(S.VOLS, watch=False))
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
        return waiting, front, raws

    waiting, front, raws = await broker.read(fn)
    volunteers = dict.fromkeys(VOLUNTEER_STATES, 0)
    active = 0
    for raw in raws:
        vol = S.VolState.load("-", raw)
        if vol is None or raw.get("role") == "trainee":     # a trainee takes no chats: not a volunteer here
            continue
        held = len([c for c in raw.get("chats", "").split(",") if c and not S.is_practice(c)])
        active += held
        if not vol.node:
            volunteers["away"] += 1
        elif not vol.wants:
            volunteers["paused"] += 1
        else:
            volunteers["busy" if held >= vol.capacity else "available"] += 1
    # A chat handed back goes in just before the front (chat.hub): its score is still
    # within a second or so of the oldest arrival.
    oldest = max(0.0, now - front[0][1]) if front else 0.0
    return Shared(waiting=waiting, oldest_wait_s=oldest, active=active, volunteers=volunteers,
                  roundtrip_s=roundtrip)


class Tally:
    """A counter the event loop's thread adds to: no lock (prometheus_client's ``Counter``
    takes one per increment, and writes a ``_created`` series we have no use for)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def inc(self) -> None:
        self.value += 1


class Metrics:
    """One app's metrics: the edge's tallies, and a collector that reads the rest at scrape time."""

    def __init__(self, node: str, broker: Broker, sources: Sources,
                 clock: Callable[[], float] = time.time) -> None:
        self.node = node
        self.broker = broker
        self.sources = sources
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        self.lines = {side: Tally() for side in SIDES}      # accepted message frames, by side
        self.refusals: dict[str, int] = {}                  # error frames sent, by code
        self._shared: Shared | None = None
        self._read_at = -math.inf
        self._lock = asyncio.Lock()
        self.registry.register(_ScrapeTime(self))

    def refused(self, code: str) -> None:
        """Count a frame refused with ``code`` (a fixed word of the code's; anything else counts as "other",
        so a code ever built from what a client sent could not put it in a label)."""
        if not _CODE.fullmatch(code):
            code = "other"
        self.refusals[code] = self.refusals.get(code, 0) + 1

    async def refresh(self) -> None:
        """Read the shared state unless it was read within ``SHARED_CACHE_S``; concurrent scrapes share one read."""
        async with self._lock:
            at = time.monotonic()
            if at - self._read_at < SHARED_CACHE_S:
                return
            try:
                async with asyncio.timeout(SHARED_READ_TIMEOUT_S):
                    self._shared = await read_shared(self.broker, self.clock())
            except Exception as exc:    # BrokerError, the timeout, or a hash it cannot read
                log.warning("metrics.shared_unreadable", error=type(exc).__name__)
                self._shared = None
            self._read_at = time.monotonic()

    def expose(self) -> bytes:
        return generate_latest(self.registry)


class _ScrapeTime:
    """Figures read when Prometheus asks, not counted as they happen."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterable[Metric]:
        m, node = self.m, self.m.node
        src = m.sources

        def gauge(name: str, doc: str, value: float, **labels: str) -> GaugeMetricFamily:
            g = GaugeMetricFamily(name, doc, labels=["node", *labels])
            g.add_metric([node, *labels.values()], value)
            return g

        lines = CounterMetricFamily("jourchatt_lines_relayed",
                                    "Chat lines accepted from a socket (message frames), by side.",
                                    labels=["node", "side"])
        for side, tally in m.lines.items():
            lines.add_metric([node, side], tally.value)
        yield lines
        refused = CounterMetricFamily("jourchatt_frames_refused", "Frames answered with an error frame, by error code.",
                                      labels=["node", "code"])
        for code, count in sorted(m.refusals.items()):
            refused.add_metric([node, code], count)
        yield refused
        sockets = GaugeMetricFamily("jourchatt_sockets_open", "WebSocket connections open on this node, by side.",
                                    labels=["node", "side"])
        for side in SIDES:
            sockets.add_metric([node, side], src.sockets.get(side, 0))
        yield sockets
        tasks = GaugeMetricFamily("jourchatt_task_alive", "1 while the named background task runs, 0 once it died.",
                                  labels=["node", "task"])
        for name, alive in sorted(src.tasks_alive().items()):
            tasks.add_metric([node, name], 1.0 if alive else 0.0)
        yield tasks
        written, failed = src.records()
        for name, doc, value in (
                ("jourchatt_records_written", "De-identified records written to the database by this node.", written),
                ("jourchatt_records_failed", "Failed attempts to write a record (each is retried).", failed)):
            c = CounterMetricFamily(name, doc, labels=["node"])
            c.add_metric([node], value)
            yield c
        yield gauge("jourchatt_open", "1 within the opening hours, 0 outside them.", 1.0 if src.is_open() else 0.0)
        shared = m._shared
        yield gauge("jourchatt_broker_up", "1 if the last read of the shared state succeeded.",
                    0.0 if shared is None else 1.0)
        if shared is None:
            return
        yield gauge("jourchatt_broker_roundtrip_seconds", "Round-trip time of a ping to the broker.", shared.roundtrip_s)
        yield gauge("jourchatt_visitors_waiting", "Visitors waiting in the queue (whole service).", shared.waiting)
        yield gauge("jourchatt_queue_oldest_wait_seconds",
                    "How long the visitor first in the queue has waited; 0 when none waits (whole service).",
                    shared.oldest_wait_s)
        yield gauge("jourchatt_chats_active", "Chats held by a volunteer (whole service).", shared.active)
        vols = GaugeMetricFamily("jourchatt_volunteers", "Volunteers present, by state (whole service).",
                                 labels=["node", "state"])
        for state, count in shared.volunteers.items():
            vols.add_metric([node, state], count)
        yield vols


def _authorised(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    # Compared in constant time, as bytes: the comparison must not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode())


async def scrape(request: Request) -> Response:
    token: str = request.app.state.settings.metrics_token
    if not token:
        raise HTTPException(404)
    if not _authorised(request, token):
        return refuse(codes.NOT_AUTHENTICATED, "send Authorization: Bearer with JOURCHATT_METRICS_TOKEN",
                      headers={"WWW-Authenticate": "Bearer"})
    metrics: Metrics = request.app.state.metrics
    await metrics.refresh()
    return Response(metrics.expose(), media_type=CONTENT_TYPE)


routes = [Route("/metrics", scrape, methods=["GET"])]
