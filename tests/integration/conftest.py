"""Fixtures shared by the integration tests."""

from __future__ import annotations

from typing import AsyncIterator

import pytest

from chat.broker import Broker, MemoryBroker, create_broker

from ..conftest import fresh_redis


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """Each broker the app can run on, started: the in-memory one and a real Redis (emptied)."""
    b: Broker = MemoryBroker() if request.param == "memory" else create_broker(await fresh_redis())
    await b.start()
    yield b
    await b.close()
