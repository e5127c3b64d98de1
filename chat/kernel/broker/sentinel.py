"""Redis Sentinel: the ``redis+sentinel://`` URL, and a client that follows the master.

``redis+sentinel://h1:26379,h2:26379/SERVICE/DB`` names the sentinels (one or more,
each host:port; the port defaults to 26379), the service (the master's name in the
sentinels' ``sentinel monitor`` line) and the database number (default 0). The
client asks the sentinels for the master and connects there; after a failover it asks
again.

redis-py's asyncio Sentinel client asks the sentinels only in ``connect()``. A
command's retry reconnects through ``send_packed_command``, which goes straight to the
address the connection had: the old master (redis-py #3874). A master that a failover
left running (``SENTINEL FAILOVER``, a healed partition) keeps its clients'
connections: for the ~10 s until the sentinels reconfigure it, it still takes writes
(lost when it becomes a replica: see docs/deploy.md, "Redis Sentinel"), then answers
``READONLY``. redis-py turns ``READONLY`` into a disconnect, but a retry would land on
the same replica again.

``FollowingConnection`` fixes both ends: a write answered ``READONLY`` is retried once
at once (``MasterDemoted``: nothing ran, so it is safe to send again; no other error is
retried here, the broker's callers decide), and any reconnect goes through
``connect()``, which asks the sentinels. Without the second half the retry fails
(tests/integration/test_sentinel.py shows it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

SCHEME = "redis+sentinel://"
DEFAULT_SENTINEL_PORT = 26379
# One try per sentinel per look-up, each bounded: a dead sentinel costs this much at most,
# then the next one is asked (the broker's own deadline bounds the whole call).
SENTINEL_CONNECT_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class SentinelURL:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int


def parse(url: str) -> SentinelURL:
    """The parts of a ``redis+sentinel://`` URL; ValueError says what is wrong with it."""
    if not url.startswith(SCHEME):
        raise ValueError(f"a Sentinel URL starts with {SCHEME}")
    rest = url[len(SCHEME):]
    if "@" in rest.split("/", 1)[0]:
        raise ValueError("credentials in a Sentinel URL are not supported; run Redis on a private network")
    hosts, _, path = rest.partition("/")
    path = path.rstrip("/")
    parts = path.split("/")
    if not parts or not parts[0]:
        raise ValueError("name the master after the hosts, like redis+sentinel://h1:26379,h2:26379/mymaster/0")
    if len(parts) > 2 or (len(parts) == 2 and not parts[1].isdigit()):
        raise ValueError("after the master's name only a database number may follow, like /mymaster/0")
    sentinels = []
    for item in hosts.split(","):
        host, colon, port = item.strip().rpartition(":")
        if not colon:
            host, port = item.strip(), str(DEFAULT_SENTINEL_PORT)
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{item.strip()!r} is not a sentinel address like h1:26379")
        sentinels.append((host, int(port)))
    return SentinelURL(tuple(sentinels), parts[0], int(parts[1]) if len(parts) == 2 else 0)


@cache
def master_demoted() -> type[RedisError]:
    """The error a command meets on a master that is a replica now (built on first use:
    redis is imported lazily); the client retries it once."""
    from redis.exceptions import ConnectionError

    class MasterDemoted(ConnectionError):
        """The connection's server is a replica now: the command did not run."""

    return MasterDemoted


@cache
def following_connection() -> type:
    """The connection class, built on first use (redis is imported lazily)."""
    from redis.asyncio.sentinel import SentinelManagedConnection
    from redis.exceptions import ReadOnlyError

    MasterDemoted = master_demoted()

    class FollowingConnection(SentinelManagedConnection):
        """A Sentinel connection that asks the sentinels again whenever it reconnects."""

        async def read_response(self, *args: Any, **kwargs: Any) -> Any:
            try:
                return await super(SentinelManagedConnection, self).read_response(*args, **kwargs)
            except ReadOnlyError:
                await self.disconnect()
                raise MasterDemoted("the master is a replica now") from None

        async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            if not self.is_connected:
                # through the sentinels: the master they name now
                await self.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            await super().send_packed_command(command, check_health)

    return FollowingConnection


def master_client(url: SentinelURL, connection_class: type | None = None,
                  **kwargs: Any) -> tuple[aioredis.Redis, list[aioredis.Redis]]:
    """A client of the service's master, and the sentinels' clients (to close with it).
    ``connection_class`` is there for the test that shows why ``FollowingConnection`` is."""
    from redis.asyncio.retry import Retry
    from redis.asyncio.sentinel import Sentinel
    from redis.backoff import NoBackoff

    # redis-py leaves Sentinel.__init__ unannotated.
    sentinel = Sentinel(list(url.sentinels), sentinel_kwargs={  # type: ignore[no-untyped-call]
        "socket_connect_timeout": SENTINEL_CONNECT_TIMEOUT_S, "decode_responses": True,
        "retry": Retry(NoBackoff(), 0)})
    # Retried once, and only after READONLY (see the module's docstring).
    retry = Retry(NoBackoff(), 1, supported_errors=(master_demoted(),))
    client = sentinel.master_for(url.service, db=url.db, retry=retry,
                                 connection_class=connection_class or following_connection(), **kwargs)
    return client, list(sentinel.sentinels)
