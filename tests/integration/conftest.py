"""Fixtures shared by the integration tests."""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import pytest

from chat.kernel.broker import Broker, MemoryBroker, create_broker

from ..conftest import fresh_redis
from ..sentinel_topology import Topology


@pytest.fixture(scope="session")
def sentinel_topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """A master, two replicas and a sentinel of the tests' own, shared by the broker tests
    (tests that fail a master over start their own)."""
    topology = Topology(tmp_path_factory.mktemp("sentinel")).start()
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture(params=["memory", "redis", "sentinel", "sentinel-wait"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """Each broker the app can run on, started: the in-memory one, a real Redis (emptied),
    and a real Sentinel topology (emptied), acking lines at once or after one replica has them."""
    b: Broker
    if request.param == "memory":
        b = MemoryBroker()
    elif request.param == "redis":
        b = create_broker(await fresh_redis())
    else:
        topology: Topology = request.getfixturevalue("sentinel_topology")
        topology.client(topology.master_port()).flushdb()
        b = create_broker(topology.url(), wait_replicas=1 if request.param == "sentinel-wait" else 0)
    await b.start()
    yield b
    await b.close()
