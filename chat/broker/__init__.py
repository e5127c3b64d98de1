"""Brokers, chosen by URL scheme: ``memory://`` here; more with the many-nodes work."""

from __future__ import annotations

from ..exceptions import ConfigurationError
from .base import MAX_LOG_ENTRIES, Broker
from .memory import MemoryBroker

__all__ = ["Broker", "MemoryBroker", "MAX_LOG_ENTRIES", "create_broker"]


def create_broker(url: str) -> Broker:
    if url.startswith("memory://"):
        return MemoryBroker(url)
    raise ConfigurationError(
        f"JOURCHATT_BROKER_URL scheme of {url.split('://')[0]!r} is not supported by this build; use memory://"
    )
