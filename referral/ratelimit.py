"""Redemption attempts per partner key, counted in the broker (so across every node).

Two fixed windows per partner: attempts per minute (``redeem_per_minute``)
and failed attempts per hour (``redeem_failures_per_hour``; unknown, expired
and reused codes count, mistyped ones are caught by the check symbol and do
not). With 45-bit codes, a partner key that guesses at the hourly cap (20 a
day-hour, 175,000 a year) would need some 200 years to hit one live code even
with a million codes live.

    jc:rl:redeem:<partner>:m:<minute>   string  attempts in that minute (TTL 2 min)
    jc:rl:redeem:<partner>:f:<hour>     string  failures in that hour (TTL 2 h)
"""

from __future__ import annotations

from chat.broker import Broker, Tx


def _keys(partner: str, now: float) -> tuple[str, str]:
    return (f"jc:rl:redeem:{partner}:m:{int(now // 60)}", f"jc:rl:redeem:{partner}:f:{int(now // 3600)}")


async def admit(broker: Broker, partner: str, now: float, *, per_minute: int, failures_per_hour: int) -> float | None:
    """Count one attempt; None if allowed, else the seconds to wait (Retry-After)."""
    minute_key, hour_key = _keys(partner, now)

    async def fn(tx: Tx) -> float | None:
        failures = int(await tx.get(hour_key) or 0)
        if failures >= failures_per_hour:
            return 3600 - now % 3600
        attempts = int(await tx.get(minute_key) or 0)
        if attempts >= per_minute:
            return 60 - now % 60
        tx.set(minute_key, str(attempts + 1), ex=120)
        return None

    return await broker.transact(fn)


async def failed(broker: Broker, partner: str, now: float) -> None:
    """Count a failed attempt against the hourly cap."""
    _, hour_key = _keys(partner, now)

    async def fn(tx: Tx) -> None:
        tx.set(hour_key, str(int(await tx.get(hour_key) or 0) + 1), ex=7200)

    await broker.transact(fn)
