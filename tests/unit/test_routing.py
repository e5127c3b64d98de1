"""chat/routing.py: fair FIFO matching, capacity, preferences, the queue bound and wait estimates."""

from __future__ import annotations

import random

import pytest

from chat.routing import DEFAULT_SERVICE_TIME_S, EWMA_ALPHA, WAIT_STEP_S, QueueFull, Router


def add(router: Router, vid: str, *, langs: tuple[str, ...] = ("sv",), capacity: int = 1,
        available: bool = True, now: float = 0.0) -> None:
    router.set_volunteer(vid, languages=frozenset(langs), capacity=capacity, available=available, now=now)


def queue(router: Router, *chats: str, lang: str = "sv", now: float = 0.0) -> None:
    for chat in chats:
        router.enqueue(chat, lang, now)


def test_chats_are_matched_in_arrival_order() -> None:
    r = Router()
    queue(r, "c1", "c2", "c3")
    add(r, "v", capacity=3)
    assert r.match(1.0) == [("c1", "v"), ("c2", "v"), ("c3", "v")]
    assert r.waiting() == 0


def test_volunteer_takes_one_chat_by_default() -> None:
    r = Router()
    r.set_volunteer("v", languages=frozenset({"sv"}), capacity=0, available=True, now=0.0)  # 0 means 1
    queue(r, "c1", "c2")
    assert r.match(1.0) == [("c1", "v")]
    assert r.positions() == {"c2": 1}
    assert r.load("v") == 1


def test_volunteer_with_capacity_two_takes_two_chats() -> None:
    r = Router()
    add(r, "v", capacity=2)
    queue(r, "c1", "c2", "c3")
    assert r.match(1.0) == [("c1", "v"), ("c2", "v")]
    assert r.positions() == {"c3": 1}


def test_a_chat_counts_against_capacity_until_released() -> None:
    r = Router()
    add(r, "v")
    queue(r, "c1", "c2")
    assert r.match(1.0) == [("c1", "v")]
    assert r.match(2.0) == []          # still held: the wrap-up is due
    r.release("v", "c1", 3.0)
    assert r.load("v") == 0
    assert r.match(4.0) == [("c2", "v")]


def test_among_equally_loaded_volunteers_the_longest_idle_gets_the_chat() -> None:
    r = Router()
    add(r, "a", now=0.0)
    add(r, "b", now=0.0)
    r.hold("a", "old", 5.0)
    r.release("a", "old", 20.0)        # a was busy until 20; b idle since 0
    queue(r, "c1")
    assert r.match(30.0) == [("c1", "b")]


def test_equal_volunteers_share_chats_round_robin() -> None:
    r = Router()
    add(r, "a", capacity=2, now=0.0)
    add(r, "b", capacity=2, now=1.0)
    queue(r, "c1", "c2", "c3", "c4")
    assert r.match(10.0) == [("c1", "a"), ("c2", "b"), ("c3", "a"), ("c4", "b")]


def test_least_loaded_volunteer_comes_before_a_longer_idle_one() -> None:
    r = Router()
    add(r, "busy", capacity=3, now=0.0)
    r.hold("busy", "x", 1.0)           # load 1, idle since 1
    add(r, "fresh", capacity=3, now=50.0)  # load 0, idle since 50
    queue(r, "c1")
    assert r.match(60.0) == [("c1", "fresh")]


def test_a_volunteer_speaking_the_chats_language_is_preferred() -> None:
    r = Router()
    add(r, "sv_only", langs=("sv",), now=0.0)      # idle longer
    add(r, "en_speaker", langs=("sv", "en"), now=10.0)
    queue(r, "c1", lang="en")
    assert r.match(20.0) == [("c1", "en_speaker")]


def test_language_comes_before_load() -> None:
    r = Router()
    add(r, "en", langs=("en",), capacity=2)
    r.hold("en", "x", 0.0)
    add(r, "sv", langs=("sv",), capacity=2)
    queue(r, "c1", lang="en")
    assert r.match(1.0) == [("c1", "en")]


def test_without_a_speaker_of_its_language_a_chat_goes_to_any_free_volunteer() -> None:
    r = Router()
    add(r, "sv_only", langs=("sv",))
    queue(r, "c1", lang="en")
    assert r.match(1.0) == [("c1", "sv_only")]


def test_front_enqueue_puts_the_chat_first() -> None:
    r = Router()
    queue(r, "c1", "c2")
    r.enqueue("handed_back", "sv", 5.0, front=True)
    assert r.positions() == {"handed_back": 1, "c1": 2, "c2": 3}
    add(r, "v")
    assert r.match(6.0) == [("handed_back", "v")]


def test_enqueueing_a_waiting_chat_again_changes_nothing() -> None:
    r = Router()
    queue(r, "c1", "c2")
    r.enqueue("c1", "sv", 9.0)
    assert r.positions() == {"c1": 1, "c2": 2}


def test_queue_refuses_newcomers_at_max_queue() -> None:
    r = Router(max_queue=2)
    queue(r, "c1", "c2")
    with pytest.raises(QueueFull):
        r.enqueue("c3", "sv", 1.0)
    assert r.positions() == {"c1": 1, "c2": 2}   # nobody already waiting is dropped


def test_front_requeue_is_allowed_beyond_max_queue() -> None:
    r = Router(max_queue=2)
    queue(r, "c1", "c2")
    r.enqueue("back", "sv", 1.0, front=True)
    assert r.waiting() == 3
    assert r.positions()["back"] == 1
    with pytest.raises(QueueFull):
        r.enqueue("c4", "sv", 1.0)


def test_dequeue_removes_a_waiting_chat_and_closes_the_gap() -> None:
    r = Router()
    queue(r, "c1", "c2", "c3")
    assert r.dequeue("c2") is True
    assert r.dequeue("c2") is False
    assert r.dequeue("never") is False
    assert not r.is_waiting("c2")
    assert r.is_waiting("c3")
    assert r.positions() == {"c1": 1, "c3": 2}


def test_positions_count_from_one_in_queue_order() -> None:
    r = Router()
    assert r.positions() == {}
    queue(r, "a", "b", "c")
    assert r.positions() == {"a": 1, "b": 2, "c": 3}


def test_estimated_wait_without_volunteers_uses_the_default_service_time() -> None:
    r = Router()
    assert r.estimated_wait(0) == 0
    assert r.estimated_wait(1) == DEFAULT_SERVICE_TIME_S
    assert r.estimated_wait(2) == 2 * DEFAULT_SERVICE_TIME_S


def test_estimated_wait_is_rounded_up_to_thirty_seconds() -> None:
    r = Router()
    for i in range(7):
        add(r, f"v{i}")
    # 1200 s / 7 slots = 171.4 s per position
    assert r.estimated_wait(1) == 180
    assert r.estimated_wait(3) == 540        # 514.3 -> 540
    assert Router.round_wait(0.1) == WAIT_STEP_S
    assert Router.round_wait(30.0) == 30
    assert Router.round_wait(30.01) == 60


def test_estimated_wait_decreases_with_more_available_volunteers() -> None:
    r = Router()
    waits = []
    for i in range(5):
        add(r, f"v{i}")
        waits.append(r.estimated_wait(3))
    assert waits == sorted(waits, reverse=True)
    assert len(set(waits)) == len(waits)
    assert all(w % WAIT_STEP_S == 0 for w in waits)


def test_paused_volunteers_do_not_shorten_the_estimated_wait() -> None:
    r = Router()
    add(r, "v1")
    before = r.estimated_wait(2)
    add(r, "v2", available=False)
    assert r.estimated_wait(2) == before


def test_release_with_a_duration_updates_the_moving_average() -> None:
    r = Router()
    add(r, "v")
    r.hold("v", "c1", 0.0)
    r.release("v", "c1", 600.0, duration_s=600.0)
    expected = DEFAULT_SERVICE_TIME_S + EWMA_ALPHA * (600.0 - DEFAULT_SERVICE_TIME_S)   # 1080
    assert r.wait_per_position() == pytest.approx(expected)
    assert r.estimated_wait(1) == 1080


@pytest.mark.parametrize("duration", [None, 0.0, -5.0])
def test_release_without_a_positive_duration_leaves_the_average_alone(duration: float | None) -> None:
    r = Router()
    add(r, "v")
    r.hold("v", "c1", 0.0)
    r.release("v", "c1", 1.0, duration_s=duration)
    assert r.wait_per_position() == DEFAULT_SERVICE_TIME_S


def test_remove_volunteer_returns_the_chats_it_held() -> None:
    r = Router()
    add(r, "v", capacity=2)
    queue(r, "c1", "c2")
    r.match(1.0)
    assert r.remove_volunteer("v") == {"c1", "c2"}
    assert r.remove_volunteer("v") == set()
    assert r.load("v") == 0
    queue(r, "c3")
    assert r.match(2.0) == []


def test_paused_volunteer_is_never_matched_until_available_again() -> None:
    r = Router()
    add(r, "v", available=False)
    queue(r, "c1")
    assert r.match(1.0) == []
    assert r.volunteers_online() == 0
    add(r, "v", available=True, now=2.0)
    assert r.volunteers_online() == 1
    assert r.match(3.0) == [("c1", "v")]


def test_pausing_keeps_held_chats_but_takes_no_new_ones() -> None:
    r = Router()
    add(r, "v", capacity=2)
    queue(r, "c1")
    r.match(1.0)
    add(r, "v", capacity=2, available=False, now=2.0)
    queue(r, "c2")
    assert r.match(3.0) == []
    assert r.load("v") == 1


def test_random_operations_keep_the_routing_invariants() -> None:
    rng = random.Random(20260329)
    r = Router(max_queue=25)
    capacity: dict[str, int] = {}
    available: dict[str, bool] = {}
    held: dict[str, set[str]] = {}         # our own view of who holds what
    order: list[str] = []                  # our own view of the queue
    next_chat = 0
    now = 0.0

    for _ in range(4000):
        now += rng.random()
        op = rng.random()
        if op < 0.30:
            chat, next_chat = f"c{next_chat}", next_chat + 1
            try:
                r.enqueue(chat, rng.choice(["sv", "en"]), now)
                order.append(chat)
            except QueueFull:
                assert len(order) >= r.max_queue
        elif op < 0.40 and order:
            chat = rng.choice(order)
            assert r.dequeue(chat)
            order.remove(chat)
        elif op < 0.55 and any(held.values()):
            vid = rng.choice([v for v, cs in held.items() if cs])
            chat = rng.choice(sorted(held[vid]))
            r.release(vid, chat, now, duration_s=rng.uniform(60, 3600))
            held[vid].discard(chat)
            if rng.random() < 0.3:                 # handed back, not finished
                r.enqueue(chat, "sv", now, front=True)
                order.insert(0, chat)
        elif op < 0.62:
            vid = f"v{rng.randrange(6)}"
            capacity.setdefault(vid, rng.randint(1, 3))
            held.setdefault(vid, set())
            available[vid] = rng.random() < 0.8
            add(r, vid, langs=tuple(rng.sample(["sv", "en"], rng.randint(1, 2))),
                capacity=capacity[vid], available=available[vid], now=now)
        elif op < 0.65 and held:
            vid = rng.choice(sorted(held))
            lost = r.remove_volunteer(vid)
            assert lost == held.pop(vid)
            capacity.pop(vid)
            for chat in sorted(lost):
                r.enqueue(chat, "sv", now, front=True)
                order.insert(0, chat)
        else:
            free = sum(max(0, capacity[v] - len(held[v])) for v in held if available[v])
            matched = r.match(now)
            chats = [c for c, _ in matched]
            # work-conserving and fair: the head of the queue, as far as free slots go
            assert chats == order[:min(len(order), free)]
            order = order[len(chats):]
            for chat, vid in matched:
                held[vid].add(chat)

        assert list(r.positions()) == order
        assert len(set(order)) == len(order)
        all_held = [c for cs in held.values() for c in cs]
        assert len(all_held) == len(set(all_held)), "a chat is held twice"
        assert not set(all_held) & set(order), "a chat is both held and waiting"
        for vid, chats in held.items():
            assert r.load(vid) == len(chats) <= capacity[vid]


def _reference_match(r: Router, now: float) -> list[tuple[str, str]]:
    """The rules spelled out as a scan of every free volunteer for every chat (O(chats × volunteers))."""
    out: list[tuple[str, str]] = []
    free = {vid for vid, v in r._volunteers.items() if v.eligible()}
    for chat, waiting in list(r._queue.items()):
        if not free:
            break
        best = min(free, key=lambda vid: (waiting.lang not in r._volunteers[vid].languages,
                                          r._volunteers[vid].load, r._volunteers[vid].idle_since, vid))
        del r._queue[chat]
        r.hold(best, chat, now)
        out.append((chat, best))
        if not r._volunteers[best].eligible():
            free.discard(best)
    return out


@pytest.mark.parametrize("seed", range(40))
def test_matching_picks_what_a_scan_of_every_volunteer_picks(seed: int) -> None:
    """The heap-based match gives the same pairs as the plain rules, in the same order."""
    rng = random.Random(seed)
    fast, slow = Router(max_queue=500), Router(max_queue=500)
    for router in (fast, slow):
        rng_v = random.Random(seed * 7919)
        for i in range(rng_v.randint(1, 30)):
            langs = tuple(rng_v.sample(["sv", "en", "ar", "fa"], rng_v.randint(1, 3)))
            add(router, f"v{i:02d}", langs=langs, capacity=rng_v.randint(1, 3),
                available=rng_v.random() < 0.85, now=float(rng_v.randint(0, 5)))
    now = 10.0
    for step in range(6):
        chats = [(f"c{step}-{k}", rng.choice(["sv", "en", "ar", "so"])) for k in range(rng.randint(0, 25))]
        for router in (fast, slow):
            for chat, lang in chats:
                router.enqueue(chat, lang, now)
        assert fast.match(now) == _reference_match(slow, now)
        assert list(fast.positions()) == list(slow.positions())
        held = [(vid, sorted(v.chats)) for vid, v in sorted(fast._volunteers.items())]
        for vid, chats_held in held:
            if chats_held and rng.random() < 0.4:
                for router in (fast, slow):
                    router.release(vid, chats_held[0], now)
        now += 1.0
