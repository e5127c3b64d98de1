"""chat/routing.py: a chat kept for the volunteer of its follow-up code, with the clock passed in.

Kept while that volunteer is on duty (available) and its time is not up: it goes to them
before any other chat as soon as they have a free slot, to nobody else meanwhile, and it
blocks nobody behind it. Not on duty, or its time up: routed like any chat, in its place.
"""

from __future__ import annotations

import random

from chat.routing import Router


def add(r: Router, vid: str, *, capacity: int = 1, available: bool = True, now: float = 0.0,
        skills: tuple[str, ...] = ()) -> None:
    r.set_volunteer(vid, languages=frozenset({"sv"}), capacity=capacity, available=available, now=now,
                    skills=frozenset(skills))


def test_a_kept_chat_waits_for_its_busy_volunteer_and_blocks_nobody() -> None:
    r = Router()
    add(r, "sara")
    add(r, "bo", now=5.0)
    r.hold("sara", "first", 1.0)
    r.enqueue("back", "sv", 10.0, keep="sara", keep_until=610.0)
    r.enqueue("later", "sv", 11.0)
    assert r.match(12.0) == [("later", "bo")]            # not the kept chat, though it came first
    assert r.holding_for_volunteer(12.0) == {"back": "sara"}
    r.release("sara", "first", 100.0)
    assert r.match(100.0) == [("back", "sara")]


def test_a_free_volunteer_takes_their_kept_chat_before_an_earlier_one() -> None:
    r = Router()
    add(r, "sara")
    r.hold("sara", "first", 1.0)
    r.enqueue("earlier", "sv", 5.0)
    r.enqueue("back", "sv", 10.0, keep="sara", keep_until=610.0)
    r.release("sara", "first", 20.0)
    assert r.match(20.0) == [("back", "sara")]
    assert r.is_waiting("earlier")


def test_its_time_up_it_goes_to_anyone_in_its_place() -> None:
    r = Router()
    add(r, "sara")
    add(r, "bo", now=5.0)
    r.hold("sara", "first", 1.0)
    r.enqueue("back", "sv", 10.0, keep="sara", keep_until=70.0)
    r.enqueue("later", "sv", 11.0)
    assert r.match(69.0) == [("later", "bo")]
    r.release("bo", "later", 69.5)
    assert r.match(70.0) == [("back", "bo")]
    assert r.holding_for_volunteer(70.0) == {}


def test_with_its_volunteer_not_on_duty_it_is_an_ordinary_chat() -> None:
    r = Router()
    add(r, "sara", available=False)
    add(r, "bo")
    r.enqueue("back", "sv", 10.0, keep="sara", keep_until=610.0)
    r.enqueue("absent", "sv", 11.0, keep="nobody", keep_until=610.0)
    assert r.match(12.0) == [("back", "bo")]
    assert r.holding_for_volunteer(12.0) == {}


def test_kept_for_a_volunteer_it_does_not_wait_for_a_specialist_too() -> None:
    r = Router(specialist_wait_s=600.0)
    add(r, "sara")
    add(r, "spec", skills=("uses_violence",), now=3.0)
    r.hold("sara", "first", 1.0)
    r.hold("spec", "other", 1.0)
    r.enqueue("back", "sv", 10.0, skill="uses_violence", keep="sara", keep_until=610.0)
    assert r.holding_for_specialist(12.0) == {}
    assert r.holding_for_volunteer(12.0) == {"back": "sara"}
    r.release("spec", "other", 20.0)
    assert r.match(20.0) == []                           # not the free specialist: it is Sara's
    r.release("sara", "first", 30.0)
    assert r.match(30.0) == [("back", "sara")]


def test_no_kept_chat_ever_goes_to_another_volunteer_while_kept() -> None:
    rng = random.Random(19)
    for _ in range(300):
        r = Router()
        vols = [f"v{i}" for i in range(rng.randint(1, 4))]
        for i, vid in enumerate(vols):
            add(r, vid, capacity=rng.randint(1, 2), available=rng.random() < 0.8, now=float(i))
        keeps: dict[str, tuple[str, float]] = {}
        for n in range(rng.randint(1, 8)):
            chat = f"c{n}"
            if rng.random() < 0.5:
                keeps[chat] = (rng.choice(vols + ["gone"]), rng.choice([5.0, 50.0]))
                r.enqueue(chat, "sv", float(n), keep=keeps[chat][0], keep_until=keeps[chat][1])
            else:
                r.enqueue(chat, "sv", float(n))
        now = 20.0
        kept = r.holding_for_volunteer(now)
        for chat, vid in r.match(now):
            if chat in kept:
                assert vid == kept[chat], (chat, vid, kept)
