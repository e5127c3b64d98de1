"""A Hypothesis state machine over whole socket sessions against the real server.

Visitors and volunteers (and a supervisor) drive the app through real WebSocket
connections: hellos in Swedish and English, intake, lines, resends, typing, bad
frames of every kind, resumes with good, stale and made-up tokens and with
``last_seq`` below, at and beyond the end, abrupt disconnects, leaving; consoles
sign in, go available and paused, end, refer, wrap up, transfer, escalate,
observe, join, take over, disconnect and come back; the clock jumps past the
grace periods and idle limits and the hubs' ``tick()`` runs.

After every step the test waits until the server has handled every frame sent
(a counter around the receive loop) and its outboxes are empty, then checks:

* the broker's state: no chat held by two volunteers, no volunteer over its
  capacity (a supervisor's takeovers aside, which the protocol allows), every
  queued chat in the queue and held by nobody, every active chat held by exactly
  the volunteer it names, replay logs without two lines of one seq;
* what clients saw: lines strictly increasing in seq per connection (and per chat
  stream on a console), never a seq at or below a resume's ``last_seq``, one seq
  always the same line whoever sees it, a resent line acked with its first seq,
  no line for a chat the console neither holds nor observes, no chat believed
  held by two consoles, and nothing lost: every line acked to one side of an
  active chat has reached the other side's open connection;
* every bad frame answered by an ``error`` with its documented code, every good
  frame answered without one, no ``internal_error``, no close the client cannot
  explain, no error logged by the server, the hub healthy, and at the end a new
  chat still opens.

Runs on the memory broker with one in-process server, and (fewer examples) on
real Redis with two in-process servers sharing it. Examples are derandomized so
CI runs the same ones every time; ``JOURCHATT_TEST_FUZZ_SCALE=10`` runs ten times
as many random ones, twice as long, to hunt for bugs (``JOURCHATT_TEST_FUZZ_SHRINK=0``
reports a failure at once instead of shrinking it for up to five minutes). Each
run prints how many examples and steps it ran (``pytest -s``).

Bugs this found (each has a plain regression test): a resume's ``last_seq`` beyond
the chat's end swallowed later lines; a line resent after its id was reused was
delivered twice; a chat queued longer than the state TTL lost its log and token;
a console that replaced another got observed lines it never asked for, and a
supervisor given the chat they observed got every line twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

import httpx
import pytest
import uvicorn
import websockets
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from chat import endpoints, hub as hub_module, state as S
from chat.kernel.exceptions import FrameError
from chat.frames import parse_visitor, parse_volunteer
from chat.server import uvicorn_config
from referral import geography
from volunteer.models import Account

from ..conftest import CLIENT_OPTIONS, Running, fresh_redis, make_settings, postgres_database

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
ERROR_SECTION = DOC.split("\n## Error codes", 1)[1].split("\n## Close codes", 1)[0]
DOCUMENTED = set(re.findall(r"^\| `([a-z_]+)` \| (?:both|visitor|volunteer) \|", ERROR_SECTION, re.M))
# Codes that count towards MAX_BAD_FRAMES (docs/protocol.md, Error codes).
COUNTED = {"invalid_json", "invalid_frame", "frame_too_large", "unknown_type", "invalid_field", "text_too_long",
           "out_of_order", "chat_ended", "rate_limited", "unknown_chat", "replaced", "unknown_service",
           "ineligible_service", "supervisor_only", "unknown_alert", "transfer_refused"}
SCALE = int(os.environ.get("JOURCHATT_TEST_FUZZ_SCALE", "1"))
DEBUG_EXAMPLES = int(os.environ.get("JOURCHATT_TEST_FUZZ_EXAMPLES", "0"))
SHRINK = os.environ.get("JOURCHATT_TEST_FUZZ_SHRINK", "1") != "0"
OVERSIZE = 70 * 1024

# -- what the server did with each frame ----------------------------------------------
# Frames handled per connection (client port, server port), and connections whose
# receive loop has ended: together they tell when the server has dealt with every
# frame a client sent.
PROCESSED: Counter[tuple[int, int]] = Counter()
ENDED: set[tuple[int, int]] = set()
ORIGINAL_RECEIVE_LOOP = endpoints._receive_loop


async def counting_receive_loop(ws: Any, outbox: Any, handle: Any, hello_within: Any, established: Any) -> None:
    key = (ws.scope["client"][1], ws.scope["server"][1])

    async def counted(raw: Any) -> None:
        try:
            await handle(raw)
        finally:
            PROCESSED[key] += 1

    try:
        await ORIGINAL_RECEIVE_LOOP(ws, outbox, counted, hello_within, established)
    finally:
        ENDED.add(key)


class ErrorLog(logging.Handler):
    """Every record of level ERROR or above the server logs (a bug, or a failed write)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.msg if isinstance(record.msg, dict) else {"event": str(record.msg)}
        self.records.append(f"{record.name}: {msg.get('event')} {msg.get('exc_info') or ''}")


class Clock:
    """The hubs' clock: real start, moved on only by the machine (and by a microsecond a read)."""

    def __init__(self) -> None:
        self.base = time.time()
        self.offset = 0.0
        self.n = 0

    def __call__(self) -> float:
        self.n += 1
        return self.base + self.offset + self.n * 1e-6


# -- strategies -----------------------------------------------------------------------
TEXTS = st.one_of(
    st.sampled_from(["hej", "Hej! Vad vill du prata om?", "jag är rädd", "kön 😊", "  ett  ", "a\nb", "x" * 4000]),
    st.text(min_size=1, max_size=30).filter(lambda t: t.strip() != "" and "\ud800" not in t),
)
CLIENT_IDS = st.one_of(st.integers(0, 2**53 - 1), st.text(min_size=1, max_size=64))


def _parse_code(parse: Callable[[Any], Any], raw: Any) -> str | None:
    try:
        parse(raw)
    except FrameError as exc:
        return exc.code
    return None


def _dump(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# Raw frames the parser refuses: not JSON, not an object, no or an unknown type,
# known types with missing, mistyped or out-of-range fields, oversized values.
_json_leaf = st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False) | st.text(max_size=12)
_json_junk = _json_leaf | st.lists(_json_leaf, max_size=3) | st.dictionaries(
    st.text(max_size=6), _json_leaf | st.lists(_json_leaf, max_size=2), max_size=3)
_common_bad = st.one_of(
    st.sampled_from(["", "{", "nope", "[]", "null", "42", "\"hello\"", "{\"type\": 1}", "{\"type\": \"\"}",
                     "{\"nope\": true}", "{\"type\": \"dance\"}", "[" * 3000 + "]" * 3000,
                     "{\"type\": \"message\", \"id\": true, \"text\": \"x\"}",
                     "{\"type\": \"message\", \"id\": 1, \"text\": \"" + "y" * 4001 + "\"}",
                     "{\"type\": \"message\", \"id\": \"" + "i" * 65 + "\", \"text\": \"x\"}",
                     "{\"type\": \"message\", \"id\": -1, \"text\": \"x\"}",
                     "{\"type\": \"message\", \"id\": 9007199254740992, \"text\": \"x\"}",
                     "{\"type\": \"message\", \"id\": 1.5, \"text\": \"x\"}",
                     "{\"type\": \"message\", \"id\": 1, \"text\": \"   \"}",
                     "{\"type\": \"message\", \"id\": 1, \"text\": \"\\ud800\"}",
                     "{\"type\": \"typing\", \"active\": \"yes\"}"]),
    st.builds(lambda v: _dump(v), _json_junk),
    st.binary(max_size=20),
    st.text(max_size=40),
)
BAD_VISITOR = st.one_of(_common_bad, st.sampled_from([
    "{\"type\": \"hello\", \"lang\": \"de\"}", "{\"type\": \"hello\", \"channel\": \"Web Site\"}",
    "{\"type\": \"hello\", \"resume\": \"short\"}", "{\"type\": \"hello\", \"last_seq\": -1}",
    "{\"type\": \"hello\", \"last_seq\": 9007199254740992}", "{\"type\": \"hello\", \"last_seq\": 1.0}",
    "{\"type\": \"hello\", \"followup\": \"$$\"}", "{\"type\": \"intake\", \"age\": 121}",
    "{\"type\": \"intake\", \"age\": 0}", "{\"type\": \"intake\", \"age\": true}",
    "{\"type\": \"intake\", \"gender\": \"x\"}", "{\"type\": \"intake\", \"municipality\": \"9999\"}",
    "{\"type\": \"intake\", \"municipality\": \"0182\", \"district\": \"bromma\"}",
    "{\"type\": \"intake\", \"district\": \"atlantis\"}", "{\"type\": \"intake\", \"first_contact\": 2}",
    "{\"type\": \"status\", \"state\": \"available\"}", "{\"type\": \"end\", \"chat\": \"abcdefgh\"}",
])).filter(lambda raw: _parse_code(parse_visitor, raw) is not None)
BAD_VOLUNTEER = st.one_of(_common_bad, st.sampled_from([
    "{\"type\": \"status\", \"state\": \"busy\"}", "{\"type\": \"message\", \"chat\": \"x\", \"id\": 1, \"text\": \"a\"}",
    "{\"type\": \"end\"}", "{\"type\": \"end\", \"chat\": \"../../etc\"}", "{\"type\": \"refer\", \"chat\": \"abcdefgh\"}",
    "{\"type\": \"refer\", \"chat\": \"abcdefgh\", \"services\": []}",
    "{\"type\": \"refer\", \"chat\": \"abcdefgh\", \"services\": [\"BAD ID\"]}",
    "{\"type\": \"refer\", \"chat\": \"abcdefgh\", \"services\": [\"umo\"], \"facts\": {\"name\": \"x\"}}",
    "{\"type\": \"wrapup\", \"chat\": \"abcdefgh\", \"report\": {}}",
    "{\"type\": \"wrapup\", \"chat\": \"abcdefgh\", \"report\": {\"topic\": \"weather\"}}",
    "{\"type\": \"wrapup\", \"chat\": \"abcdefgh\", \"report\": {\"topic\": \"other\", \"violence\": [\"x\"]}}",
    "{\"type\": \"wrapup\", \"chat\": \"abcdefgh\", \"report\": 3}", "{\"type\": \"hello\", \"lang\": \"sv\"}",
    "{\"type\": \"leave\"}", "{\"type\": \"block\", \"chat\": \"abcdefgh\", \"hours\": 5}",
    "{\"type\": \"transfer\", \"chat\": \"abcdefgh\", \"to\": {\"queue\": \"de\"}}",
    "{\"type\": \"escalate\", \"chat\": \"abcdefgh\", \"kind\": \"panic\"}",
    "{\"type\": \"dismiss\", \"alert\": \"xyz\"}", "{\"type\": \"observe\", \"chat\": \"abcdefgh\"}",
])).filter(lambda raw: _parse_code(parse_volunteer, raw) is not None)
INTAKES = st.fixed_dictionaries({}, optional={
    "age": st.one_of(st.none(), st.integers(1, 120)),
    "gender": st.sampled_from([None, "girl", "boy", "nonbinary", "not_stated"]),
    "municipality": st.sampled_from([None, "0180", "0182", "other"]),
    "district": st.sampled_from([None, "bromma", "sodermalm"]),
    "first_contact": st.sampled_from([None, True, False, "yes", "no", "not_stated"]),
}).filter(lambda d: _parse_code(parse_visitor, _dump({"type": "intake", **d})) is None)
REPORTS = st.one_of(
    st.fixed_dictionaries({"topic": st.sampled_from(["exposed", "uses_violence", "both", "other"])},
                          optional={"violence": st.lists(st.sampled_from(["physical", "digital", "sexual"]),
                                                         max_size=3),
                                    "age": st.integers(1, 120), "municipality": st.sampled_from(["0180", "other"])}),
    st.just({"non_data": "silent"}),
    st.sampled_from([{}, {"topic": "weather"}, {"topic": "other", "age": 0}, {"topic": "both", "violence": "all"}]),
)
SERVICES = st.sampled_from([["emergency-112"], ["umo"], ["emergency-112", "umo"], ["socialtjansten-nacka"],
                            ["rvc-city"], ["no-such-service"], ["emergency-112", "emergency-112"]])
ADVANCE = st.sampled_from([1.0, 25.0, 130.0, 650.0, 1000.0, 1900.0, 7 * 3600.0])
PICK = st.integers(0, 50)


# -- connections -------------------------------------------------------------------------
@dataclass(eq=False)
class Expect:
    what: str
    errors: frozenset[str] = frozenset()      # error codes this frame may get
    must_error: bool = False                   # ... and it must get one of them
    ack_id: Any = None                         # an ack with this id shows success
    ack_text: str | None = None
    reply: str | None = None                   # a frame of this type shows success
    reply_chat: str | None = None
    with_success: bool = False                 # the error may come along with the success frame


class Conn:
    def __init__(self, ws: Any, side: str, node: int, server_port: int) -> None:
        self.ws = ws
        self.side = side
        self.node = node
        self.key = (ws.local_address[1], server_port)
        PROCESSED[self.key] = 0
        ENDED.discard(self.key)
        self.frames: list[dict[str, Any]] = []
        self.done_upto = 0
        self.sent = 0
        self.closed = False
        self.close_code: int | None = None
        self.explained: set[int | None] = set()   # close codes this client can account for
        self.expects: list[Expect] = []
        self.bad = 0
        self.last_line = 0                        # visitor: highest line seq on this connection
        self.floor = 0                            # visitor: lines must come above this (a resume's last_seq)
        self.streams: dict[Any, int] = {}         # console: chat (or ("obs", chat)) -> highest seq since assigned
        self.welcomed = False
        self.resuming = False
        self.owner: Any = None
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass
        finally:
            rcvd = self.ws.protocol.close_rcvd
            self.close_code = rcvd.code if rcvd is not None else None
            self.closed = True

    async def send(self, data: str | bytes | dict[str, Any], expect: Expect | None = None) -> bool:
        if self.closed:
            return False
        try:
            await self.ws.send(data if isinstance(data, (str, bytes)) else _dump(data))
        except websockets.ConnectionClosed:
            return False
        self.sent += 1
        if expect is not None:
            self.expects.append(expect)
        return True

    async def abort(self) -> None:
        self.explained.add(None)
        self.explained.add(1006)
        self.ws.transport.abort()
        await asyncio.wait([self.task], timeout=5)

    async def close(self) -> None:
        self.explained.update({1000, None, 1006})
        try:
            await self.ws.close()
        except Exception:
            pass
        await asyncio.wait([self.task], timeout=5)


@dataclass(eq=False)
class VChat:
    """One chat as its visitor knows it (one resume token), across its connections."""

    n: int
    lang: str
    token: str | None = None
    chat: str | None = None
    conn: Conn | None = None
    seen: dict[int, Any] = field(default_factory=dict)     # seq -> what, from every connection
    lines: list[tuple[Any, str, int]] = field(default_factory=list)   # acked (id, text, seq)
    sent: dict[Any, list[str]] = field(default_factory=dict)         # id key -> texts sent
    ended: bool = False
    intake: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Vol:
    name: str
    id: str
    cookie: str
    role: str
    capacity: int
    conn: Conn | None = None
    state: str = "paused"
    holds: dict[str, None] = field(default_factory=dict)   # ordered sets: picks must not depend on ids
    wraps: dict[str, None] = field(default_factory=dict)
    seen: dict[str, set[int]] = field(default_factory=dict)
    sent: dict[tuple[str, Any], list[str]] = field(default_factory=dict)
    whispers: set[tuple[str, str]] = field(default_factory=set)
    next_id: int = 0


def _idkey(client_id: Any) -> str:
    return f"{'i' if isinstance(client_id, int) else 's'}:{client_id}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the machine -------------------------------------------------------------------------
@dataclass
class Env:
    make_settings: Callable[[], Any]
    accounts: dict[str, dict[str, Any]]        # name -> id, cookie, role, capacity
    nodes: int
    quiet_rounds: int
    prepare: Callable[[], Any] | None = None   # an async function run before the servers start


class SessionMachine(RuleBasedStateMachine):
    env: ClassVar[Env]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.servers: list[tuple[Running, uvicorn.Server, asyncio.Task[None]]] = []
        self.clock = Clock()
        self.conns: list[Conn] = []
        self.visitors: list[VChat] = []
        self.vols = {name: Vol(name=name, id=a["id"], cookie=a["cookie"], role=a["role"], capacity=a["capacity"])
                     for name, a in self.env.accounts.items()}
        self.ledger: dict[str, dict[int, Any]] = {}
        self.chat_order: list[str] = []              # chats in the order the clients first saw them
        self.vis_acked: dict[str, set[int]] = {}     # seqs acked to the visitor, per chat
        self.vol_acked: dict[str, set[int]] = {}     # seqs acked to a console (not whispers), per chat
        self.token_chat: dict[str, str | None] = {}  # resume token -> chat id, read from the broker
        self.taken_over: set[str] = set()
        self.followups: list[str] = []
        self.blocked = False
        self.failed = False
        self.steps = 0
        self.errors = ErrorLog()
        logging.getLogger().addHandler(self.errors)
        try:
            self.run(self._start())
        except BaseException:
            self.teardown()
            raise

    # -- plumbing ------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _start(self) -> None:
        if self.env.prepare is not None:
            await self.env.prepare()
        for _ in range(self.env.nodes):
            config = uvicorn_config(self.env.make_settings(), "127.0.0.1", 0)
            server = uvicorn.Server(config)
            task = asyncio.get_running_loop().create_task(server.serve())
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.005)
            port = server.servers[0].sockets[0].getsockname()[1]
            running = Running(settings=config.app.state.settings, app=config.app, port=port)
            self.servers.append((running, server, task))
            running.hub.clock = self.clock
            broker = running.app.state.broker
            if hasattr(broker, "_clock"):
                broker._clock = self.clock
        for running, _, _ in self.servers:
            await running.hub.tick()

    def teardown(self) -> None:
        try:
            if self.servers and not self.failed:
                self.run(self._finish())
        finally:
            try:
                self.run(self._stop())
            finally:
                logging.getLogger().removeHandler(self.errors)
                self.loop.close()

    async def _finish(self) -> None:
        """The end of every example: the server is still ready and a new chat still opens."""
        await self.settle()
        await self.resolve()
        self.absorb()
        for running, _, _ in self.servers:
            async with httpx.AsyncClient(base_url=running.http) as client:
                r = await client.get("/readyz")
                assert r.status_code == 200, r.text
        if not self.blocked:
            conn = await self.connect("visitor", 0)
            await conn.send({"type": "hello", "lang": "sv"})
            for _ in range(500):
                if conn.frames or conn.closed:
                    break
                await asyncio.sleep(0.01)
            assert conn.frames and conn.frames[0]["type"] == "welcome" and conn.frames[0]["open"], conn.frames
        assert not self.errors.records, self.errors.records

    async def _stop(self) -> None:
        for conn in self.conns:
            if not conn.closed:
                await conn.close()
        for running, server, task in self.servers:
            server.should_exit = True
            await asyncio.wait_for(task, 30)
        pending = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def hub(self, node: int) -> Any:
        return self.servers[node][0].hub

    @property
    def broker(self) -> Any:
        return self.servers[0][0].app.state.broker

    async def connect(self, side: str, node: int, cookie: str | None = None) -> Conn:
        running = self.servers[node % len(self.servers)][0]
        headers = {"Cookie": cookie} if cookie else {}
        ws = await websockets.connect(f"ws://127.0.0.1:{running.port}/ws/{side}", additional_headers=headers,
                                      **CLIENT_OPTIONS)
        conn = Conn(ws, side, node % len(self.servers), running.port)
        self.conns.append(conn)
        return conn

    async def settle(self) -> None:
        """Wait until every frame sent was handled, every outbox is empty and nothing more arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        last: tuple[int, int] | None = None
        quiet = 0
        while True:
            busy = [c for c in self.conns if not c.closed and c.key not in ENDED and PROCESSED[c.key] < c.sent]
            pending = sum(o.pending() for r, _, _ in self.servers for o in r.hub.outboxes.values())
            now = (sum(len(c.frames) for c in self.conns), sum(c.closed for c in self.conns))
            quiet = quiet + 1 if not busy and not pending and now == last else 0
            if quiet >= self.env.quiet_rounds:
                return
            assert loop.time() < deadline, f"the server never settled: {len(busy)} connections busy, {pending} frames"
            last = now
            await asyncio.sleep(0.004)

    def step(self, coro: Any) -> None:
        self.steps += 1
        try:
            self.run(coro)
            self.run(self.settle())
            self.run(self.resolve())
            self.absorb()
            self.run(self.check_server())
            self.check_clients()
        except BaseException:
            self.failed = True      # teardown then only stops the servers
            raise

    # -- what clients saw -------------------------------------------------------------
    def note(self, chat: str | None, seq: int, what: Any, where: str) -> None:
        if chat is None:
            return
        if chat not in self.ledger:
            self.chat_order.append(chat)
        book = self.ledger.setdefault(chat, {})
        if seq in book:
            assert book[seq] == what, f"seq {seq} of a chat was {book[seq]!r} and is now {what!r} ({where})"
        else:
            book[seq] = what

    def absorb(self) -> None:
        for conn in list(self.conns):
            frames = conn.frames[conn.done_upto:]
            conn.done_upto = len(conn.frames)
            errors: list[dict[str, Any]] = []
            for frame in frames:
                if frame["type"] == "error":
                    assert frame["code"] in DOCUMENTED, frame
                    assert frame["code"] != "internal_error", frame
                    assert isinstance(frame.get("detail"), str) and frame["detail"], frame
                    if frame["code"] in COUNTED:
                        conn.bad += 1
                    if frame["code"] == "too_many_errors":
                        assert conn.bad >= endpoints.MAX_BAD_FRAMES, (conn.bad, frame)
                        conn.explained.add(4400)
                        continue
                    errors.append(frame)
                if conn.side == "visitor":
                    self.visitor_frame(conn, frame)
                else:
                    self.console_frame(conn, frame)
            self.match_expectations(conn, frames, errors)
            if conn.closed and conn.close_code not in conn.explained:
                raise AssertionError(f"{conn.side} connection closed with {conn.close_code} unexplained; "
                                     f"last frames {conn.frames[-3:]}")
            if conn.closed and conn.side == "volunteer" and conn.owner is not None and conn.owner.conn is conn:
                conn.owner.holds.clear()

    def match_expectations(self, conn: Conn, frames: list[dict[str, Any]], errors: list[dict[str, Any]]) -> None:
        todo = list(errors)
        for exp in conn.expects:
            success = False
            if exp.ack_id is not None:
                success = any(f["type"] == "ack" and f["id"] == exp.ack_id for f in frames)
            elif exp.reply is not None:
                success = any(f["type"] == exp.reply and (exp.reply_chat is None or f.get("chat") == exp.reply_chat)
                              for f in frames)
            if todo and todo[0]["code"] in exp.errors and (exp.must_error or not success or exp.with_success):
                todo.pop(0)
                continue
            if conn.closed:
                continue            # the frame may never have been read
            assert not exp.must_error, f"{exp.what}: expected an error in {sorted(exp.errors)}, got {errors}"
            if exp.ack_id is not None or exp.reply is not None:
                assert success, f"{exp.what}: no {exp.reply or 'ack'} and no allowed error; got {frames}"
        conn.expects.clear()
        assert not todo, f"unexpected errors {todo} on a {conn.side} connection"

    def visitor_frame(self, conn: Conn, f: dict[str, Any]) -> None:
        vc: VChat = conn.owner
        kind = f["type"]
        if kind == "welcome":
            assert not conn.welcomed, f
            conn.welcomed = True
            if not f["open"]:
                assert f["resume_token"] is None
                return
            if f.get("resumed"):
                assert conn.resuming and f["resume_token"] == vc.token, f
            else:
                if conn.resuming:          # resume failed: a new chat, with a new token
                    if vc.conn is conn:
                        vc.conn = None
                    vc = VChat(n=len(self.visitors), lang=vc.lang)
                    self.visitors.append(vc)
                    conn.owner = vc
                    vc.conn = conn
                assert isinstance(f["resume_token"], str) and len(f["resume_token"]) == 43, f
                vc.token = f["resume_token"]
                vc.chat = self.token_chat.get(vc.token)
                if vc.chat is not None and vc.chat not in self.ledger:
                    self.chat_order.append(vc.chat)
                    self.ledger[vc.chat] = {}
        elif kind == "queued":
            assert f["position"] >= 1 and f["estimated_wait_s"] % 30 == 0 and f["estimated_wait_s"] >= 0, f
        elif kind in ("message", "referral"):
            seq = f["seq"]
            assert seq > conn.last_line, f"visitor got seq {seq} after {conn.last_line}: {f}"
            assert seq > conn.floor, f"visitor got seq {seq} at or below its resume point {conn.floor}: {f}"
            conn.last_line = seq
            if kind == "referral":
                what = ("ref", tuple(c["id"] for c in f["services"]))
                assert all(isinstance(c.get("code"), str) for c in f["services"]), f
            elif f["from"] == "system":
                what = ("sys", f["key"])
            else:
                assert f["from"] in ("visitor", "volunteer"), f
                what = ("line", f["text"])
            self.note(vc.chat, seq, what, "visitor")
            vc.seen[seq] = what
        elif kind == "ack":
            texts = vc.sent.get(_idkey(f["id"]), [])
            assert texts, f"ack for an id never sent: {f}"
            earlier = [s for (i, t, s) in vc.lines if _idkey(i) == _idkey(f["id"])]
            matched = [t for t in texts if ("line", t) == self.ledger.get(vc.chat or "", {}).get(f["seq"])]
            text = matched[0] if matched else texts[-1]
            if f["seq"] not in earlier:
                assert f["seq"] not in vc.seen, f"ack with a seq already used: {f}"
            self.note(vc.chat, f["seq"], ("line", text), "visitor ack")
            vc.seen[f["seq"]] = ("line", text)
            if (f["id"], text, f["seq"]) not in vc.lines:
                same = [s for (i, t, s) in vc.lines if _idkey(i) == _idkey(f["id"]) and t == text]
                assert not same or same == [f["seq"]], \
                    f"a resent line got a new seq: {f} (was {same}; texts sent {texts}, lines {vc.lines})"
                vc.lines.append((f["id"], text, f["seq"]))
            if vc.chat:
                self.vis_acked.setdefault(vc.chat, set()).add(f["seq"])
        elif kind == "ended":
            assert f["by"] in ("visitor", "volunteer", "timeout", "supervisor"), f
            vc.ended = True
            conn.explained.add(1000)
        elif kind == "closed":
            assert f["reason"] in ("out_of_hours", "full", "blocked") and f["services"], f
            conn.explained.add(1000)
            vc.ended = True
        elif kind == "assigned":
            assert isinstance(f["volunteer"], str), f
        elif kind == "typing":
            assert isinstance(f["active"], bool), f
        elif kind == "followup":
            self.followups.append(f["code"])
        elif kind == "followup_away":        # back with a code while its volunteer is not free
            assert f["key"] in ("followup_away", "followup_away_unbooked", "followup_busy"), f
            assert isinstance(f["volunteer"], str) and f["text"] and f["busy"] == (f["key"] == "followup_busy"), f
        elif kind == "error":
            pass
        else:
            raise AssertionError(f"unexpected frame on a visitor socket: {f}")

    def console_frame(self, conn: Conn, f: dict[str, Any]) -> None:
        vol: Vol = conn.owner
        kind = f["type"]
        chat = f.get("chat")
        if kind == "welcome":
            assert not conn.welcomed and f["capacity"] == vol.capacity and f["state"] in ("available", "paused"), f
            conn.welcomed = True
            vol.state = f["state"]
        elif kind == "status":
            vol.state = f["state"]
        elif kind == "assigned":
            if chat not in self.ledger:
                self.chat_order.append(chat)
                self.ledger[chat] = {}
            conn.streams[chat] = 0
            if vol.conn is conn:
                vol.holds[chat] = None
                vol.wraps.pop(chat, None)
        elif kind in ("message", "referred"):
            key = ("obs", chat) if f.get("observed") else chat
            assert key in conn.streams, f"a line for a chat this console neither holds nor observes: {f}"
            assert f["seq"] > conn.streams[key], f"console got seq {f['seq']} after {conn.streams[key]}: {f}"
            conn.streams[key] = f["seq"]
            if kind == "referred":
                what = ("ref", tuple(f["services"]))
            elif f["from"] == "system":
                what = ("sys", f["key"])
            else:
                assert f["from"] in ("visitor", "volunteer", "supervisor", "whisper"), f
                what = ("line", f["text"])
            self.note(chat, f["seq"], what, "console")
            vol.seen.setdefault(chat, set()).add(f["seq"])
        elif kind == "ack":
            texts = vol.sent.get((chat, _idkey(f["id"])), [])
            assert texts, f"ack for an id never sent: {f}"
            matched = [t for t in texts if ("line", t) == self.ledger.get(chat, {}).get(f["seq"])]
            self.note(chat, f["seq"], ("line", matched[0] if matched else texts[-1]), "console ack")
            vol.seen.setdefault(chat, set()).add(f["seq"])
            if (chat, _idkey(f["id"])) not in vol.whispers:
                self.vol_acked.setdefault(chat, set()).add(f["seq"])
            key = ("obs", chat) if ("obs", chat) in conn.streams else chat
            if key in conn.streams:
                conn.streams[key] = max(conn.streams[key], f["seq"]) if key == chat else conn.streams[key]
        elif kind == "ended":
            assert f["by"] in ("visitor", "volunteer", "timeout", "supervisor"), f
            conn.streams.pop(chat, None)
            if vol.conn is conn:
                vol.holds.pop(chat, None)
                if f["wrapup_due"]:
                    vol.wraps[chat] = None
        elif kind == "wrapup_saved":
            vol.wraps.pop(chat, None)
        elif kind == "released":
            assert f["reason"] in ("takeover", "transfer"), f
            conn.streams.pop(chat, None)
            vol.holds.pop(chat, None)
        elif kind == "observing":
            if f["active"]:
                conn.streams[("obs", chat)] = 0
            else:
                conn.streams.pop(("obs", chat), None)
        elif kind == "overview":
            for v in f["volunteers"]:
                assert 0 <= v["load"], f
        elif kind in ("presence", "intake", "typing", "observed", "transferred", "escalated", "followup_given",
                      "followup_returned", "blocked", "error"):
            pass
        else:
            raise AssertionError(f"unexpected frame on a console: {f}")

    async def resolve(self) -> None:
        """The chat id behind every new token a visitor was given (absorb needs it, and is not async)."""
        for conn in self.conns:
            for f in conn.frames[conn.done_upto:]:
                token = f.get("resume_token") if f["type"] == "welcome" else None
                if token and token not in self.token_chat:
                    self.token_chat[token] = await self.chat_of(token)

    async def chat_of(self, token: str) -> str | None:
        return await self.broker.read(lambda tx: tx.get(S.token_key(_token_hash(token)), watch=False))

    def check_clients(self) -> None:
        holders: dict[str, list[str]] = {}
        for vol in self.vols.values():
            if vol.conn is not None and not vol.conn.closed:
                for chat in vol.holds:
                    holders.setdefault(chat, []).append(vol.name)
        for chat, names in holders.items():
            assert len(names) == 1, f"consoles {names} each believe they hold one chat"

    # -- the broker's state -----------------------------------------------------------
    async def snapshot(self) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], list[str], dict[str, list[float]]]:
        broker = self.broker
        if broker.shared:
            chat_keys = [k async for k in broker.r.scan_iter(match="jc:chat:*")]
            vol_keys = [k async for k in broker.r.scan_iter(match="jc:vol:*")]
        else:
            chat_keys = [k for k in list(broker.data) if k.startswith("jc:chat:") and broker._live(k) is not None]
            vol_keys = [k for k in list(broker.data) if k.startswith("jc:vol:") and broker._live(k) is not None]
        chat_ids = [k.split(":", 2)[2] for k in chat_keys]

        async def fn(tx: Any) -> Any:
            craws = await tx.hgetall_many(chat_keys, watch=False) if chat_keys else []
            vraws = await tx.hgetall_many(vol_keys, watch=False) if vol_keys else []
            queue = [m for m, _ in await tx.zrange(S.QUEUE, watch=False)]
            logs = {c: [s for _, s in await tx.zrange(S.log_key(c), watch=False)] for c in chat_ids}
            return craws, vraws, queue, logs

        craws, vraws, queue, logs = await broker.read(fn)
        return (dict(zip(chat_ids, craws)), {k.split(":", 2)[2]: r for k, r in zip(vol_keys, vraws)}, queue, logs)

    async def check_server(self) -> None:
        for running, _, _ in self.servers:
            assert running.hub.healthy(), "a hub background task stopped"
        assert not self.errors.records, self.errors.records
        chats, vols, queue, logs = await self.snapshot()
        owners: dict[str, list[str]] = {}
        for vid, raw in vols.items():
            held = {c for c in raw.get("chats", "").split(",") if c}
            wraps = {i.partition("@")[0] for i in raw.get("wraps", "").split(",") if i}
            assert not held & wraps, f"a chat both held and awaiting its wrap-up: {raw}"
            for c in held | wraps:
                owners.setdefault(c, []).append(vid)
            cap = int(raw.get("capacity") or 1)
            assert len((held | wraps) - self.taken_over) <= cap, f"volunteer over capacity {cap}: {raw}"
            for c in held:
                st = chats.get(c)
                assert st is not None and st["state"] == "active" and st["vol"] == vid, \
                    f"volunteer holds chat {c} that is {st}"
            for c in wraps:
                st = chats.get(c)
                assert st is None or (st["state"] == "ended" and st["vol"] == vid), \
                    f"volunteer owes a wrap-up for chat {c} that is {st}"
        for c, names in owners.items():
            assert len(names) == 1, f"chat {c} held by {len(names)} volunteers"
        assert len(queue) == len(set(queue))
        for c in queue:
            st = chats.get(c)
            assert st is not None and st["state"] == "queued" and not st.get("vol"), f"queued chat is {st}"
            assert c not in owners, f"a queued chat is held by {owners[c]}"
        for c, st in chats.items():
            if st.get("state") == "queued":
                assert c in queue, f"a queued chat is not in the queue: {st}"
            elif st.get("state") == "active":
                assert st.get("vol") and owners.get(c) == [st["vol"]], f"active chat {st} owned by {owners.get(c)}"
                assert c not in queue
            elif st.get("state") == "ended":
                assert st.get("vol") and owners.get(c) == [st["vol"]], f"ended chat {st} owned by {owners.get(c)}"
            seqs = logs.get(c, [])
            assert len(seqs) == len(set(seqs)), f"two log lines with one seq in chat {c}"
            assert not seqs or max(seqs) <= int(st.get("seq") or 0), f"log beyond the chat's seq: {st}"
        # Nothing lost: lines acked to one side of an active chat reached the other side.
        for vc in self.visitors:
            if vc.chat is None:
                continue
            st = chats.get(vc.chat)
            if st is None or st.get("state") != "active":
                continue
            conn = vc.conn
            if conn is not None and not conn.closed and conn.welcomed and not vc.ended:
                # Lines at or below a resume's last_seq the client claimed to have: not the server's to resend.
                missing = sorted(s for s in self.vol_acked.get(vc.chat, set()) - set(vc.seen) if s > conn.floor)
                assert not missing, f"lines {missing} acked to the volunteer never reached the visitor"
            holder = next((v for v in self.vols.values() if v.id == st["vol"]), None)
            if holder is not None and holder.conn is not None and not holder.conn.closed \
                    and vc.chat in holder.holds:
                missing = sorted(self.vis_acked.get(vc.chat, set()) - holder.seen.get(vc.chat, set()))
                assert not missing, f"lines {missing} acked to the visitor never reached the volunteer"

    @invariant()
    def settled_and_consistent(self) -> None:
        # Checked inside each step (step()); here only the start of an example.
        if self.steps == 0:
            self.run(self.check_server())

    # -- visitors --------------------------------------------------------------------
    def live_visitors(self) -> list[VChat]:
        return [v for v in self.visitors if v.conn is not None and not v.conn.closed and v.conn.welcomed
                and v.token and not v.ended]

    def resumable(self) -> list[VChat]:
        return [v for v in self.visitors if v.token]

    async def _hello(self, node: int, lang: str, intake: dict[str, Any] | None, followup: int | None,
                     before: str | None = None) -> None:
        conn = await self.connect("visitor", node)
        vc = VChat(n=len(self.visitors), lang=lang, conn=conn)
        conn.owner = vc
        self.visitors.append(vc)
        if before is not None:
            code = _parse_code(parse_visitor, before)
            await conn.send(before, Expect("before hello", frozenset({code or "out_of_order"}), must_error=True))
        hello: dict[str, Any] = {"type": "hello", "lang": lang, "channel": "web"}
        errors: set[str] = set()
        if followup is not None:
            hello["followup"] = self.followups[followup % len(self.followups)] if self.followups else "ABCD-EFGH"
            errors.add("followup_unknown")
        await conn.send(hello, Expect("hello", frozenset(errors), reply="welcome", with_success=True))
        if intake is not None:
            await conn.send({"type": "intake", **intake}, self.intake_expect(vc, intake))

    @initialize(consoles=st.sampled_from([(), ("anna",), ("anna", "bo"), ("bo", "sara"), ("anna", "bo", "sara")]),
                visitors=st.integers(0, 3), langs=st.lists(st.sampled_from(["sv", "en"]), min_size=3, max_size=3))
    def shift_starts(self, consoles: tuple[str, ...], visitors: int, langs: list[str]) -> None:
        """Most examples start mid-shift: some consoles available, some visitors in chats."""
        for i, name in enumerate(consoles):
            self.volunteer_connects(name, i, True)
        for i in range(visitors):
            self.visitor_arrives(i, langs[i], None, None)

    @rule(node=st.integers(0, 1), lang=st.sampled_from(["sv", "en"]), intake=st.none() | INTAKES,
          followup=st.none() | st.integers(0, 5))
    def visitor_arrives(self, node: int, lang: str, intake: dict[str, Any] | None, followup: int | None) -> None:
        self.step(self._hello(node, lang, intake, followup))

    def visitor_speaks_before_hello(self, node: int, before: str) -> None:
        self.step(self._hello(node, "sv", None, None, before=before))

    @rule(pick=PICK, text=TEXTS, client_id=CLIENT_IDS)
    def visitor_writes(self, pick: int, text: str, client_id: Any) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        vc.sent.setdefault(_idkey(client_id), []).append(text)
        self.step(vc.conn.send({"type": "message", "id": client_id, "text": text},  # type: ignore[union-attr]
                               Expect("visitor line", ack_id=client_id)))

    @rule(pick=PICK, which=PICK, same_text=st.booleans())
    def visitor_resends(self, pick: int, which: int, same_text: bool) -> None:
        vcs = [v for v in self.live_visitors() if v.lines]
        if not vcs:
            return
        vc = vcs[pick % len(vcs)]
        client_id, text, _seq = vc.lines[which % len(vc.lines)]
        if not same_text:
            text = text + " (igen)" if len(text) < 3990 else "ny"
        vc.sent.setdefault(_idkey(client_id), []).append(text)
        self.step(vc.conn.send({"type": "message", "id": client_id, "text": text},  # type: ignore[union-attr]
                               Expect("visitor resend", ack_id=client_id)))

    @rule(pick=PICK, active=st.booleans())
    def visitor_types(self, pick: int, active: bool) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        self.step(vc.conn.send({"type": "typing", "active": active}, Expect("typing")))  # type: ignore[union-attr]

    @rule(pick=PICK, intake=INTAKES)
    def visitor_answers_intake(self, pick: int, intake: dict[str, Any]) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        self.step(vc.conn.send({"type": "intake", **intake}, self.intake_expect(vc, intake)))  # type: ignore

    @staticmethod
    def intake_expect(vc: VChat, intake: dict[str, Any]) -> Expect:
        district = intake.get("district")
        if district and "municipality" not in intake and not geography.valid_district(
                vc.intake.get("municipality"), district):
            return Expect("intake, district outside the municipality", frozenset({"invalid_field"}),
                          must_error=True)
        vc.intake.update(intake)
        if "municipality" in intake and "district" not in intake:
            vc.intake["district"] = None
        return Expect("intake")

    def visitor_sends_a_bad_frame(self, pick: int, raw: str | bytes) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        code = _parse_code(parse_visitor, raw)
        self.step(vc.conn.send(raw, Expect(f"bad frame {raw!r:.60}", frozenset({code}), must_error=True)))  # type: ignore

    def visitor_says_hello_twice(self, pick: int) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        self.step(vc.conn.send({"type": "hello", "lang": "sv"},  # type: ignore[union-attr]
                               Expect("second hello", frozenset({"out_of_order"}), must_error=True)))

    def visitor_floods_bad_frames(self, pick: int, n: int) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]

        async def flood() -> None:
            for i in range(n):
                await vc.conn.send(f"garbage {i}",  # type: ignore[union-attr]
                                   Expect("garbage", frozenset({"invalid_json"}), must_error=True))
        self.step(flood())

    def visitor_sends_an_oversized_frame(self, pick: int) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        vc.conn.explained.add(1009)  # type: ignore[union-attr]
        self.step(vc.conn.send(_dump({"type": "message", "id": 1, "text": "z" * OVERSIZE})))  # type: ignore

    @rule(pick=PICK, abrupt=st.booleans())
    def visitor_drops(self, pick: int, abrupt: bool) -> None:
        vcs = [v for v in self.visitors if v.conn is not None and not v.conn.closed]
        if not vcs:
            return
        conn = vcs[pick % len(vcs)].conn
        self.step(conn.abort() if abrupt else conn.close())  # type: ignore[union-attr]

    @rule(pick=PICK)
    def visitor_leaves(self, pick: int) -> None:
        if not self.live_visitors():
            return
        vc = self.live_visitors()[pick % len(self.live_visitors())]
        self.step(vc.conn.send({"type": "leave"}, Expect("leave", reply="ended")))  # type: ignore[union-attr]

    @rule(pick=PICK, node=st.integers(0, 1),
          mode=st.sampled_from(["max", "zero", "lower", "beyond", "huge", "none"]))
    def visitor_resumes(self, pick: int, node: int, mode: str) -> None:
        if not self.resumable():
            return
        vc = self.resumable()[pick % len(self.resumable())]

        async def resume() -> None:
            assert vc.token is not None
            top = max(vc.seen, default=0)
            last = {"max": top, "zero": 0, "lower": max(0, top - 2), "beyond": top + 1000,
                    "huge": 2**53 - 1, "none": None}[mode]
            chat = await self.chat_of(vc.token)
            now_seq = 0
            if chat is not None:
                raw = await self.broker.read(lambda tx: tx.hgetall(S.chat_key(chat), watch=False))
                now_seq = int(raw.get("seq") or 0)
            old = vc.conn
            conn = await self.connect("visitor", node)
            conn.owner, conn.resuming = vc, True
            conn.floor = min(last or 0, now_seq)
            if old is not None and not old.closed:
                old.explained.add(4409)
            vc.conn = conn
            await conn.send({"type": "hello", "resume": vc.token, "last_seq": last},
                            Expect("resume", frozenset({"resume_failed"}), reply="welcome", with_success=True))
        self.step(resume())

    def visitor_resumes_with_an_unknown_token(self, node: int, token: str) -> None:
        async def resume() -> None:
            conn = await self.connect("visitor", node)
            vc = VChat(n=len(self.visitors), lang="sv", conn=conn, token=token)
            conn.owner, conn.resuming = vc, True
            await conn.send({"type": "hello", "resume": token, "last_seq": 3},
                            Expect("unknown token", frozenset({"resume_failed"}), must_error=True))
        self.step(resume())

    # -- volunteers ------------------------------------------------------------------
    def online(self) -> list[Vol]:
        return [v for v in self.vols.values() if v.conn is not None and not v.conn.closed and v.conn.welcomed]

    @rule(name=st.sampled_from(["anna", "bo", "sara"]), node=st.integers(0, 1), available=st.booleans())
    def volunteer_connects(self, name: str, node: int, available: bool) -> None:
        vol = self.vols[name]

        async def connect() -> None:
            old = vol.conn
            if old is not None and not old.closed:
                old.explained.add(4409)
            vol.holds.clear()
            conn = await self.connect("volunteer", node, vol.cookie)
            conn.owner = vol
            vol.conn = conn
            if available:
                await conn.send({"type": "status", "state": "available"}, Expect("status", reply="status"))
        self.step(connect())

    @rule(pick=PICK, state=st.sampled_from(["available", "available", "paused"]))
    def volunteer_sets_status(self, pick: int, state: str) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        self.step(vol.conn.send({"type": "status", "state": state}, Expect("status", reply="status")))  # type: ignore

    def chat_choice(self, vol: Vol, pick: int) -> str:
        mine = list(vol.holds) + list(vol.wraps)
        pool = mine * 3 + self.chat_order + ["nosuchchat0"]
        return pool[pick % len(pool)]

    def expect_for(self, vol: Vol, chat: str, what: str, *, ack: Any = None, reply: str | None = None,
                   extra: frozenset[str] = frozenset()) -> Expect:
        """What the hub answers a message/typing/end/refer/... for ``chat`` (from the console's own view)."""
        con = self.hub(vol.conn.node).consoles.get(vol.id)  # type: ignore[union-attr]
        if con is not None and chat in con.wrapups:
            return Expect(what, frozenset({"chat_ended"}), must_error=True)
        if con is not None and chat in con.feeds:
            return Expect(what, extra, ack_id=ack, reply=reply, reply_chat=chat)
        if vol.role == "supervisor":
            return Expect(what, frozenset({"unknown_chat"}) | extra, ack_id=ack, reply=reply)
        return Expect(what, frozenset({"unknown_chat"}), must_error=True)

    @rule(pick=PICK, chat_pick=PICK, text=TEXTS)
    def volunteer_writes(self, pick: int, chat_pick: int, text: str) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        vol.next_id += 1
        client_id = vol.next_id if vol.next_id % 2 else f"o{vol.next_id}"
        vol.sent.setdefault((chat, _idkey(client_id)), []).append(text)
        exp = self.expect_for(vol, chat, "volunteer line", ack=client_id)
        self.step(vol.conn.send({"type": "message", "chat": chat, "id": client_id, "text": text}, exp))  # type: ignore

    def volunteer_types(self, pick: int, chat_pick: int, active: bool) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        self.step(vol.conn.send({"type": "typing", "chat": chat, "active": active},  # type: ignore[union-attr]
                                self.expect_for(vol, chat, "volunteer typing")))

    @rule(pick=PICK, chat_pick=PICK)
    def volunteer_ends(self, pick: int, chat_pick: int) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        self.step(vol.conn.send({"type": "end", "chat": chat},  # type: ignore[union-attr]
                                self.expect_for(vol, chat, "end", reply="ended")))

    @rule(pick=PICK, chat_pick=PICK, report=REPORTS)
    def volunteer_files_a_wrapup(self, pick: int, chat_pick: int, report: dict[str, Any]) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        frame = {"type": "wrapup", "chat": chat, "report": report}
        code = _parse_code(parse_volunteer, _dump(frame))
        con = self.hub(vol.conn.node).consoles.get(vol.id)  # type: ignore[union-attr]
        if code is not None:
            exp = Expect("bad wrap-up", frozenset({code}), must_error=True)
        elif con is not None and chat in con.feeds:
            exp = Expect("wrap-up of an active chat", frozenset({"out_of_order"}), must_error=True)
        elif con is not None and chat in con.wrapups:
            exp = Expect("wrap-up", reply="wrapup_saved", reply_chat=chat)
        else:
            exp = Expect("wrap-up of no chat", frozenset({"unknown_chat"}), must_error=True)
        self.step(vol.conn.send(frame, exp))  # type: ignore[union-attr]

    @rule(pick=PICK, chat_pick=PICK, services=SERVICES)
    def volunteer_refers(self, pick: int, chat_pick: int, services: list[str]) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        exp = self.expect_for(vol, chat, "refer", reply="referred",
                              extra=frozenset({"ineligible_service"} if services not in (
                                  ["emergency-112"], ["emergency-112", "emergency-112"]) else set()))
        if "no-such-service" in services and not exp.must_error:
            exp = Expect("refer an unknown service", exp.errors | {"unknown_service"}, must_error=True)
        if vol.role == "supervisor" and not exp.must_error and exp.reply_chat is None:
            exp = Expect("refer", exp.errors | {"unknown_chat"}, must_error=True)
        self.step(vol.conn.send({"type": "refer", "chat": chat, "services": services}, exp))  # type: ignore

    def volunteer_gives_a_followup_code(self, pick: int, chat_pick: int) -> None:
        self._chat_request(pick, chat_pick, "followup", "followup_given")

    def volunteer_escalates(self, pick: int, chat_pick: int, kind: str) -> None:
        self._chat_request(pick, chat_pick, "escalate", "escalated", kind=kind)

    def _chat_request(self, pick: int, chat_pick: int, frame_type: str, reply: str, **fields: Any) -> None:
        """A console asks something about one of its chats; ``reply`` if it holds the chat,
        else ``error unknown_chat``."""
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        exp = self.expect_for(vol, chat, frame_type, reply=reply)
        if exp.reply_chat is None and not exp.must_error:
            exp = Expect(frame_type, frozenset({"unknown_chat"}), must_error=True)
        self.step(vol.conn.send({"type": frame_type, "chat": chat, **fields}, exp))  # type: ignore[union-attr]

    def volunteer_transfers(self, pick: int, chat_pick: int, to: str) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        chat = self.chat_choice(vol, chat_pick)
        target: Any = {"queue": to} if to in ("sv", "en") else self.vols[to].id
        allowed = {"unknown_chat", "transfer_refused", "out_of_order"}
        self.step(vol.conn.send({"type": "transfer", "chat": chat, "to": target},  # type: ignore[union-attr]
                                Expect("transfer", frozenset(allowed), reply="transferred", reply_chat=chat)))

    def volunteer_sends_a_bad_frame(self, pick: int, raw: str | bytes) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        code = _parse_code(parse_volunteer, raw)
        self.step(vol.conn.send(raw, Expect(f"bad frame {raw!r:.60}", frozenset({code}), must_error=True)))  # type: ignore

    def volunteer_tries_a_supervisor_frame(self, pick: int, kind: str) -> None:
        vols = [v for v in self.online() if v.role != "supervisor"]
        if not vols:
            return
        vol = vols[pick % len(vols)]
        frame = {"type": kind, "chat": (self.chat_order or ["abcdefgh"])[0], "active": True, "hours": 24,
                 "id": 1, "text": "psst"}
        self.step(vol.conn.send(frame, Expect("supervisor frame", frozenset({"supervisor_only"}),  # type: ignore
                                              must_error=True)))

    @rule(chat_pick=PICK, kind=st.sampled_from(["observe", "observe", "join", "whisper", "takeover", "unobserve",
                                                "supervise", "block"]))
    def supervisor_acts(self, chat_pick: int, kind: str) -> None:
        sup = next((v for v in self.online() if v.role == "supervisor"), None)
        if sup is None:
            return
        live = self.chat_order or ["nosuchchat0"]
        chat = live[chat_pick % len(live)]
        allowed = frozenset({"unknown_chat", "out_of_order"})
        if kind == "block" and self.steps < 25:
            kind = "observe"
        if kind == "supervise":
            frame: dict[str, Any] = {"type": "supervise", "active": chat_pick % 2 == 0}
            exp = Expect("supervise", reply="overview") if chat_pick % 2 == 0 else Expect("supervise off")
        elif kind in ("observe", "unobserve", "join"):
            frame = {"type": "join", "chat": chat} if kind == "join" else \
                {"type": "observe", "chat": chat, "active": kind == "observe"}
            exp = Expect(kind, allowed, reply="observing", reply_chat=chat)
        elif kind == "whisper":
            sup.next_id += 1
            sup.sent.setdefault((chat, _idkey(sup.next_id)), []).append("viskning")
            sup.whispers.add((chat, _idkey(sup.next_id)))
            frame = {"type": "whisper", "chat": chat, "id": sup.next_id, "text": "viskning"}
            exp = Expect(kind, allowed, ack_id=sup.next_id)
        elif kind == "takeover":
            frame = {"type": "takeover", "chat": chat}
            exp = Expect(kind, allowed, reply="assigned", reply_chat=chat)
            self.taken_over.add(chat)
        else:
            frame = {"type": "block", "chat": chat, "hours": 24}
            exp = Expect(kind, allowed, reply="blocked", reply_chat=chat)
        self.step(sup.conn.send(frame, exp))  # type: ignore[union-attr]
        if kind == "block" and any(f["type"] == "blocked" for f in sup.conn.frames):  # type: ignore[union-attr]
            self.blocked = True

    @rule(pick=PICK, abrupt=st.booleans())
    def volunteer_drops(self, pick: int, abrupt: bool) -> None:
        if not self.online():
            return
        vol = self.online()[pick % len(self.online())]
        self.step(vol.conn.abort() if abrupt else vol.conn.close())  # type: ignore[union-attr]

    # Rules that misbehave or do something rarer share a rule each, so that the common
    # moves (lines, resumes, drops, ends) come often enough to meet each other.
    @rule(kind=st.sampled_from(["bad", "bad", "twice", "flood", "oversize", "before_hello", "unknown_token"]),
          pick=PICK, raw=BAD_VISITOR, n=st.integers(1, 55), node=st.integers(0, 1),
          before=st.one_of(BAD_VISITOR, st.sampled_from([
              "{\"type\": \"message\", \"id\": 1, \"text\": \"hej\"}", "{\"type\": \"typing\", \"active\": true}",
              "{\"type\": \"leave\"}", "{\"type\": \"intake\", \"age\": 15}"])),
          token=st.sampled_from(["A" * 43, "stale-token-" + "x" * 31]) | st.from_regex(r"\A[A-Za-z0-9_-]{20,100}\Z"))
    def visitor_misbehaves(self, kind: str, pick: int, raw: str | bytes, n: int, node: int, before: str,
                           token: str) -> None:
        if kind == "bad":
            self.visitor_sends_a_bad_frame(pick, raw)
        elif kind == "twice":
            self.visitor_says_hello_twice(pick)
        elif kind == "flood":
            self.visitor_floods_bad_frames(pick, n)
        elif kind == "oversize":
            self.visitor_sends_an_oversized_frame(pick)
        elif kind == "before_hello":
            self.visitor_speaks_before_hello(node, before)
        else:
            self.visitor_resumes_with_an_unknown_token(node, token)

    @rule(kind=st.sampled_from(["bad", "supervisor_frame"]), pick=PICK, raw=BAD_VOLUNTEER,
          sup_kind=st.sampled_from(["supervise", "observe", "join", "takeover", "block", "whisper"]))
    def volunteer_misbehaves(self, kind: str, pick: int, raw: str | bytes, sup_kind: str) -> None:
        if kind == "bad":
            self.volunteer_sends_a_bad_frame(pick, raw)
        else:
            self.volunteer_tries_a_supervisor_frame(pick, sup_kind)

    @rule(kind=st.sampled_from(["typing", "followup", "escalate", "transfer"]), pick=PICK, chat_pick=PICK,
          active=st.booleans(), alert=st.sampled_from(["help", "acute"]),
          to=st.sampled_from(["sv", "en", "anna", "bo", "sara"]))
    def volunteer_does_more(self, kind: str, pick: int, chat_pick: int, active: bool, alert: str, to: str) -> None:
        if kind == "typing":
            self.volunteer_types(pick, chat_pick, active)
        elif kind == "followup":
            self.volunteer_gives_a_followup_code(pick, chat_pick)
        elif kind == "escalate":
            self.volunteer_escalates(pick, chat_pick, alert)
        else:
            self.volunteer_transfers(pick, chat_pick, to)

    # -- time ------------------------------------------------------------------------
    @rule(seconds=ADVANCE)
    def time_passes(self, seconds: float) -> None:
        async def advance() -> None:
            # As a running node would: housekeeping (and the TTL refresh) at least every 10 minutes.
            left = seconds
            while left > 0:
                chunk = min(left, 600.0)
                left -= chunk
                for running, _, _ in self.servers:
                    await running.hub.timers.refresh_ttls()
                self.clock.offset += chunk
                for running, _, _ in self.servers:
                    await running.hub.timers.beat()
                for running, _, _ in self.servers:
                    await running.hub.tick()
        self.step(advance())


# -- the runs ----------------------------------------------------------------------------
ACCOUNTS = {"anna": {"role": "volunteer", "languages": "sv", "capacity": 1},
            "bo": {"role": "volunteer", "languages": "sv,en", "capacity": 2},
            "sara": {"role": "supervisor", "languages": "sv,en", "capacity": 1}}
RUNS: Counter[str] = Counter()


async def prepare_accounts(settings_: Any) -> dict[str, dict[str, Any]]:
    """Accounts with a second factor, signed in once: their cookies serve every example."""
    from ..conftest import start_server
    running, stop = await start_server(settings_)
    try:
        out = {}
        for name, a in ACCOUNTS.items():
            await running.add_account(name, **a)
            cookie = await running.login(name)
            async with running.app.state.db() as session:
                account_id = (await session.scalars(select(Account.id).where(Account.username == name))).one()
            out[name] = {"id": account_id, "cookie": cookie, "role": a["role"], "capacity": a["capacity"]}
        return out
    finally:
        await stop()


def _run(machine_env: Env, examples: int, steps: int, label: str) -> None:
    class Machine(SessionMachine):
        env = machine_env

        def __init__(self) -> None:
            RUNS[label + " examples"] += 1
            super().__init__()

        def step(self, coro: Any) -> None:
            RUNS[label + " steps"] += 1
            super().step(coro)

    started = time.monotonic()
    run_state_machine_as_test(Machine, settings=settings(
        max_examples=DEBUG_EXAMPLES or examples * SCALE,
        stateful_step_count=steps * (2 if SCALE > 1 else 1), deadline=None, derandomize=SCALE == 1,
        database=None, suppress_health_check=list(HealthCheck), print_blob=True,
        phases=list(Phase) if SHRINK else [Phase.explicit, Phase.reuse, Phase.generate]))
    print(f"\n{label}: {RUNS[label + ' examples']} examples, {RUNS[label + ' steps']} steps "
          f"in {time.monotonic() - started:.1f} s")


@pytest.fixture
def instrumented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Count the frames the server handled; no background ticks (the machine ticks the hubs itself)."""
    monkeypatch.setattr(endpoints, "_receive_loop", counting_receive_loop)
    monkeypatch.setattr(hub_module, "HOUSEKEEPING_TICK_S", 3600.0)


@pytest.mark.usefixtures("instrumented")
def test_any_session_leaves_one_node_consistent(tmp_path: Path) -> None:
    """The memory broker, one node: the embedded pair (SQLite, memory://)."""
    database = f"sqlite:///{tmp_path / 'var' / 'jourchatt.sqlite3'}"

    def make() -> Any:
        return make_settings(tmp_path, database, "memory://", frame_rate=1000)

    accounts = asyncio.run(prepare_accounts(make()))
    _run(Env(make_settings=make, accounts=accounts, nodes=1, quiet_rounds=2), 40, 30, "memory")


@pytest.mark.usefixtures("instrumented")
def test_any_session_leaves_two_nodes_on_redis_consistent(tmp_path: Path) -> None:
    """Real Redis shared by two in-process nodes, and PostgreSQL: the production pair."""
    box: dict[str, Any] = {}

    async def create() -> None:
        box["cm"] = postgres_database()
        box["url"] = await box["cm"].__aenter__()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(create())
        redis_url = loop.run_until_complete(fresh_redis())

        def make() -> Any:
            return make_settings(tmp_path, box["url"], redis_url, frame_rate=1000)

        accounts = loop.run_until_complete(prepare_accounts(make()))
        _run(Env(make_settings=make, accounts=accounts, nodes=2, quiet_rounds=10, prepare=fresh_redis),
             12, 25, "redis")
    finally:
        loop.run_until_complete(box["cm"].__aexit__(None, None, None))
        loop.close()
