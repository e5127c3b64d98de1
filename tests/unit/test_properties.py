"""Property tests (Hypothesis): the frame parser and the routing rules under any input.

* Any text, bytes or JSON value given to either socket's parser either parses
  into a frame of a known type or raises ``FrameError`` with a documented code:
  never another exception (which would be a 500-like ``internal_error``).
* Any sequence of queue and volunteer operations leaves the router consistent:
  no chat held by two volunteers, no volunteer over capacity, no chat both
  waiting and held, and chats matched in the order they were queued (those sent
  back to the front first).
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from chat.kernel import error_codes
from chat import frames
from chat.kernel.exceptions import FrameError
from chat.frames import VISITOR_TYPES, VOLUNTEER_TYPES, parse_visitor, parse_volunteer
from chat.routing import QueueFull, Router

# The codes an error frame may carry (tests/unit/test_docs.py checks the docs list them).
DOCUMENTED = {c.name for c in error_codes.frame_codes()}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**60, max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=8,
)
FIELDS = ["type", "lang", "channel", "resume", "last_seq", "age", "gender", "municipality", "district",
          "first_contact", "id", "text", "active", "chat", "state", "services", "report", "topic", "violence"]
frame_like = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted({*VISITOR_TYPES, *VOLUNTEER_TYPES, "nope", ""}))},
    optional={f: json_values for f in FIELDS[1:]},
)
report_like = st.fixed_dictionaries({}, optional={
    "topic": st.sampled_from(["exposed", "both", "x", None]) | json_values,
    "violence": st.lists(st.sampled_from(["physical", "digital", "honour", "nope"]), max_size=4) | json_values,
    "age": json_values, "municipality": st.sampled_from(["0180", "0182", "other", "9999"]) | json_values,
})


def _check(parse, raw) -> None:  # type: ignore[no-untyped-def]
    try:
        frame = parse(raw)
    except FrameError as exc:
        assert exc.code in DOCUMENTED, exc.code
        return
    assert isinstance(frame, dict) and isinstance(frame["type"], str)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50), st.none(),
                 json_values.map(lambda v: json.dumps(v))))
def test_any_input_parses_or_gets_a_documented_error(raw) -> None:  # type: ignore[no-untyped-def]
    _check(parse_visitor, raw)
    _check(parse_volunteer, raw)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_like, report_like)
def test_frames_with_known_types_and_wild_fields_never_break_the_parser(frame, report) -> None:  # type: ignore[no-untyped-def]
    if frame["type"] == "wrapup" and "report" not in frame:
        frame["report"] = report
    raw = json.dumps(frame)
    _check(parse_visitor, raw)
    _check(parse_volunteer, raw)


class RouterMachine(RuleBasedStateMachine):
    """Random operations on a Router, with a model of who holds what."""

    def __init__(self) -> None:
        super().__init__()
        self.r = Router(max_queue=6)
        self.now = 0.0
        self.n = 0
        self.vols: dict[str, int] = {}             # volunteer -> capacity
        self.held: dict[str, str] = {}             # chat -> volunteer
        self.order: list[str] = []                 # expected matching order of waiting chats

    def tick(self) -> float:
        self.now += 1.0
        return self.now

    @rule(lang=st.sampled_from(["sv", "en"]), front=st.booleans())
    def enqueue(self, lang: str, front: bool) -> None:
        self.n += 1
        chat = f"c{self.n}"
        try:
            self.r.enqueue(chat, lang, self.tick(), front=front)
        except QueueFull:
            assert not front and len(self.order) >= 6
            return
        if front:
            self.order.insert(0, chat)
        else:
            self.order.append(chat)

    @precondition(lambda self: self.order)
    @rule(data=st.data())
    def leave_queue(self, data: st.DataObject) -> None:
        chat = data.draw(st.sampled_from(self.order))
        assert self.r.dequeue(chat)
        self.order.remove(chat)

    @rule(vid=st.sampled_from(["a", "b", "c"]), capacity=st.integers(1, 3), available=st.booleans(),
          langs=st.sampled_from([("sv",), ("en",), ("sv", "en")]))
    def set_volunteer(self, vid: str, capacity: int, available: bool, langs: tuple[str, ...]) -> None:
        self.r.set_volunteer(vid, languages=frozenset(langs), capacity=capacity, available=available,
                             now=self.tick())
        self.vols[vid] = capacity

    @precondition(lambda self: self.held)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        chat = data.draw(st.sampled_from(sorted(self.held)))
        self.r.release(self.held.pop(chat), chat, self.tick(), duration_s=60.0)

    @precondition(lambda self: self.vols)
    @rule(data=st.data())
    def volunteer_gone(self, data: st.DataObject) -> None:
        vid = data.draw(st.sampled_from(sorted(self.vols)))
        chats = self.r.remove_volunteer(vid)
        assert chats == {c for c, v in self.held.items() if v == vid}
        del self.vols[vid]
        for chat in sorted(chats, key=lambda c: int(c[1:]), reverse=True):
            del self.held[chat]
            self.r.enqueue(chat, "sv", self.tick(), front=True)      # back to the front, never refused
            self.order.insert(0, chat)

    @rule()
    def match(self) -> None:
        pairs = self.r.match(self.tick())
        matched = [chat for chat, _ in pairs]
        assert matched == self.order[:len(matched)], "chats must be matched in queue order"
        for chat, vid in pairs:
            assert chat not in self.held, "a chat given twice"
            self.held[chat] = vid
        for vid in {vid for _, vid in pairs}:
            load = sum(1 for v in self.held.values() if v == vid)
            assert load <= self.vols[vid], "a volunteer given more chats than its capacity"
        del self.order[:len(matched)]

    @invariant()
    def consistent(self) -> None:
        loads: dict[str, int] = {}
        for vid in self.held.values():
            loads[vid] = loads.get(vid, 0) + 1
        for vid, load in loads.items():
            assert self.r.load(vid) == load
        assert list(self.r.positions()) == self.order
        assert not set(self.order) & set(self.held)


RouterMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_router_stays_consistent_under_any_operations = RouterMachine.TestCase


def _outcome(decode, raw):  # type: ignore[no-untyped-def]
    try:
        return decode(raw)
    except FrameError as exc:
        return (exc.code, exc.detail)


def _stdlib_decode(raw):  # type: ignore[no-untyped-def]
    """chat.frames.decode as it was before msgspec: json.loads only."""
    real = frames._JSON
    try:
        frames._JSON = _Refuses()  # type: ignore[assignment]
        return frames.decode(raw)
    finally:
        frames._JSON = real


class _Refuses:
    """A decoder that refuses everything, so chat.frames.decode takes its json.loads path."""

    def decode(self, raw):  # type: ignore[no-untyped-def]
        raise ValueError("refused")


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps), frame_like.map(json.dumps),
                 st.sampled_from(['{"type": "message", "id": 1, "text": "\\ud800"}', '{"type": "x", "a": NaN}',
                                  '{"type": "x", "a": 1e400}', '{"type": "x", "a": ' + "9" * 5000 + "}",
                                  "[" * 100_000 + "]" * 100_000, '{"type": "x"} trailing', "\ufeff{}"])))
def test_msgspec_decodes_every_frame_as_the_standard_library_does(raw) -> None:  # type: ignore[no-untyped-def]
    assert _outcome(frames.decode, raw) == _outcome(_stdlib_decode, raw)
