"""chat/routing.py: topic chats and specialists, with the clock passed in.

The rule (contract, "Topic and specialists"): a chat whose topic is a skill some
volunteer on duty holds goes to a free volunteer with that skill first; while all
of them are busy it waits up to the specialist wait, then goes to anyone; with none
on duty it goes at once. A chat kept for a specialist never blocks those behind it.
"""

from __future__ import annotations

import random

from chat.routing import Router

WAIT = 120.0


def add(r: Router, vid: str, *, skills: tuple[str, ...] = (), langs: tuple[str, ...] = ("sv",),
        capacity: int = 1, available: bool = True, now: float = 0.0) -> None:
    r.set_volunteer(vid, languages=frozenset(langs), capacity=capacity, available=available,
                    now=now, skills=frozenset(skills))


def test_a_topic_chat_goes_to_the_specialist_even_when_another_is_freer() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "idle_long", now=0.0)                   # freer: idle longer
    add(r, "spec", skills=("uses_violence",), now=50.0)
    r.enqueue("c", "sv", 60.0, skill="uses_violence")
    assert r.match(61.0) == [("c", "spec")]


def test_a_chat_without_topic_keeps_the_specialist_free_at_equal_load() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",), now=0.0)
    add(r, "other", now=10.0)
    r.enqueue("c", "sv", 20.0)
    assert r.match(21.0) == [("c", "other")]       # not the longer idle specialist
    r.enqueue("c2", "sv", 22.0)
    assert r.match(23.0) == [("c2", "spec")]       # but the specialist rather than a wait


def test_a_less_loaded_specialist_still_takes_a_plain_chat() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",), capacity=2)
    add(r, "other", capacity=2)
    r.hold("other", "x", 0.0)
    r.enqueue("c", "sv", 1.0)
    assert r.match(2.0) == [("c", "spec")]


def test_a_topic_chat_waits_while_every_specialist_is_busy_then_goes_to_anyone() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    add(r, "other")
    r.hold("spec", "first", 0.0)                   # the specialist is busy
    r.enqueue("topic", "sv", 10.0, skill="uses_violence")
    assert r.match(11.0) == []
    assert r.holding_for_specialist(11.0) == {"topic": 10.0 + WAIT}
    assert r.match(10.0 + WAIT - 0.001) == []
    assert r.match(10.0 + WAIT) == [("topic", "other")]


def test_a_waiting_topic_chat_takes_the_specialist_who_frees_up() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    add(r, "other", capacity=2)
    r.hold("spec", "earlier", 0.0)
    r.hold("other", "x", 0.0)
    r.enqueue("topic", "sv", 10.0, skill="uses_violence")
    assert r.match(11.0) == []
    r.release("spec", "earlier", 30.0)
    assert r.match(31.0) == [("topic", "spec")]


def test_with_no_specialist_on_duty_a_topic_chat_is_routed_at_once() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "other")
    add(r, "paused_spec", skills=("uses_violence",), available=False)   # paused: not on duty
    r.enqueue("topic", "sv", 0.0, skill="uses_violence")
    assert r.match(1.0) == [("topic", "other")]


def test_a_specialist_of_another_skill_does_not_hold_the_chat() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "honour", skills=("honour",), capacity=1)
    r.enqueue("topic", "sv", 0.0, skill="uses_violence")
    assert r.match(1.0) == [("topic", "honour")]


def test_fifo_a_chat_kept_for_a_specialist_does_not_block_those_behind_it() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    r.hold("spec", "busy", 0.0)
    add(r, "a")
    add(r, "b")
    r.enqueue("topic", "sv", 1.0, skill="uses_violence")
    r.enqueue("plain1", "sv", 2.0)
    r.enqueue("plain2", "sv", 3.0)
    r.enqueue("plain3", "sv", 4.0)
    pairs = r.match(5.0)
    assert [c for c, _ in pairs] == ["plain1", "plain2"]
    assert r.positions() == {"topic": 1, "plain3": 2}    # it keeps its place at the front
    r.release("a", "plain1", 6.0)
    # still within the wait: the freed non-specialist takes the next plain chat
    assert r.match(7.0) == [("plain3", "a")]
    r.release("b", "plain2", 200.0)
    assert r.match(200.0) == [("topic", "b")]              # past the wait: anyone


def test_fallback_keeps_arrival_order_with_those_behind() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    r.hold("spec", "busy", 0.0)
    r.enqueue("topic", "sv", 0.0, skill="uses_violence")
    r.enqueue("plain", "sv", 5.0)
    add(r, "a", now=WAIT + 1)
    assert r.match(WAIT + 1) == [("topic", "a")]          # fell back: first in line again


def test_capacity_counts_for_specialists() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",), capacity=2)
    add(r, "other", capacity=5)
    for i in range(3):
        r.enqueue(f"t{i}", "sv", float(i), skill="uses_violence")
    assert r.match(10.0) == [("t0", "spec"), ("t1", "spec")]
    assert r.load("spec") == 2
    assert r.match(11.0) == []                           # t2 waits: the specialist is full
    assert r.match(3.0 + 2 * WAIT) == [("t2", "other")]


def test_language_together_with_skill() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec_sv", skills=("uses_violence",), langs=("sv",), now=0.0)
    add(r, "spec_en", skills=("uses_violence",), langs=("en",), now=5.0)
    add(r, "plain_en", langs=("en",), now=0.0)
    r.enqueue("c_en", "en", 10.0, skill="uses_violence")
    # a specialist who speaks English, before the longer-idle English non-specialist
    assert r.match(11.0) == [("c_en", "spec_en")]
    r.enqueue("c2_en", "en", 12.0, skill="uses_violence")
    # no English-speaking specialist free: a specialist all the same, before the English speaker
    assert r.match(13.0) == [("c2_en", "spec_sv")]


def test_the_specialist_wait_is_counted_from_when_the_chat_began_waiting() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    r.hold("spec", "busy", 0.0)
    add(r, "other")
    # the topic was answered 100 s into the wait: 20 s are left
    r.enqueue("topic", "sv", 100.0, skill="uses_violence", since=0.0)
    assert r.match(100.0) == []
    assert r.match(WAIT) == [("topic", "other")]


def test_zero_wait_means_a_specialist_only_when_free() -> None:
    r = Router(specialist_wait_s=0.0)
    add(r, "spec", skills=("uses_violence",))
    r.hold("spec", "busy", 0.0)
    add(r, "other")
    r.enqueue("topic", "sv", 0.0, skill="uses_violence")
    assert r.match(0.0) == [("topic", "other")]


def test_the_estimate_of_a_kept_chat_is_honest() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    r.hold("spec", "busy", 0.0)
    for i in range(4):
        add(r, f"v{i}")
        r.hold(f"v{i}", f"b{i}", 0.0)
    r.enqueue("topic", "sv", 0.0, skill="uses_violence")
    r.enqueue("plain", "sv", 1.0)
    plain_est = r.estimated_wait(1)
    topic_est = r.estimate_for("topic", 1.0)
    # no sooner than its place in line, and no later than its fallback plus its place
    assert topic_est >= plain_est
    assert topic_est <= Router.round_wait(WAIT - 1.0 + r.wait_per_position())
    # a chat without topic is estimated by its place alone
    assert r.estimate_for("plain", 1.0) == r.estimated_wait(2)


def test_random_cases_never_break_capacity_or_hand_out_a_chat_twice() -> None:
    rng = random.Random(18)
    for _ in range(300):
        r = Router(specialist_wait_s=rng.choice([0.0, 30.0, WAIT]))
        caps = {}
        for i in range(rng.randint(1, 6)):
            caps[f"v{i}"] = rng.randint(1, 3)
            add(r, f"v{i}", capacity=caps[f"v{i}"], langs=(rng.choice(["sv", "en"]),),
                skills=tuple(rng.sample(["uses_violence", "honour", "exposed"], rng.randint(0, 2))),
                available=rng.random() > 0.2)
        chats = [f"c{i}" for i in range(rng.randint(0, 12))]
        for i, c in enumerate(chats):
            r.enqueue(c, rng.choice(["sv", "en"]), float(i),
                      skill=rng.choice([None, "uses_violence", "honour", "both"]))
        now = rng.uniform(0, 300)
        held = r.holding_for_specialist(now)
        pairs = r.match(now)
        assigned = [c for c, _ in pairs]
        assert len(assigned) == len(set(assigned))
        assert not set(assigned) & set(held)              # a kept chat is not handed out
        for vid, cap in caps.items():
            assert r.load(vid) <= cap
        # nothing left that could go: every chat still waiting is kept, or nobody is free
        free = [v for v in caps if r.load(v) < caps[v] and r._volunteers[v].available]
        if free:
            assert set(r.positions()) <= set(r.holding_for_specialist(now))


def test_an_earlier_plain_chat_does_not_take_the_specialist_a_topic_chat_needs() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",), now=0.0)      # idle the longest: a plain chat's first choice
    add(r, "other", now=5.0)
    r.enqueue("plain", "sv", 10.0)
    r.enqueue("topic", "sv", 11.0, skill="uses_violence")
    assert r.match(12.0) == [("plain", "other"), ("topic", "spec")]     # reported in arrival order


def test_with_only_the_specialist_free_the_topic_chat_has_it() -> None:
    r = Router(specialist_wait_s=WAIT)
    add(r, "spec", skills=("uses_violence",))
    r.enqueue("plain", "sv", 10.0)
    r.enqueue("topic", "sv", 11.0, skill="uses_violence")
    assert r.match(12.0) == [("topic", "spec")]
    assert r.positions() == {"plain": 1}


def test_a_thousand_by_a_thousand_with_ten_percent_specialists_all_go_at_once() -> None:
    r = Router(specialist_wait_s=WAIT)
    for i in range(1000):
        add(r, f"v{i}", skills=("uses_violence",) if i < 100 else (), now=float(i % 7))
    for i in range(1000):
        r.enqueue(f"c{i}", "sv", 100.0 + i, skill="uses_violence" if i % 10 == 0 else None)
    pairs = dict(r.match(2000.0))
    assert len(pairs) == 1000 and r.waiting() == 0
    assert all(int(pairs[f"c{i}"][1:]) < 100 for i in range(0, 1000, 10))     # every topic chat to a specialist
