"""chat/broker/memory.py: the in-process replay log, its order, expiry and bound."""

from __future__ import annotations

from chat.broker.base import MAX_LOG_ENTRIES
from chat.broker.memory import SWEEP_EVERY, MemoryBroker

TTL = 60.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_entries_are_read_back_in_order() -> None:
    broker = MemoryBroker()
    for seq in (1, 2, 3):
        await broker.append("c1", seq, f"line {seq}".encode(), TTL)
    assert await broker.read("c1", 0) == [(1, b"line 1"), (2, b"line 2"), (3, b"line 3")]


async def test_read_after_a_seq_returns_only_later_entries() -> None:
    broker = MemoryBroker()
    for seq in (1, 2, 4, 7):
        await broker.append("c1", seq, b"x%d" % seq, TTL)
    assert await broker.read("c1", 2) == [(4, b"x4"), (7, b"x7")]
    assert await broker.read("c1", 3) == [(4, b"x4"), (7, b"x7")]
    assert await broker.read("c1", 7) == []
    assert await broker.read("c1", 100) == []


async def test_unknown_chat_reads_as_empty() -> None:
    assert await MemoryBroker().read("nobody", 0) == []


async def test_chats_do_not_see_each_others_entries() -> None:
    broker = MemoryBroker()
    await broker.append("c1", 1, b"one", TTL)
    await broker.append("c2", 1, b"two", TTL)
    assert await broker.read("c1", 0) == [(1, b"one")]
    assert await broker.read("c2", 0) == [(1, b"two")]


async def test_delete_removes_the_chats_log_at_once() -> None:
    broker = MemoryBroker()
    await broker.append("c1", 1, b"one", TTL)
    await broker.append("c2", 1, b"two", TTL)
    await broker.delete("c1")
    await broker.delete("never-existed")
    assert await broker.read("c1", 0) == []
    assert await broker.read("c2", 0) == [(1, b"two")]
    assert len(broker) == 1


async def test_log_expires_ttl_after_its_last_append() -> None:
    clock = FakeClock()
    broker = MemoryBroker(clock=clock)
    await broker.append("c1", 1, b"one", TTL)
    clock.now += TTL - 0.1
    assert await broker.read("c1", 0) == [(1, b"one")]
    clock.now += 0.1
    assert await broker.read("c1", 0) == []
    assert len(broker) == 0


async def test_each_append_extends_the_expiry() -> None:
    clock = FakeClock()
    broker = MemoryBroker(clock=clock)
    await broker.append("c1", 1, b"one", TTL)
    clock.now += TTL - 1
    await broker.append("c1", 2, b"two", TTL)
    clock.now += TTL - 1
    assert await broker.read("c1", 0) == [(1, b"one"), (2, b"two")]


async def test_append_after_expiry_starts_an_empty_log() -> None:
    clock = FakeClock()
    broker = MemoryBroker(clock=clock)
    await broker.append("c1", 1, b"old", TTL)
    clock.now += TTL
    await broker.append("c1", 2, b"new", TTL)
    assert await broker.read("c1", 0) == [(2, b"new")]


async def test_expired_logs_are_swept_even_if_never_read_again() -> None:
    clock = FakeClock()
    broker = MemoryBroker(clock=clock)
    await broker.append("abandoned", 1, b"old", TTL)
    clock.now += TTL + 1
    for seq in range(1, SWEEP_EVERY):            # SWEEP_EVERY appends in all
        await broker.append("busy", seq, b"x", TTL)
    assert len(broker) == 1
    assert await broker.read("busy", SWEEP_EVERY - 2) == [(SWEEP_EVERY - 1, b"x")]


async def test_log_keeps_only_the_newest_max_log_entries() -> None:
    broker = MemoryBroker()
    extra = 3
    for seq in range(1, MAX_LOG_ENTRIES + extra + 1):
        await broker.append("c1", seq, b"%d" % seq, TTL)
    entries = await broker.read("c1", 0)
    assert len(entries) == MAX_LOG_ENTRIES
    assert entries[0] == (extra + 1, b"%d" % (extra + 1))
    assert entries[-1][0] == MAX_LOG_ENTRIES + extra
    assert await broker.read("c1", MAX_LOG_ENTRIES + extra - 1) == [(MAX_LOG_ENTRIES + extra, b"%d" % (MAX_LOG_ENTRIES + extra))]


async def test_close_forgets_every_log() -> None:
    broker = MemoryBroker()
    await broker.start()
    await broker.ping()
    await broker.append("c1", 1, b"one", TTL)
    await broker.close()
    assert len(broker) == 0
    assert await broker.read("c1", 0) == []
