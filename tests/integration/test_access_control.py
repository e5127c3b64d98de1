"""Every HTTP route, socket and frame against every role (tests/access_table.py).

One real server per test and both pairs (SQLite+memory, PostgreSQL+Redis). Each role
signs in once through ``POST /api/login`` with its TOTP code (the restricted one with
an admin's temporary password), and every request of the table is made as every
role: allowed roles must get the route's real answer, refused ones 401 or 403 and no
change in the database. The frame test holds real chats between visitors,
volunteers and a supervisor, and sends every frame type as each of them. Last, a
role changed while a console is open must take effect at once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Iterator

import httpx
import websockets
from sqlalchemy import select

from chat import followup
from chat import frames as frame_vocab
from chat.kernel.db import Base
from referral import codes, store
from volunteer import manage, shifts
from volunteer.models import Account

from .. import access_table as T
from ..conftest import CLIENT_OPTIONS, WS, Running

UNSAFE = ("POST", "PUT", "DELETE", "PATCH")
METRICS_TOKEN = "metrics-token-" + "m" * 30
ALWAYS_OPEN = {"weekly": {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
ACCOUNTS = {"untrained": "ulla", "volunteer": "vera", "supervisor": "sara", "coordinator": "cora",
            "admin": "adam", "trainee": "tova"}


@dataclass
class Call:
    """One concrete request for a table row. ``path`` may hold ``{n}``, a fresh number
    per request; ``body`` may be a function of the values (``n``, and whatever
    ``prepare`` returns: it runs first, as setup, not as the role)."""

    path: str
    body: Any = None
    ok: int | dict[str, int] = 200      # the answer an allowed role gets; by role, "*" for the rest
    prepare: Callable[["Harness", int], Awaitable[dict[str, Any]]] | None = None
    ends_session: bool = False

    def expected(self, role: str) -> int:
        if isinstance(self.ok, int):
            return self.ok
        return self.ok.get(role, self.ok["*"])


def service_doc(service_id: str) -> dict[str, Any]:
    return {"id": service_id, "kind": "counselling", "name": f"Testjouren {service_id}", "description": "Stöd",
            "contact": {"web": "https://example.org"}, "hours": "Kvällar", "anonymous": True}


async def add_service(h: "Harness", n: int) -> dict[str, Any]:
    from referral.directory import parse

    db = h.server.app.state.db
    current = await h.server.hub.directory.current()
    docs = [*current.documents(), service_doc(f"gone-{n}")]
    await store.replace_directory(db, parse({"service": docs}), expected_version=current.version)
    await h.server.hub.directory.current()
    return {}


async def whole_directory(h: "Harness", n: int) -> dict[str, Any]:
    """The directory as it is, to send back whole (a new version, the same services)."""
    return {"docs": (await h.server.hub.directory.current()).documents()}


async def issue_code(h: "Harness", n: int) -> dict[str, Any]:
    [issued] = await store.issue_codes(h.server.app.state.db, h.server.hub.code_key, ["umo"],
                                       issued_on=date.today(), valid_days=90)
    return {"code": codes.display(issued.code)}


async def issue_survey(h: "Harness", n: int) -> dict[str, Any]:
    import secrets
    import time

    from referral import survey

    token = survey.new_token()
    await survey.issue(h.server.app.state.db, h.server.app.state.survey_key, token, secrets.token_hex(16),
                       time.time())
    return {"token": token}


TODAY = date.today().isoformat()
FULL_409 = {"restricted": 200, "*": 409}

# Concrete requests for every row of T.HTTP (same keys; the test checks they match).
def shift_doc(n: int) -> dict[str, str]:
    """A shift of its own for request ``n``: a different evening each, within the year ahead."""
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=1 + n % 360,
                                                                                            hours=n // 360)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}


async def book_target_shift(h: Harness, n: int) -> dict[str, Any]:
    """Another account's shift: only a supervisor or a coordinator may cancel it."""
    async with h.server.app.state.db() as session:
        target = await session.scalar(select(Account.id).where(Account.username == "target"))
    assert target is not None
    doc = shift_doc(n)
    booked = await shifts.book(h.server.app.state.db, target, datetime.fromisoformat(doc["start"]),
                               datetime.fromisoformat(doc["end"]))
    return {"shift": booked.id}


REQUESTS: dict[str, list[Call]] = {
    "GET /": [Call("/")],
    "GET /healthz": [Call("/healthz")],
    "GET /readyz": [Call("/readyz")],
    "GET /static/{path}": [Call("/static/widget.js")],
    "GET /login": [Call("/login")],
    "GET /admin": [Call("/admin")],
    "GET /console": [Call("/console")],
    "GET /referrals/directory": [Call("/referrals/directory")],
    "GET /referrals/directory.js": [Call("/referrals/directory.js")],
    "GET /referrals/directory.css": [Call("/referrals/directory.css")],
    "GET /partner/redeem": [Call("/partner/redeem")],
    "GET /partner/redeem.js": [Call("/partner/redeem.js")],
    "POST /api/login": [Call("/api/login", lambda v: {"username": "doorway", "password": v["password"]},
                             ends_session=True)],
    "POST /api/logout": [Call("/api/logout", ends_session=True)],
    "GET /api/me": [Call("/api/me")],
    "POST /api/totp/setup": [Call("/api/totp/setup", ok=FULL_409)],
    # Deliberately incomplete: a wrong code and a too short password (a real one would end the restriction).
    "POST /api/totp/confirm": [Call("/api/totp/confirm", {"otp": "x"}, ok={"restricted": 400, "*": 409})],
    "POST /api/password": [Call("/api/password", {"new_password": "short"}, ok={"restricted": 400, "*": 409})],
    "GET /api/admin/accounts": [Call("/api/admin/accounts")],
    "POST /api/admin/accounts": [Call("/api/admin/accounts", lambda v: {"username": f"new-{v['n']}",
                                                                         "display_name": "Ny"}, ok=201)],
    "POST /api/admin/accounts/{username}/{action}": [
        Call("/api/admin/accounts/target/disable"), Call("/api/admin/accounts/target/enable"),
        Call("/api/admin/accounts/target/role", {"role": "supervisor"}),
        Call("/api/admin/accounts/target/training", {"kind": "refresher", "completed": TODAY}),
        Call("/api/admin/accounts/target/reset")],
    "GET /api/admin/audit": [Call("/api/admin/audit")],
    "GET /api/trainees": [Call("/api/trainees")],
    "POST /api/trainees/{username}/shifts": [Call("/api/trainees/tova/shifts", {"day": TODAY})],
    "DELETE /api/trainees/{username}/shifts/{day}": [Call(f"/api/trainees/tova/shifts/{TODAY}")],
    "GET /api/opening-hours": [Call("/api/opening-hours")],
    "PUT /api/opening-hours": [Call("/api/opening-hours", ALWAYS_OPEN)],
    "DELETE /api/opening-hours": [Call("/api/opening-hours")],
    "GET /api/shifts": [Call("/api/shifts?from=2026-01-01&to=2026-12-31")],
    "POST /api/shifts": [Call("/api/shifts", lambda v: shift_doc(v["n"]), ok={"coordinator": 400, "*": 201})],
    "GET /api/shifts/roster": [Call("/api/shifts/roster?from=2026-01-01&to=2026-01-07")],
    "DELETE /api/shifts/{shift_id}": [Call("/api/shifts/{shift}", prepare=book_target_shift,
                                           ok={"untrained": 404, "volunteer": 404, "*": 204})],
    "GET /api/places": [Call("/api/places")],
    "GET /api/vocabularies": [Call("/api/vocabularies")],
    "GET /api/openapi.json": [Call("/api/openapi.json")],
    "GET /api/referrals/suggest": [Call("/api/referrals/suggest?age=16&municipality=0180")],
    "GET /api/referrals/directory": [Call("/api/referrals/directory")],
    "PUT /api/referrals/directory": [
        Call("/api/referrals/directory", lambda v: {"service": v["docs"]}, prepare=whole_directory)],
    "PUT /api/referrals/directory/{service_id}": [
        Call("/api/referrals/directory/new-{n}", lambda v: service_doc(f"new-{v['n']}"), ok=201)],
    "DELETE /api/referrals/directory/{service_id}": [Call("/api/referrals/directory/gone-{n}", prepare=add_service)],
    "POST /api/referrals/redeem": [Call("/api/referrals/redeem", lambda v: {"code": v["code"]}, prepare=issue_code)],
    "POST /api/survey": [Call("/api/survey", lambda v: {"token": v["token"], "answers": {"helped": "yes"}},
                              ok=204, prepare=issue_survey)],
    "OPTIONS /api/survey": [Call("/api/survey", ok=204)],
    "GET /api/snippets": [Call("/api/snippets")],
    "PUT /api/snippets": [Call("/api/snippets", {"snippets": [{"title": "Hej", "text": "Hej och välkommen!"}]})],
    "GET /api/stats": [Call("/api/stats?preset=2024")],
    "GET /api/partnerships": [Call("/api/partnerships")],
    "GET /stats": [Call("/stats")],
    "GET /stats/report": [Call("/stats/report?preset=2024")],
    "GET /metrics": [Call("/metrics")],
}


def refusal(key: str, role: str) -> int:
    """401 without a credential the route accepts (a restricted session is none), else 403."""
    if key in ("POST /api/referrals/redeem", "GET /metrics") or role in ("anonymous", "visitor", "partner",
                                                                           "restricted", "scraper"):
        return 401
    return 403


@dataclass
class Harness:
    server: Running
    client: httpx.AsyncClient
    creds: dict[str, dict[str, str]] = field(default_factory=dict)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    temporary: str = ""
    doorway_password: str = ""
    visitor: WS | None = None

    async def setup(self) -> None:
        s = self.server
        for role, name in ACCOUNTS.items():
            await s.add_account(name, role="volunteer" if role == "untrained" else role, trained=role != "untrained")
        await s.add_account("rita", totp=False)
        _, self.temporary = await manage.reset(s.app.state.db, "rita")
        await s.add_account("doorway", totp=False)
        await s.add_account("target")
        for role in (*ACCOUNTS, "restricted"):
            await self.sign_in(role)
        key = await store.add_partner(s.app.state.db, "umo", "UMO", ["umo"], date.today())
        self.creds["partner"] = {"Authorization": f"Bearer {key}"}
        self.creds["scraper"] = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        self.creds["anonymous"] = {}
        self.visitor = await s.visitor({"lang": "sv"})
        token = (await self.visitor.expect("welcome"))["resume_token"]
        assert token
        self.creds["visitor"] = {"Authorization": f"Bearer {token}", "Cookie": f"jourchatt_session={token}"}
        assert set(self.creds) == set(T.ROLES)

    async def sign_in(self, role: str) -> None:
        if role == "restricted":
            cookie = await self.server.login("rita", password=self.temporary)
        else:
            cookie = await self.server.login(ACCOUNTS[role])
        self.creds[role] = {"Cookie": cookie}

    async def request(self, role: str, method: str, path: str, body: Any) -> httpx.Response:
        headers = {"X-Jourchatt-CSRF": "1", **self.creds[role]}
        if method in UNSAFE:
            headers["Origin"] = self.server.http
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            return await self.client.request(method, path, headers=headers,
                                             content=None if body is None else json.dumps(body))
        finally:
            self.client.cookies.clear()     # a Set-Cookie must not carry over to the next role

    async def snapshot(self) -> dict[str, list[str]]:
        """Every row of every table (but a session's last-use time), and the hub's opening hours."""
        out: dict[str, list[str]] = {}
        async with self.server.app.state.db() as session:
            for table in Base.metadata.sorted_tables:
                cols = [c for c in table.c if (table.name, c.name) != ("login_sessions", "last_seen_at")]
                out[table.name] = sorted(repr(tuple(row)) for row in (await session.execute(select(*cols))).all())
        out["hub.hours"] = [repr(self.server.hub.hours.current)]
        return out


def changed(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


async def test_every_route_against_every_role(server_factory: Callable[..., Awaitable[Running]]) -> None:
    server = await server_factory(metrics_token=METRICS_TOKEN)
    assert sorted(REQUESTS) == sorted(T.HTTP), "every row of tests/access_table.py needs its requests here"
    http, _ = T.app_routes(server.app)
    assert http == T.table_routes()
    async with httpx.AsyncClient(base_url=server.http, timeout=20) as client:
        h = Harness(server, client)
        await h.setup()
        failures: list[str] = []
        checked: set[tuple[str, str]] = set()
        requests = 0
        for method_path in sorted(http, key=lambda k: (list(T.HTTP).index(T.row_of(k)), k)):
            key = T.row_of(method_path)
            method = method_path.split(" ", 1)[0]
            who = T.allowed(key)
            refused = [r for r in T.ROLES if r not in who]
            # The database is compared once around all the refusals of a route (a snapshot
            # costs a query a table), or around each one where a setup step changes it.
            each = any(c.prepare for c in REQUESTS[key])
            batch_before = await h.snapshot() if refused and not each else None
            # Refused roles first, so the allowed ones act on an unchanged service.
            for role in [*refused, *(r for r in T.ROLES if r in who)]:
                for call in REQUESTS[key]:
                    n = next(h.counter)
                    values: dict[str, Any] = {"n": n, "password": "correct horse battery staple"}
                    if call.prepare is not None:
                        values.update(await call.prepare(h, n))
                    body = call.body(values) if callable(call.body) else call.body
                    path = call.path.replace("{n}", str(n)).replace("{shift}", str(values.get("shift", "")))
                    before = await h.snapshot() if role not in who and each else None
                    r = await h.request(role, method, path, body)
                    requests += 1
                    where = f"{method} {path} as {role}: {r.status_code} {r.text[:120]!r}"
                    if r.status_code >= 500:
                        failures.append(f"server error: {where}")
                    elif role in who:
                        if r.status_code != call.expected(role):
                            failures.append(f"allowed, expected {call.expected(role)}: {where}")
                    elif r.status_code != refusal(key, role):
                        failures.append(f"refused, expected {refusal(key, role)}: {where}")
                    if before is not None and (diff := changed(before, await h.snapshot())):
                        failures.append(f"a refusal changed {diff}: {where}")
                    if call.ends_session and role not in ("anonymous", "visitor", "partner", "scraper"):
                        await h.sign_in(role)
                checked.add((method_path, role))
                if batch_before is not None and role == refused[-1]:
                    if diff := changed(batch_before, await h.snapshot()):
                        failures.append(f"refusals of {method_path} ({', '.join(refused)}) changed {diff}")
        sockets = await check_sockets(h, failures)
        assert h.visitor is not None
        await h.visitor.send({"type": "leave"})
    print(f"\naccess control: {len(http)} routes x {len(T.ROLES)} roles = {len(checked)} checked "
          f"({requests} requests); sockets x roles = {sockets}")
    assert failures == []
    assert len(checked) == len(http) * len(T.ROLES)


async def check_sockets(h: Harness, failures: list[str]) -> int:
    """Open both sockets as every role (its cookie or key sent along, as a page would)."""
    server, checked = h.server, 0
    for role in T.ROLES:
        headers = {"Origin": server.http, **h.creds[role]}
        for path in T.SOCKETS:
            conn = await websockets.connect(f"ws://127.0.0.1:{server.port}{path}", additional_headers=headers,
                                            **CLIENT_OPTIONS)
            ws = WS(conn)
            try:
                if path == "/ws/visitor":
                    await ws.send({"type": "hello", "lang": "sv"})
                    welcome = await ws.expect("welcome")
                    if not welcome["resume_token"] or not welcome["open"]:
                        failures.append(f"{path} as {role}: {welcome}")
                    await ws.send({"type": "leave"})
                    await ws.expect("ended")
                elif role in T.roles_of(T.SOCKETS[path][0]):
                    first = await ws.recv()
                    if first["type"] != "welcome":
                        failures.append(f"{path} as {role}: {first}")
                else:
                    first = await ws.recv()
                    close = await ws.closed()
                    if (first.get("code"), close) != T.VOLUNTEER_SOCKET_REFUSAL[role]:
                        failures.append(f"{path} as {role}: {first} then {close}")
            finally:
                await ws.close()
            checked += 1
    return checked


# -- frames ---------------------------------------------------------------------------------

NO_SUCH_CHAT = "no-such-chat-0000"
# What each outcome of T.FRAMES must be shown to do before the test passes.
PROOF = {"ok": {"ok"}, "own": {"own", "other_refused"}, "own+joined": {"own", "other_refused", "joined"},
         "any": {"any", "missing_refused"}, "unknown_type": {"refused"}, "supervisor_only": {"refused"},
         "trainees_only": {"refused"}}


def sample(kind: str, chat: str) -> dict[str, Any]:
    """A well-formed frame of every type, naming ``chat`` where the type names one."""
    return {
        "hello": {"lang": "sv"}, "intake": {"age": 16}, "leave": {}, "status": {"state": "available"},
        "followup_choice": {"wait": True},
        "message": {"chat": chat, "id": "m", "text": "hej"}, "typing": {"chat": chat, "active": True},
        "refer": {"chat": chat, "services": ["emergency-112"]}, "end": {"chat": chat},
        "wrapup": {"chat": chat, "report": {"topic": "exposed"}}, "escalate": {"chat": chat, "kind": "help"},
        "followup": {"chat": chat}, "transfer": {"chat": chat, "to": {"queue": "sv"}},
        "supervise": {"active": True}, "observe": {"chat": chat, "active": True},
        "whisper": {"chat": chat, "id": "w", "text": "viskning"}, "join": {"chat": chat},
        "takeover": {"chat": chat}, "dismiss": {"alert": "0123456789ab"}, "block": {"chat": chat, "hours": 24},
        "offer": {"chat": chat, "to": {"language": "sv"}, "note": "en rad"},
        "offer_reply": {"offer": "0123456789ab", "accept": False}, "offer_cancel": {"offer": "0123456789ab"},
        "colleagues": {}, "debrief": {"chat": chat},
        "route_any": {"chat": chat},
        "shadowable": {}, "shadow": {"chat": chat, "active": True},
        "shadow_answer": {"chat": chat, "trainee": "someone", "accept": True}, "practice_partners": {},
        "practice_open": {"partner": "someone", "lang": "sv"},
        "practice_visitor": {"chat": chat, "frame": {"type": "message", "id": "p", "text": "hej"}},
        "practice_resume": {"resume_token": "t" * 24, "last_seq": 0},
    }[kind] | {"type": kind}


async def quiet(*sockets: WS, timeout: float = 0.5) -> list[dict[str, Any]]:
    """Every frame the sockets get within ``timeout`` (overviews aside)."""
    got: list[dict[str, Any]] = []

    async def drain(ws: WS) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            try:
                frame = await ws.recv(left)
            except asyncio.TimeoutError:
                return
            if frame["type"] != "overview":
                got.append(frame)

    await asyncio.gather(*(drain(ws) for ws in sockets))
    return got


async def new_chat(server: Running, con: WS, intake: dict[str, Any] | None = None) -> tuple[WS, str]:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    if intake:
        await vis.send({"type": "intake", **intake})
    chat = (await con.expect("assigned"))["chat"]
    await vis.expect("assigned")
    return vis, chat


async def error_code(ws: WS, what: object = "", timeout: float = 3.0) -> str:
    """The code of the next error frame; fails, saying what came instead, if none comes."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            frame = await ws.recv(left)
        except asyncio.TimeoutError:
            break
        if frame["type"] == "error":
            return frame["code"]  # type: ignore[no-any-return]
        seen.append(frame["type"])
    raise AssertionError(f"{what}: no error frame within {timeout} s; got {seen}")


async def test_every_frame_against_every_role(server: Running) -> None:
    evidence: dict[tuple[str, str], set[str]] = {(k, r): set() for k in T.FRAMES for r in T.FRAME_ROLES}

    def shown(kind: str, role: str, fact: str) -> None:
        evidence[(kind, role)].add(fact)

    await server.add_account("vera", display_name="Vera", capacity=1)
    await server.add_account("vilma", display_name="Vilma", capacity=3)
    await server.add_account("sara", role="supervisor", display_name="Sara", capacity=2)
    vol = await server.volunteer("vera")
    a_vis, a = await new_chat(server, vol, {"age": 16})
    shown("hello", "visitor", "ok")
    vol2 = await server.volunteer("vilma")
    b_vis, b = await new_chat(server, vol2)
    e_vis, e = await new_chat(server, vol2)
    f_vis, f = await new_chat(server, vol2)
    sup = await server.volunteer("sara")
    c_vis, c = await new_chat(server, sup, {"age": 16})
    senders = {"visitor": a_vis, "volunteer": vol, "supervisor": sup}

    # 1. What the table refuses, sent at someone else's chat (B, Vilma's): error frames only.
    for kind in T.FRAMES:
        for role, ws in senders.items():
            outcome = T.frame_outcome(kind, role)
            if outcome in T.REFUSALS:
                await ws.send(sample(kind, b))
                assert await error_code(ws, (kind, role)) == outcome, (kind, role)
                shown(kind, role, "refused")
            elif outcome in ("own", "own+joined"):
                await ws.send(sample(kind, b))
                assert await error_code(ws, (kind, role)) == "unknown_chat", (kind, role)
                shown(kind, role, "other_refused")
            elif outcome == "any":
                await ws.send(sample(kind, NO_SUCH_CHAT))
                assert await error_code(ws, (kind, role)) == "unknown_chat", (kind, role)
                shown(kind, role, "missing_refused")
    # A visitor's frame cannot name another chat: the chat field is ignored.
    await a_vis.send({"type": "message", "chat": b, "id": 1, "text": "till min egen chatt"})
    await a_vis.expect("ack")
    assert (await vol.line("visitor"))["chat"] == a
    shown("message", "visitor", "ok")
    # Nothing reached chat B's visitor or volunteer, nothing was audited, B is still Vilma's.
    assert await quiet(b_vis, vol2) == []
    async with server.app.state.db() as session:
        from volunteer.audit import AuditEntry
        assert (await session.scalars(select(AuditEntry))).all() == []
    await b_vis.send({"type": "message", "id": 1, "text": "är du kvar?"})
    assert (await vol2.line("visitor"))["chat"] == b

    # Trainees: a trainee asks to follow A (Vera's) and C (Sara's); each holder answers its own.
    await server.add_account("tova", role="trainee", display_name="Tova")
    tr = await server.volunteer("tova", available=False)
    for holder, chat in ((vol, a), (sup, c)):
        await tr.send({"type": "shadow", "chat": chat, "active": True})
        ask = await holder.expect("shadow_request")
        await holder.send({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": True})
        assert (await holder.expect("observed"))["trainees"] == ["Tova"]
        await tr.send({"type": "shadow", "chat": chat, "active": False})
        await holder.expect("observed")
    shown("shadow_answer", "volunteer", "own")
    shown("shadow_answer", "supervisor", "own")
    # Practice chats: Vera and Sara each play one that Tova answers.
    for role, host in (("volunteer", vol), ("supervisor", sup)):
        await host.send({"type": "practice_partners"})
        people = (await host.expect("practice_partners"))["people"]
        shown("practice_partners", role, "ok")
        await host.send({"type": "practice_open", "partner": next(p["id"] for p in people
                                                                  if p["display_name"] == "Tova"), "lang": "sv"})
        practice = (await host.expect("practice_opened"))["chat"]
        assert (await tr.expect("assigned"))["practice"] is True
        shown("practice_open", role, "ok")
        token = ""
        while not token:
            token = (await host.expect("practice_frame"))["frame"].get("resume_token") or ""
        await host.send({"type": "practice_visitor", "chat": practice,
                         "frame": {"type": "message", "id": "p", "text": "hej"}})
        assert (await tr.line("visitor"))["chat"] == practice
        shown("practice_visitor", role, "own")
        await host.send({"type": "practice_resume", "resume_token": token, "last_seq": 1})
        while (await host.expect("practice_frame"))["frame"]["type"] != "welcome":
            pass
        shown("practice_resume", role, "own")
        await host.send({"type": "practice_visitor", "chat": practice, "frame": {"type": "leave"}})
        assert (await tr.expect("ended"))["chat"] == practice

    # 2. The visitor, on its own chat.
    await a_vis.send({"type": "intake", "age": 17})
    assert (await vol.expect("intake"))["chat"] == a
    shown("intake", "visitor", "ok")
    await a_vis.send({"type": "typing", "active": True})
    assert (await vol.expect("typing"))["chat"] == a
    shown("typing", "visitor", "ok")

    # 3. The volunteer, on its own chat A.
    await vol.send({"type": "status", "state": "paused"})
    assert (await vol.expect("status"))["state"] == "paused"
    shown("status", "volunteer", "ok")
    await vol.send({"type": "message", "chat": a, "id": 1, "text": "Hej!"})
    await vol.expect("ack")
    assert (await a_vis.line("volunteer"))["text"] == "Hej!"
    shown("message", "volunteer", "own")
    await vol.send({"type": "typing", "chat": a, "active": True})
    await a_vis.expect("typing")
    shown("typing", "volunteer", "own")
    await vol.send({"type": "refer", "chat": a, "services": ["emergency-112"]})
    await vol.expect("referred")
    await a_vis.expect("referral")
    shown("refer", "volunteer", "own")
    await vol.send({"type": "escalate", "chat": a, "kind": "help"})
    alert = (await vol.expect("escalated"))["alert"]
    shown("escalate", "volunteer", "own")
    await vol.send({"type": "followup", "chat": a})
    await vol.expect("followup_given")
    await a_vis.expect("followup")
    shown("followup", "volunteer", "own")
    # Who is on shift, for an offer: Ville (paused, a free slot) joins to receive one.
    await server.add_account("ville", display_name="Ville", capacity=1)
    ville = await server.volunteer("ville", available=False)
    await vol.send({"type": "colleagues"})
    names = {v["display_name"]: v["id"] for v in (await vol.expect("colleagues"))["volunteers"]}
    assert {"Vilma", "Sara", "Ville"} <= set(names)
    shown("colleagues", "volunteer", "ok")

    # 4. The supervisor: supervision tools on B (Vilma's), the rest on its own chat C.
    await sup.send({"type": "status", "state": "paused"})       # a free slot, but no chat from the queue
    await sup.expect("status")
    shown("status", "supervisor", "ok")
    await sup.send({"type": "colleagues"})
    assert (await sup.expect("colleagues"))["volunteers"]
    shown("colleagues", "supervisor", "ok")
    # Vera offers her own A to Sara, who declines; Sara offers Vilma's B to Ville, who declines.
    await vol.send({"type": "offer", "chat": a, "to": {"volunteer": names["Sara"]}, "note": "en rad"})
    await vol.expect("offer_sent")
    offer = (await sup.expect("offer"))["offer"]
    shown("offer", "volunteer", "own")
    await sup.send({"type": "offer_reply", "offer": offer, "accept": False})
    assert (await sup.expect("offer_ended"))["reason"] == "declined"
    assert (await vol.expect("offer_ended"))["reason"] == "declined"
    shown("offer_reply", "supervisor", "ok")
    await sup.send({"type": "offer", "chat": b, "to": {"volunteer": names["Ville"]}, "note": ""})
    await sup.expect("offer_sent")
    offer = (await ville.expect("offer"))["offer"]
    shown("offer", "supervisor", "any")
    await ville.send({"type": "offer_reply", "offer": offer, "accept": False})
    assert (await ville.expect("offer_ended"))["reason"] == "declined"
    assert (await sup.expect("offer_ended"))["reason"] == "declined"
    shown("offer_reply", "volunteer", "ok")
    # Each takes an offer back before it is answered.
    await vol.send({"type": "offer", "chat": a, "to": {"volunteer": names["Ville"]}, "note": ""})
    offer = (await vol.expect("offer_sent"))["offer"]
    await vol.send({"type": "offer_cancel", "offer": offer})
    assert (await vol.expect("offer_ended"))["reason"] == "cancelled"
    assert (await ville.expect("offer_ended"))["reason"] == "withdrawn"
    shown("offer_cancel", "volunteer", "ok")
    await sup.send({"type": "offer", "chat": b, "to": {"volunteer": names["Ville"]}, "note": ""})
    offer = (await sup.expect("offer_sent"))["offer"]
    await sup.send({"type": "offer_cancel", "offer": offer})
    assert (await sup.expect("offer_ended"))["reason"] == "cancelled"
    assert (await ville.expect("offer_ended"))["reason"] == "withdrawn"
    shown("offer_cancel", "supervisor", "ok")
    await sup.send({"type": "supervise", "active": True})
    await sup.expect("overview")
    shown("supervise", "supervisor", "ok")
    await sup.send({"type": "observe", "chat": b, "active": True})
    assert (await sup.expect("observing"))["active"] is True
    await vol2.expect("observed")
    shown("observe", "supervisor", "any")
    await sup.send({"type": "whisper", "chat": b, "id": "w1", "text": "fråga om skolan"})
    await sup.expect("ack")
    assert (await vol2.line("whisper"))["text"] == "fråga om skolan"
    shown("whisper", "supervisor", "any")
    await sup.send({"type": "join", "chat": b})
    assert (await sup.expect("observing"))["joined"] is True
    shown("join", "supervisor", "any")
    await sup.send({"type": "message", "chat": b, "id": "j1", "text": "Jag är också här"})
    await sup.expect("ack")
    assert (await b_vis.line("volunteer"))["text"] == "Jag är också här"
    shown("message", "supervisor", "joined")
    await sup.send({"type": "typing", "chat": b, "active": True})
    await b_vis.expect("typing")
    shown("typing", "supervisor", "joined")
    await sup.send({"type": "message", "chat": c, "id": 1, "text": "Hej från Sara"})
    await sup.expect("ack")
    assert (await c_vis.line("volunteer"))["text"] == "Hej från Sara"
    shown("message", "supervisor", "own")
    await sup.send({"type": "typing", "chat": c, "active": True})
    await c_vis.expect("typing")
    shown("typing", "supervisor", "own")
    await sup.send({"type": "refer", "chat": c, "services": ["emergency-112"]})
    await sup.expect("referred")
    shown("refer", "supervisor", "own")
    await sup.send({"type": "escalate", "chat": c, "kind": "help"})
    await sup.expect("escalated")
    shown("escalate", "supervisor", "own")
    await sup.send({"type": "followup", "chat": c})
    await sup.expect("followup_given")
    shown("followup", "supervisor", "own")
    # Dismissing Vera's alert works once: only the second gets an error.
    await sup.send({"type": "dismiss", "alert": alert})
    await sup.send({"type": "dismiss", "alert": alert})
    assert await error_code(sup) == "unknown_alert"
    shown("dismiss", "supervisor", "ok")

    # A young person back with Vilma's follow-up code while she is full: the chat is kept for
    # her, and the young person may choose (here: to go on waiting), then leaves.
    vilma_id = await server.hub.live.broker.read(lambda tx: tx.hgetall(f"jc:chat:{b}", watch=False))
    returning = await server.visitor({"lang": "sv", "followup": await followup.issue(
        server.app.state.db, server.settings.secret, vilma_id["vol"])})
    assert (await returning.expect("followup_away"))["kept"] is True
    await returning.send({"type": "followup_choice", "wait": True})
    assert (await returning.expect("followup_kept"))["kept"] is True
    shown("followup_choice", "visitor", "ok")
    await returning.send({"type": "leave"})
    await returning.expect("ended")

    # 5. What ends or moves chats. Vera ends A and files its wrap-up, then hands a new chat D on.
    await vol.send({"type": "end", "chat": a})
    assert (await vol.expect("ended"))["chat"] == a
    assert (await a_vis.expect("ended"))["by"] == "volunteer"
    shown("end", "volunteer", "own")
    await vol.send({"type": "debrief", "chat": a})
    assert (await vol.expect("debrief_sent"))["chat"] == a
    shown("debrief", "volunteer", "own")
    await vol.send({"type": "wrapup", "chat": a, "report": {"topic": "exposed"}})
    await vol.expect("wrapup_saved")
    shown("wrapup", "volunteer", "own")
    await vol.send({"type": "status", "state": "available"})
    d_vis, d = await new_chat(server, vol)
    await vol.send({"type": "status", "state": "paused"})
    await vol.expect("status")
    # Nobody of the Swedish pool is available with a free slot: the offer is refused.
    await vol.send({"type": "offer", "chat": d, "to": {"language": "sv"}, "note": ""})
    assert await error_code(vol) == "transfer_refused"
    await vol.send({"type": "debrief", "chat": d})
    assert await error_code(vol) == "out_of_order"
    await vol.send({"type": "transfer", "chat": d, "to": {"queue": "sv"}})
    await vol.expect("transferred")
    await d_vis.expect("queued")
    shown("transfer", "volunteer", "own")
    # D waits (nobody is free): a supervisor may hand any waiting chat to the first free volunteer.
    await sup.send({"type": "route_any", "chat": d})
    assert (await sup.expect("routed_any"))["chat"] == d
    shown("route_any", "supervisor", "any")
    await d_vis.send({"type": "leave"})
    assert (await d_vis.expect("ended"))["by"] == "visitor"
    shown("leave", "visitor", "ok")

    # Sara takes E over from Vilma, who can no longer write in it; sends F back to the queue.
    await sup.send({"type": "takeover", "chat": e})
    assert (await sup.expect("assigned"))["chat"] == e
    assert (await vol2.expect("released"))["chat"] == e
    await vol2.send({"type": "message", "chat": e, "id": "late", "text": "hallå?"})
    assert await error_code(vol2) == "unknown_chat"
    shown("takeover", "supervisor", "any")
    await sup.send({"type": "transfer", "chat": f, "to": {"queue": "sv"}})
    await sup.expect("transferred")
    shown("transfer", "supervisor", "any")
    # She ends B, which she joined, and her own C (and files C's wrap-up).
    await sup.send({"type": "end", "chat": b})
    assert (await b_vis.expect("ended"))["by"] == "supervisor"
    shown("end", "supervisor", "joined")
    await sup.send({"type": "end", "chat": c})
    assert (await sup.expect("ended"))["chat"] == c
    await c_vis.expect("ended")
    shown("end", "supervisor", "own")
    await sup.send({"type": "debrief", "chat": c})
    assert (await sup.expect("debrief_sent"))["chat"] == c
    shown("debrief", "supervisor", "own")
    await sup.send({"type": "wrapup", "chat": c, "report": {"topic": "exposed"}})
    await sup.expect("wrapup_saved")
    shown("wrapup", "supervisor", "own")
    # Last, as it blocks this test's address: blocking F (queued again, or Vilma's once more).
    await sup.send({"type": "block", "chat": f, "hours": 24})
    assert (await sup.expect("blocked"))["chat"] == f
    assert (await f_vis.expect("ended"))["by"] == "supervisor"
    shown("block", "supervisor", "any")

    missing = {f"{kind}/{role}: {sorted(PROOF[T.frame_outcome(kind, role)] - facts)}"
               for (kind, role), facts in evidence.items() if not PROOF[T.frame_outcome(kind, role)] <= facts}
    assert missing == set(), "cells of tests/access_table.py FRAMES this test does not show"
    print(f"\naccess control: {len(T.FRAMES)} frame types x {len(T.FRAME_ROLES)} roles = {len(evidence)} "
          f"cells checked ({sum(len(v) for v in evidence.values())} facts shown)")
    assert set(T.FRAMES) == set(frame_vocab.VISITOR_TYPES) | set(frame_vocab.VOLUNTEER_TYPES)


async def test_a_role_change_reaches_an_open_console_at_once(server: Running) -> None:
    """The volunteer socket checks the role when it opens; a role changed while it is open must
    not leave the old powers behind (a demoted supervisor kept supervising until it reconnected)."""
    admin = await server.client("adam", role="admin")
    await server.add_account("sara", role="supervisor")
    await server.add_account("vera")
    sup = await server.volunteer("sara", available=False)
    vol = await server.volunteer("vera", available=False)
    async with admin:
        # The same role again changes nothing: the console stays open.
        r = await admin.post("/api/admin/accounts/sara/role", json={"role": "supervisor"},
                             headers={"Origin": server.http})
        assert r.status_code == 200, r.text
        await sup.send({"type": "supervise", "active": True})
        await sup.expect("overview")
        await sup.send({"type": "supervise", "active": False})
        r = await admin.post("/api/admin/accounts/sara/role", json={"role": "volunteer"},
                             headers={"Origin": server.http})
        assert r.status_code == 200, r.text
        assert await error_code(sup) == "role_changed"
        assert await sup.closed() == 4401
        again = await server.volunteer("sara", available=False)
        await again.send({"type": "supervise", "active": True})
        assert await error_code(again) == "supervisor_only"

        r = await admin.post("/api/admin/accounts/vera/role", json={"role": "coordinator"},
                             headers={"Origin": server.http})
        assert r.status_code == 200, r.text
        assert await error_code(vol) == "role_changed"
        assert await vol.closed() == 4401
        cookie = await server.login("vera")
        ws = WS(await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/volunteer",
                                         additional_headers={"Cookie": cookie}, **CLIENT_OPTIONS))
        assert await error_code(ws) == "not_allowed" and await ws.closed() == 4403


async def test_a_console_closes_when_its_role_changed_by_another_path(server: Running,
                                                                       monkeypatch: Any) -> None:
    """A role changed in the database without ending sessions (another node, a script) is
    caught by the console's periodic session check."""
    from sqlalchemy import update

    from chat import endpoints
    from volunteer.models import Account

    monkeypatch.setattr(endpoints, "SESSION_CHECK_S", 0.1)
    await server.add_account("sara", role="supervisor")
    sup = await server.volunteer("sara", available=False)
    async with server.app.state.db() as session, session.begin():
        await session.execute(update(Account).where(Account.username == "sara").values(role="volunteer"))
    assert await error_code(sup) == "role_changed"
    assert await sup.closed() == 4401
