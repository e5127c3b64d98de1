"""Brokers, chosen by URL scheme: ``memory://`` (one process) or ``redis://`` (many;
also ``rediss://`` and ``redis+sentinel://``)."""

from __future__ import annotations

from ..exceptions import ConfigurationError
from .base import MAX_LOG_ENTRIES, Broker, BrokerError, LineResult, LineWrite, Tx
from .memory import MemoryBroker

__all__ = ["Broker", "BrokerError", "LineResult", "LineWrite", "MemoryBroker", "MAX_LOG_ENTRIES", "Tx",
           "create_broker"]


def create_broker(url: str, *, wait_replicas: int = 0, wait_timeout_ms: int = 1000) -> Broker:
    """The broker for ``url``; ``wait_replicas``/``wait_timeout_ms`` apply to Redis (see
    chat.kernel.broker.redis: a line is acked once that many replicas have it)."""
    if url.startswith("memory://"):
        return MemoryBroker(url)
    if url.startswith(("redis://", "rediss://", "redis+sentinel://")):
        from .redis import RedisBroker
        return RedisBroker(url, wait_replicas=wait_replicas, wait_timeout_ms=wait_timeout_ms)
    raise ConfigurationError(
        f"JOURCHATT_BROKER_URL scheme of {url.split('://')[0]!r} is not supported; "
        "use memory://, redis:// or redis+sentinel://"
    )
