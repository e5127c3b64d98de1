"""The login throttle's policy (pure, the clock passed in) and its broker-backed counters."""

from __future__ import annotations

import chat  # noqa: F401
from chat.kernel.broker.memory import MemoryBroker
from volunteer.throttle import LOCK_BASE_S, LOCK_MAX_S, Counter, LoginThrottle, Policy, check, fail

T0 = 1_000_000.0


def fails(n: int, start: float = T0, every: float = 1.0, counter: Counter | None = None,
          limit: int = 5, window: float = 900.0, growing: bool = True) -> Counter:
    c = counter or Counter()
    for i in range(n):
        c = fail(c, start + i * every, limit=limit, window_s=window, growing=growing)
    return c


def test_four_failures_do_not_lock_the_fifth_does() -> None:
    c = fails(4)
    assert check(c, T0 + 4) == 0
    c = fails(1, start=T0 + 4, counter=c)
    assert check(c, T0 + 4) == LOCK_BASE_S
    assert check(c, T0 + 4 + LOCK_BASE_S) == 0


def test_failures_older_than_the_window_are_forgotten() -> None:
    c = fails(4)
    c = fails(1, start=T0 + 900.0, counter=c)        # the first four are a window old
    assert check(c, T0 + 900.0) == 0


def test_the_lock_grows_with_each_lockout_up_to_a_cap() -> None:
    waits = []
    c, t = Counter(), T0
    for _ in range(9):
        c = fails(5, start=t, counter=c)
        waits.append(c.locked_until - (t + 4))
        t = c.locked_until
    assert waits[:4] == [LOCK_BASE_S, 2 * LOCK_BASE_S, 4 * LOCK_BASE_S, 8 * LOCK_BASE_S]
    assert max(waits) == LOCK_MAX_S and waits[-1] == LOCK_MAX_S


def test_a_quiet_window_after_a_lock_starts_over() -> None:
    c = fails(5)
    c = fails(5, start=c.locked_until, counter=c)
    assert c.lockouts == 2
    later = c.locked_until + 900.0
    c = fails(5, start=later, counter=c)
    assert c.locked_until == later + 4 + LOCK_BASE_S


def test_the_address_lock_lasts_until_the_window_has_passed() -> None:
    c = fails(30, every=10.0, limit=30, growing=False)   # 30 failures over 290 s
    assert check(c, T0 + 290) == 900.0 - 290
    assert check(c, T0 + 900) == 0


def test_a_damaged_counter_reads_as_empty() -> None:
    assert Counter.loads("{not json") == Counter()
    assert Counter.loads(None) == Counter()
    c = fails(3)
    assert Counter.loads(c.dumps()) == c


async def test_counters_in_the_broker_lock_unknown_and_known_names_alike() -> None:
    broker = MemoryBroker()
    await broker.start()
    try:
        throttle = LoginThrottle(broker, b"k" * 40, Policy(max_failures=3, window_s=60,
                                                           address_max_failures=5))
        for name in ("anna", "nobody-has-this-name"):
            for i in range(3):
                assert await throttle.retry_after(name, None, T0 + i) == 0
                await throttle.failed(name, None, T0 + i)
            assert await throttle.retry_after(name, None, T0 + 3) == LOCK_BASE_S - 1
        keys = [k for k in broker.data if k.startswith("jc:login:")]
        assert keys and not any("anna" in k or "nobody" in k for k in keys)
        # The address counter: five failures over several names lock the address for all names.
        for i, name in enumerate(["a1", "a2", "a3", "a4", "a5"]):
            await throttle.failed(name, "addrhash", T0 + i)
        assert await throttle.retry_after("fresh-name", "addrhash", T0 + 5) > 0
        assert await throttle.retry_after("fresh-name", "otherhash", T0 + 5) == 0
        # A success clears the name's failures, but never a running lock.
        await throttle.failed("bert", None, T0)
        await throttle.succeeded("bert", T0 + 1)
        for i in range(2):
            await throttle.failed("bert", None, T0 + 2 + i)
        assert await throttle.retry_after("bert", None, T0 + 4) == 0
        await throttle.succeeded("anna", T0 + 4)
        assert await throttle.retry_after("anna", None, T0 + 4) > 0
    finally:
        await broker.close()
