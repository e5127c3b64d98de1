"""The real ``jourchatt serve``, a real chat from both sides, then a search of every byte it wrote.

Marker strings go through every path a visitor's words can take (intake,
messages both ways, a resent line, a resume, bad frames, a login attempt, a trainee's
whisper, a practice chat's lines both ways); the
volunteer refers the visitor, who gets cards with one-time codes, and a partner
redeems one with its API key; the volunteer gives a follow-up code, and a young person
comes back with it while she is busy (the chat is kept for her, then released). The clients connect from 127.0.0.7 with a marker
user agent. Afterwards no file under the server's working directory (database,
WAL, secret, logs, and a scrape of ``/metrics``) may contain any marker, a referral code (in any spelling),
the partner's key, the client's address or its user agent, and the record must
exist with its referrals. On PostgreSQL the same goes for a ``pg_dump``, the
database's own files and the WAL the server wrote meanwhile (``PostgresFiles``).
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
import os
import secrets
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import httpx
import pytest
import websockets

from ..conftest import TEST_SECRET, Authenticator, free_port, jourchatt_command

pytestmark = pytest.mark.slow

CLIENT_ADDR = "127.0.0.7"       # any loopback address routes to the server on 127.0.0.1
METRICS_TOKEN = "metrics-" + secrets.token_urlsafe(32)
PASSWORD = "ett långt lösenord för test"


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOURCHATT_")}
    env["JOURCHATT_LOG_LEVEL"] = "debug"     # the most a log can say, and still nothing
    env["JOURCHATT_METRICS_TOKEN"] = METRICS_TOKEN
    if not database_url.startswith("sqlite"):
        env["JOURCHATT_DATABASE_URL"] = database_url
        env["JOURCHATT_SECRET_KEY"] = TEST_SECRET
    return env


def run_cli(args: list[str], cwd: Path, env: dict[str, str], stdin: bytes = b"") -> str:
    done = subprocess.run(args, input=stdin, cwd=cwd, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode()


def query(database_url: str, tmp_path: Path, sql: str) -> list[str]:
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(tmp_path / "var" / "jourchatt.sqlite3")
        try:
            return ["|".join(str(x) for x in r) for r in db.execute(sql).fetchall()]
        finally:
            db.close()
    out = subprocess.run(["psql", "-At", "-F", "|", database_url, "-c", sql],
                         capture_output=True, timeout=60, check=True).stdout.decode()
    return out.splitlines()


def record_rows(database_url: str, tmp_path: Path) -> list[tuple]:  # type: ignore[type-arg]
    sql = ("SELECT outcome, age, gender, municipality, district, topic, v_physical, "
           "first_contact, wrapup_filed FROM chat_records")
    if database_url.startswith("sqlite"):
        db = sqlite3.connect(tmp_path / "var" / "jourchatt.sqlite3")
        try:
            return [tuple(r) for r in db.execute(sql).fetchall()]
        finally:
            db.close()
    out = subprocess.run(["psql", "-At", "-F", "|", database_url, "-c", sql],
                         capture_output=True, timeout=60, check=True).stdout.decode()
    rows = []
    for line in out.splitlines():
        v: list[object] = list(line.split("|"))
        v = [None if x == "" else x for x in v]       # NULL as SQLite gives it
        v[1] = int(v[1]) if v[1] is not None else None  # age
        v[6], v[8] = v[6] == "t", v[8] == "t"         # booleans as SQLite gives them (1/0)
        rows.append(tuple(int(x) if isinstance(x, bool) else x for x in v))
    return rows


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as c:
        for _ in range(200):
            if proc.poll() is not None:
                raise AssertionError(f"server exited with {proc.returncode}")
            try:
                if (await c.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("server never became ready")


async def _recv(ws, kind: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if frame["type"] == kind:
            return frame  # type: ignore[no-any-return]


async def _line(ws, sender: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the next chat line from ``sender`` (system notices are skipped)."""
    while True:
        frame = await _recv(ws, "message")
        if frame["from"] == sender:
            return frame["text"]  # type: ignore[no-any-return]


async def _hold_chat(port: int, markers: dict[str, str], ua: str, partner_key: str) -> tuple[list[str], str]:
    """Hold the chat and answer its survey; the referral codes and the follow-up code the visitor
    was given, and the survey token."""
    base = f"http://127.0.0.1:{port}"
    transport = httpx.AsyncHTTPTransport(local_address=CLIENT_ADDR)
    async with httpx.AsyncClient(base_url=base, transport=transport, headers={"User-Agent": ua}) as c:
        bad = await c.post("/api/login", json={"username": markers["login"], "password": markers["login"]})
        assert bad.status_code == 401
        cookie = await Authenticator().sign_in(c, "anna", PASSWORD)
        # A shift booked from the same address and user agent: the shift path keeps neither.
        start = (datetime.now(timezone.utc) + timedelta(days=2)).replace(microsecond=0)
        booked = await c.post("/api/shifts", json={"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()},
                              headers={"Cookie": cookie, "X-Jourchatt-CSRF": "1", "Origin": base})
        assert booked.status_code == 201, booked.text
    opts = {"local_addr": (CLIENT_ADDR, 0), "user_agent_header": ua, "max_queue": None}
    vol = await websockets.connect(f"ws://127.0.0.1:{port}/ws/volunteer",
                                   additional_headers={"Cookie": cookie}, **opts)
    await _recv(vol, "welcome")
    await vol.send(json.dumps({"type": "status", "state": "available"}))
    vis = await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor",
                                   additional_headers={"Origin": base}, **opts)
    await vis.send(json.dumps({"type": "hello", "lang": "ar"}))   # right to left, non-Latin words to search for
    welcome = await _recv(vis, "welcome")
    await vis.send(json.dumps({"type": "intake", "age": 16, "gender": "girl",
                               "municipality": "0180", "district": "bromma", "first_contact": False}))
    await _recv(vis, "assigned")
    chat = (await _recv(vol, "assigned"))["chat"]

    await vis.send(json.dumps({"type": "message", "id": markers["id"], "text": markers["visitor"]}))
    ack = await _recv(vis, "ack")
    assert await _line(vol, "visitor") == markers["visitor"]
    await vis.send(json.dumps({"type": "message", "id": markers["id"], "text": markers["visitor"]}))
    assert await _recv(vis, "ack") == ack          # resent, not doubled
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": 1, "text": markers["volunteer"]}))
    assert await _line(vis, "volunteer") == markers["volunteer"]
    await vis.send(json.dumps({"type": "message", "id": "ar-1", "text": markers["arabic"]}))
    assert await _line(vol, "visitor") == markers["arabic"]

    # Bad frames that carry markers get errors and must not be logged either.
    await vis.send(json.dumps({"type": "message", "id": 2, "text": markers["bad"] * 500}))
    assert (await _recv(vis, "error"))["code"] == "text_too_long"
    await vis.send(json.dumps({"type": markers["bad"]}))
    assert (await _recv(vis, "error"))["code"] == "unknown_type"
    await vis.send(markers["bad"] + "{")
    assert (await _recv(vis, "error"))["code"] == "invalid_json"
    await vis.send(json.dumps({"type": "intake", "municipality": markers["bad"]}))
    assert (await _recv(vis, "error"))["code"] == "invalid_field"

    # Drop the visitor's connection, keep writing, resume with last_seq.
    await vis.close()
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": 2, "text": markers["missed"]}))
    await _recv(vol, "ack")
    vis = await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor", **opts)
    await vis.send(json.dumps({"type": "hello", "resume": welcome["resume_token"], "last_seq": ack["seq"] + 1}))
    assert await _line(vis, "volunteer") == markers["missed"]
    await vis.send(json.dumps({"type": "message", "id": "z", "text": markers["after"]}))
    assert await _line(vol, "visitor") == markers["after"]

    # Referral cards with one-time codes; the visitor resumes and gets them again.
    await vol.send(json.dumps({"type": "refer", "chat": chat, "services": ["samtalsmottagning", "stodcentrum"]}))
    await _recv(vol, "referred")
    cards = (await _recv(vis, "referral"))["services"]
    given = [c["code"] for c in cards]
    await vis.close()
    vis = await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor", **opts)
    await vis.send(json.dumps({"type": "hello", "resume": welcome["resume_token"], "last_seq": 0}))
    assert [c["code"] for c in (await _recv(vis, "referral"))["services"]] == given
    async with httpx.AsyncClient(base_url=base, transport=transport, headers={"User-Agent": ua}) as c:
        r = await c.post("/api/referrals/redeem", json={"code": given[1].lower()},
                         headers={"Authorization": f"Bearer {partner_key}"})
        assert r.status_code == 200, r.text
    # A follow-up code given in the chat; a young person back with it (in another spelling) while
    # Anna is busy has the chat kept for her, chooses someone else now, and leaves the queue.
    await vol.send(json.dumps({"type": "followup", "chat": chat}))
    await _recv(vol, "followup_given")
    fcode = (await _recv(vis, "followup"))["code"]
    back = await websockets.connect(f"ws://127.0.0.1:{port}/ws/visitor", additional_headers={"Origin": base}, **opts)
    await back.send(json.dumps({"type": "hello", "lang": "sv", "followup": fcode.lower().replace("-", " ")}))
    assert (await _recv(back, "followup_away"))["kept"] is True
    await back.send(json.dumps({"type": "followup_choice", "wait": False}))
    assert (await _recv(back, "followup_kept"))["reason"] == "choice"
    await back.send(json.dumps({"type": "leave"}))
    await _recv(back, "ended")
    await back.close()
    given.append(fcode)              # searched for like the referral codes, in every spelling

    # A trainee follows the chat with Anna's consent and whispers; then Anna plays the young
    # person of a practice chat the trainee answers (never recorded, never counted).
    async with httpx.AsyncClient(base_url=base, transport=transport, headers={"User-Agent": ua}) as c:
        tcookie = await Authenticator().sign_in(c, "tove", PASSWORD)
    tr = await websockets.connect(f"ws://127.0.0.1:{port}/ws/volunteer",
                                  additional_headers={"Cookie": tcookie}, **opts)
    await _recv(tr, "welcome")
    await tr.send(json.dumps({"type": "shadow", "chat": chat, "active": True}))
    ask = await _recv(vol, "shadow_request")
    await vol.send(json.dumps({"type": "shadow_answer", "chat": chat, "trainee": ask["trainee"], "accept": True}))
    await _recv(tr, "observing")
    await tr.send(json.dumps({"type": "whisper", "chat": chat, "id": markers["id"], "text": markers["whisper"]}))
    assert await _line(vol, "whisper") == markers["whisper"]
    await vol.send(json.dumps({"type": "practice_partners"}))
    partner = (await _recv(vol, "practice_partners"))["people"][0]["id"]
    await vol.send(json.dumps({"type": "practice_open", "partner": partner, "lang": "sv"}))
    practice = (await _recv(vol, "practice_opened"))["chat"]
    await _recv(tr, "assigned")
    await vol.send(json.dumps({"type": "practice_visitor", "chat": practice,
                               "frame": {"type": "message", "id": markers["id"], "text": markers["practice"]}}))
    assert await _line(tr, "visitor") == markers["practice"]
    await tr.send(json.dumps({"type": "message", "chat": practice, "id": 1, "text": markers["practice"] + "svar"}))
    await vol.send(json.dumps({"type": "practice_visitor", "chat": practice, "frame": {"type": "leave"}}))
    while (await _recv(tr, "ended"))["chat"] != practice:
        pass
    await tr.send(json.dumps({"type": "wrapup", "chat": practice, "report": {"topic": "exposed"}}))
    await _recv(tr, "wrapup_saved")
    await tr.close()

    await vol.send(json.dumps({"type": "end", "chat": chat}))
    ended = await _recv(vis, "ended")
    assert ended["by"] == "volunteer" and ended["survey"]
    await _recv(vol, "ended")
    # The survey, answered from the widget's origin before the wrap-up; bad answers carry markers.
    async with httpx.AsyncClient(base_url=base, transport=transport,
                                 headers={"User-Agent": ua, "Origin": base}) as c:
        r = await c.post("/api/survey", json={"token": ended["survey"], "answers": {"helped": markers["bad"]}})
        assert r.status_code == 400 and r.json()["field"] == "answers.helped"
        r = await c.post("/api/survey", json={"token": markers["survey"], "answers": {"helped": "yes"}})
        assert r.status_code == 400 and r.json()["error"] == "unknown_survey"
        r = await c.post("/api/survey", json={"token": ended["survey"],
                                              "answers": {"helped": "partly", "would_return": "yes"}})
        assert r.status_code == 204, r.text
    await vol.send(json.dumps({"type": "wrapup", "chat": chat,
                               "report": {"topic": "uses_violence", "violence": ["physical"]}}))
    await _recv(vol, "wrapup_saved")
    await vol.close()
    await vis.close()
    return given, ended["survey"]


def trace_needles(markers: dict[str, str], codes: list[str], partner_key: str, ua: str) -> dict[str, bytes]:
    """What must never be found at rest, by name: every marker (as sent and as JSON
    would escape it), every referral code in every spelling a partner may use, the
    partner's key, the clients' user agent and address."""
    needles = {f"marker {name!r}": value.encode() for name, value in markers.items()}
    needles.update({f"marker {name!r} (json)": json.dumps(value).encode() for name, value in markers.items()})
    for i, code in enumerate(codes):
        needles[f"code {i}"] = code.encode()
        needles[f"code {i} (canonical)"] = code.replace("-", "").encode()
        needles[f"code {i} (lower)"] = code.lower().encode()
    needles["partner key"] = partner_key.encode()
    needles["user agent"] = ua.encode()
    needles["client address"] = CLIENT_ADDR.encode()
    return needles


def found_in(data: bytes, where: str, needles: dict[str, bytes]) -> list[str]:
    """One "<needle> in <where>" for each needle in ``data``."""
    return [f"{name} in {where}" for name, needle in needles.items() if needle in data]


class PostgresFiles:
    """What a PostgreSQL server keeps on disk for one database: its relation files and
    the WAL written since ``async with`` began (rows deleted or updated since are still
    in the WAL, and WAL goes into backups).

    They are read through the server (``pg_read_binary_file``, as the superuser the tests
    connect as), so the test does not depend on reading the data directory itself. A
    temporary physical replication slot keeps that WAL from being recycled until it is
    read. Values PostgreSQL compresses (TOAST, over ~2 kB) cannot be grepped here: the
    ``pg_dump`` beside this covers them.
    """

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    async def __aenter__(self) -> PostgresFiles:
        self.conn = await asyncpg.connect(self.url)
        await self.conn.execute("SELECT pg_create_physical_replication_slot($1, true, true)",
                                f"jc_trace_{secrets.token_hex(6)}")
        self.first_wal = await self.conn.fetchval("SELECT pg_walfile_name(pg_current_wal_lsn())")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.conn.close()          # the slot is temporary: it goes with the session

    async def files(self) -> AsyncIterator[tuple[str, bytes]]:
        """(name, content) of each WAL segment since the start, then each file of the database."""
        await self.conn.execute("CHECKPOINT")        # the relation files hold what was written
        last = await self.conn.fetchval("SELECT pg_walfile_name(pg_current_wal_lsn())")
        segments = await self.conn.fetch("SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}$' "
                                         "AND name BETWEEN $1 AND $2 ORDER BY name", self.first_wal, last)
        assert segments, "no WAL segment found for the test's span"
        for row in segments:
            path = f"pg_wal/{row['name']}"
            yield path, await self.conn.fetchval("SELECT pg_read_binary_file($1)", path)
        oid = await self.conn.fetchval("SELECT oid FROM pg_database WHERE datname = current_database()")
        for row in await self.conn.fetch("SELECT pg_ls_dir($1) AS name", f"base/{oid}"):
            path = f"base/{oid}/{row['name']}"
            yield path, await self.conn.fetchval("SELECT pg_read_binary_file($1)", path)

    async def grep(self, needles: dict[str, bytes]) -> tuple[list[str], int, int]:
        """Hits ("<needle> in PostgreSQL <file>"), and how many files and bytes were searched.

        The id of the chat's record must turn up in both the WAL and the relation files
        (or the search looked in the wrong place).
        """
        control = (await self.conn.fetchval("SELECT min(id) FROM chat_records")).encode()
        hits, count, size, seen = [], 0, 0, set()
        async for path, data in self.files():
            hits += found_in(data, f"PostgreSQL {path}", needles)
            if control in data:
                seen.add(path.split("/")[0])
            count, size = count + 1, size + len(data)
        assert seen == {"pg_wal", "base"}, f"the record's id was found only in {seen or 'no file'}"
        return hits, count, size


def files_containing(root: Path, needles: dict[str, bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            hits += found_in(path.read_bytes(), str(path.relative_to(root)), needles)
    return hits


@pytest.fixture
async def postgres_files(database_url: str) -> AsyncIterator[PostgresFiles | None]:
    if database_url.startswith("sqlite"):
        yield None
        return
    async with PostgresFiles(database_url) as files:
        yield files


async def test_a_served_chat_leaves_only_the_record(tmp_path: Path, database_url: str,
                                                    postgres_files: PostgresFiles | None) -> None:
    tag = secrets.token_hex(4)
    markers = {k: f"MARKER{k.upper()}{tag}" for k in
               ("visitor", "volunteer", "missed", "after", "bad", "id", "login", "survey", "whisper",
                "practice")}
    markers["visitor"] = f"Han tog min telefon igen {markers['visitor']} åäö"
    # In Arabic script too (the chat is held in Arabic): found as UTF-8 or as JSON's \uXXXX escapes.
    markers["arabic"] = f"أخذ هاتفي مرة أخرى {tag}"
    ua = f"MarkerAgent/{tag}"
    env = _env(database_url)
    if not database_url.startswith("sqlite"):
        run_cli([*jourchatt_command(), "db", "upgrade"], tmp_path, env)
    run_cli([*jourchatt_command(), "volunteer", "add", "anna", "--display-name", "Anna", "--trained",
             "--language", "sv,ar", "--password-stdin"], tmp_path, env, f"{PASSWORD}\n".encode())
    run_cli([*jourchatt_command(), "volunteer", "add", "tove", "--display-name", "Tove", "--role", "trainee",
             "--password-stdin"], tmp_path, env, f"{PASSWORD}\n".encode())
    out = run_cli([*jourchatt_command(), "directory", "load", str(Path(__file__).parents[2] / "referral"
                                                              / "directory.seed.toml")], tmp_path, env)
    assert "loaded" in out
    out = run_cli([*jourchatt_command(), "partner", "add", "stodcentrum", "--name", "Stödcentrum",
                "--service", "stodcentrum"], tmp_path, env)
    partner_key = out.strip().splitlines()[-1]
    assert partner_key.startswith("jcp_")

    port = free_port()
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([*jourchatt_command(), "serve", "--port", str(port)], cwd=tmp_path,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            await _wait_ready(f"http://127.0.0.1:{port}", proc)
            given, survey_token = await _hold_chat(port, markers, ua, partner_key)
            await asyncio.sleep(0.3)       # the record writer is asynchronous
            # What Prometheus would keep goes under the searched directory too.
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
                scraped = await c.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
            assert scraped.status_code == 200 and "jourchatt_lines_relayed_total" in scraped.text
            (tmp_path / "metrics.txt").write_text(scraped.text)
        finally:
            proc.send_signal(signal.SIGTERM)
            # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
            assert proc.wait(timeout=30) in (0, -signal.SIGTERM)

    if not database_url.startswith("sqlite"):
        # The database's whole content goes under the searched directory.
        dump = subprocess.run(["pg_dump", "--no-owner", database_url], capture_output=True, timeout=120)
        assert dump.returncode == 0, dump.stderr.decode()
        (tmp_path / "pg_dump.sql").write_bytes(dump.stdout)
        assert b"chat_records" in dump.stdout
    log_text = log_path.read_text()
    assert "chat.assigned" in log_text and "chat.wrapup" in log_text   # the log did run
    assert "app.stopped" in log_text                                    # and shut down cleanly
    assert '"lang": "ar"' in log_text or "lang=ar" in log_text          # the chat was held in Arabic
    needles = trace_needles(markers, given, partner_key, ua)
    needles["survey token"] = survey_token.encode()       # kept only as its keyed hash
    assert files_containing(tmp_path, needles) == []
    scraped_text = (tmp_path / "metrics.txt").read_text()
    assert "anna" not in scraped_text.lower() and 'jourchatt_records_written_total{node=' in scraped_text
    if postgres_files is not None:
        hits, _, _ = await postgres_files.grep(needles)
        assert hits == [], hits

    assert query(database_url, tmp_path, "SELECT count(*) FROM shifts") == ["1"]
    rows = record_rows(database_url, tmp_path)
    assert sorted(rows) == [("completed", 16, "girl", "0180", "bromma", "uses_violence", 1, "no", 1),
                            ("left_queued", None, "not_stated", None, None, None, 0, "not_stated", 0)]
    referrals = query(database_url, tmp_path, "SELECT service_id, redeemed_on IS NOT NULL FROM record_referrals "
                       "ORDER BY id")
    assert [r.replace("|t", "|1").replace("|f", "|0") for r in referrals] == ["samtalsmottagning|0", "stodcentrum|1"]
    # The survey's answers beside the record, and nothing else: the token forgets the record once used.
    answers = query(database_url, tmp_path, "SELECT r.helped, r.knows_where_to_turn IS NULL, r.would_return "
                    "FROM survey_responses r JOIN chat_records c ON c.id = r.record_id")
    assert [a.replace("|t", "|1") for a in answers] == ["partly|1|yes"]
    tokens = query(database_url, tmp_path, "SELECT record_id IS NULL FROM survey_tokens")
    assert [t.replace("t", "1") for t in tokens] == ["1"]
