"""Redemption attempts per partner key, counted in the broker (so across every node).

Two limits per partner: attempts per minute (``redeem_per_minute``) and failed
attempts per hour (``redeem_failures_per_hour``; unknown, expired and reused
codes count, mistyped ones are caught by the check symbol and do not). With
45-bit codes, a partner key that guesses at the hourly cap would need some
200 years to hit one live code even with a million codes live.

Each limit is a GCRA (a token bucket kept as one time stamp): a full bucket
allows ``limit`` at once, then one every ``period / limit`` seconds. Unlike fixed
windows (counters per calendar minute), there is no boundary at which a client
gets twice the limit, or at which a burst that straddles it is wrongly let
through.

    jc:rl:redeem:<partner>:m   string  the minute bucket's time stamp (TTL: until it is empty)
    jc:rl:redeem:<partner>:f   string  the hour bucket's time stamp (failures only)
    jc:rl:survey:<addr>:m      the same for survey answers (``POST /api/survey``), per keyed
    jc:rl:survey:<addr>:f      address hash (chat.kernel.addresses: meaningless the next day)
"""

from __future__ import annotations

from chat.kernel.broker import Broker, Tx

MINUTE, HOUR = 60.0, 3600.0


def _keys(partner: str, route: str = "redeem") -> tuple[str, str]:
    return f"jc:rl:{route}:{partner}:m", f"jc:rl:{route}:{partner}:f"


def _wait(tat: float, now: float, period: float, limit: int) -> float:
    """Seconds until the bucket (``tat``) has room for one more; 0 if it has now."""
    interval = period / limit
    wait = max(tat, now) + interval - now - period
    return wait if wait > 1e-6 else 0.0     # sums of intervals are not exact in floating point


async def admit(broker: Broker, partner: str, now: float, *, per_minute: int, failures_per_hour: int,
                route: str = "redeem") -> float | None:
    """Count one attempt; None if allowed, else the seconds to wait (Retry-After)."""
    minute_key, hour_key = _keys(partner, route)

    async def fn(tx: Tx) -> float | None:
        failures_tat = float(await tx.get(hour_key) or 0.0)
        wait = _wait(failures_tat, now, HOUR, failures_per_hour)
        if wait > 0:
            return wait
        tat = float(await tx.get(minute_key) or 0.0)
        wait = _wait(tat, now, MINUTE, per_minute)
        if wait > 0:
            return wait
        new_tat = max(tat, now) + MINUTE / per_minute
        tx.set(minute_key, repr(new_tat), ex=new_tat - now + 1)
        return None

    return await broker.transact(fn)


async def failed(broker: Broker, partner: str, now: float, *, failures_per_hour: int,
                 route: str = "redeem") -> None:
    """Count a failed attempt against the hourly limit."""
    _, hour_key = _keys(partner, route)

    async def fn(tx: Tx) -> None:
        tat = float(await tx.get(hour_key) or 0.0)
        new_tat = max(tat, now) + HOUR / failures_per_hour
        tx.set(hour_key, repr(new_tat), ex=new_tat - now + 1)

    await broker.transact(fn)
