"""Brokers, chosen by URL scheme: ``memory://`` (one process) or ``redis://`` (many)."""

from __future__ import annotations

from ..exceptions import ConfigurationError
from .base import MAX_LOG_ENTRIES, Broker, BrokerError, LineResult, LineWrite, Tx
from .memory import MemoryBroker

__all__ = ["Broker", "BrokerError", "LineResult", "LineWrite", "MemoryBroker", "MAX_LOG_ENTRIES", "Tx",
           "create_broker"]


def create_broker(url: str) -> Broker:
    if url.startswith("memory://"):
        return MemoryBroker(url)
    if url.startswith(("redis://", "rediss://")):
        from .redis import RedisBroker
        return RedisBroker(url)
    raise ConfigurationError(
        f"JOURCHATT_BROKER_URL scheme of {url.split('://')[0]!r} is not supported; use memory:// or redis://"
    )
