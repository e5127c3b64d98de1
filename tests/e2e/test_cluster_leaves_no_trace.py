"""Real ``jourchatt serve`` nodes, a Redis of their own and PostgreSQL: a chat through
every feature, then a search of Redis dumps, a PostgreSQL dump and every log line.

The chat takes every path a visitor's words can take across nodes: intake (and a bad
intake), lines both ways (and a resend), bad frames, a referral with one-time codes, a
resume, a supervisor observing, whispering, joining openly and writing, and failover:
the visitor's node is killed (SIGKILL) mid-chat and the visitor resumes on the second
node with ``last_seq`` while the volunteer goes on writing; then the second node, which
now holds everyone, is killed too and the console and the visitor come back on a third.
Every client connects from 127.0.0.7 with a marker user agent.

* While the chat is live, ``DEBUG RELOAD`` writes the Redis dump (and loads it again;
  the chat goes on afterwards). The dump holds the chat's keys and its sealed lines,
  each of which opens with the server's secret to what was said, and no marker, no
  referral code, no resume token, no address and no user agent.
* After the chat ends and its record is written, ``SAVE`` writes a dump with nothing
  naming the chat, and no marker either.
* ``pg_dump`` of the database holds the record and its referrals, and none of it; nor
  do the database's files and the WAL written meanwhile.
* Every log line of the nodes (JSON at debug level) is parsed, and holds none of it.

The Redis is started here (Debian's ``redis-server``): the shared test Redis keeps
nothing on disk and Redis 7 refuses ``DEBUG`` and ``CONFIG SET dir`` by default. It
writes its dumps uncompressed, so a marker cannot hide inside an LZF block.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import redis

from chat import state as S
from chat.kernel.addresses import KEY_PREFIX, AddressHasher, _mac
from chat.hub import INTAKE_SEQ
from chat.sealing import Sealer

from ..conftest import TEST_SECRET, free_port, jourchatt_command
from ..integration.test_many_nodes import PASSWORD, Cluster, cluster, lines, recv
from .test_serve_leaves_no_trace import (
    CLIENT_ADDR, PostgresFiles, files_containing, found_in, query, record_rows, run_cli, trace_needles,
)

pytestmark = pytest.mark.slow

SEED = Path(__file__).parents[2] / "referral" / "directory.seed.toml"


@contextmanager
def own_redis(directory: Path) -> Iterator[redis.Redis]:
    """A real redis-server of the test's own, writing its dumps (uncompressed) into ``directory``."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise AssertionError("redis-server is not on PATH: this test runs a Redis of its own to dump "
                             "(Debian: apt-get install redis-server)")
    directory.mkdir()
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                             "--save", "", "--appendonly", "no", "--rdbcompression", "no",
                             "--enable-debug-command", "local"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(100):
            if proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {proc.returncode}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise AssertionError("redis-server never answered PING")
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(10)


def dump(client: redis.Redis, directory: Path, name: str, *, reload: bool) -> bytes:
    """Have Redis write its RDB file (``DEBUG RELOAD`` or ``SAVE``); keep a copy as ``name``."""
    if reload:
        client.execute_command("DEBUG", "RELOAD")
    else:
        client.save()
    data = (directory / "dump.rdb").read_bytes()
    assert data.startswith(b"REDIS"), "not an RDB file"
    (directory / name).write_bytes(data)
    return data


def keys_naming(client: redis.Redis, chat: str) -> list[str]:
    """Every key that names ``chat``, or whose value does (as the dump would show it)."""
    found = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [*client.hkeys(key), *client.hvals(key)]
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        else:
            raise AssertionError(f"a key of a type the server does not use: {key!r} ({kind!r})")
        if chat.encode() in key or any(chat.encode() in v for v in values):
            found.append(key.decode())
    return found


async def test_a_chat_across_nodes_leaves_only_the_record(tmp_path: Path) -> None:
    started = time.monotonic()
    tag = secrets.token_hex(4)
    markers = {k: f"MARKER{k.upper()}{tag}" for k in
               ("visitor", "volunteer", "vol_id", "bad", "id", "login", "whisper", "supervisor",
                "missed", "after", "failover", "survivor", "reloaded", "last", "volunteer_back", "note")}
    markers["visitor"] = f"Han tog min telefon igen {markers['visitor']} åäö"
    ua = f"MarkerAgent/{tag}"
    redis_dir = tmp_path / "redis"

    with own_redis(redis_dir) as r:
        port = r.connection_pool.connection_kwargs["port"]
        async with (cluster(tmp_path, f"redis://127.0.0.1:{port}/0") as c,
                    PostgresFiles(c.env["JOURCHATT_DATABASE_URL"]) as pg_files):
            c.env.update({"JOURCHATT_LOG_LEVEL": "debug", "JOURCHATT_LOG_FORMAT": "json"})
            partner_key = _setup(c)
            c.client_addr, c.user_agent = CLIENT_ADDR, ua
            a, b, third = await c.node(), await c.node(), await c.node()
            chat, token, given, live, entries = await _hold_chat(c, (a, b, third), r, redis_dir, markers,
                                                                 partner_key)
            needles = trace_needles(markers, given, partner_key, ua)
            needles["resume token"] = token.encode()

            # -- the live dump: the chat is there, sealed, and nothing else of it ---------
            hits = found_in(live, "the live Redis dump", needles)
            assert hits == [], hits
            assert f"{S.chat_key(chat)}".encode() in live and f"{S.log_key(chat)}".encode() in live
            said = _sealed_lines(chat, entries, live)
            for key in ("visitor", "volunteer", "supervisor", "whisper", "failover", "missed"):
                assert markers[key] in said, f"the sealed log in the dump lacks the {key} line"
            assert '"district": "bromma"' in said, "the sealed intake answers are not in the dump"
            assert '"topic": "uses_violence"' in said, "the sealed intake topic is not in the dump"
            assert b"uses_violence" not in live, "the intake topic is in the live Redis dump in the clear"
            # The address's hash is in the dump, beside the day's key value; the value alone
            # (without the server secret) does not let anyone try addresses against it.
            values = [r.get(k).decode() for k in r.keys(f"{KEY_PREFIX}*")]   # a day's (two at midnight)
            hasher = AddressHasher(None, TEST_SECRET.encode())       # type: ignore[arg-type]
            assert any(_mac(hasher._day_key(v), CLIENT_ADDR).encode() in live for v in values)
            for v in values:
                assert _mac(bytes.fromhex(v), CLIENT_ADDR).encode() not in live, \
                    "the live Redis dump alone lets anyone test an address against its hashes"

            # -- the end: the record is written, Redis forgets the chat -------------------
            deadline = time.monotonic() + 20
            while (left := keys_naming(r, chat)) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            after = dump(r, redis_dir, "after.rdb", reload=False)
            assert left == [], f"keys still naming the chat after it ended: {left}"
            assert chat.encode() not in after, "the chat's id is still in the Redis dump after it ended"
            hits = found_in(after, "the Redis dump after the end", needles)
            assert hits == [], hits

            third.proc.send_signal(signal.SIGTERM)       # a clean stop: its last log lines too
            assert third.proc.wait(30) in (0, -signal.SIGTERM)

            pg = subprocess.run(["pg_dump", "--no-owner", c.env["JOURCHATT_DATABASE_URL"]],
                                capture_output=True, timeout=120)
            assert pg.returncode == 0, pg.stderr.decode()
            (tmp_path / "pg_dump.sql").write_bytes(pg.stdout)
            hits = found_in(pg.stdout, "the PostgreSQL dump", needles)
            assert hits == [], hits
            db_url = c.env["JOURCHATT_DATABASE_URL"]
            assert record_rows(db_url, tmp_path) == [
                ("completed", 16, "girl", "0180", "bromma", "uses_violence", 1, "no", 1)]
            referrals = query(db_url, tmp_path, "SELECT service_id, redeemed_on IS NOT NULL "
                              "FROM record_referrals ORDER BY id")
            assert referrals == ["samtalsmottagning|f", "stodcentrum|t"]
            # The database's own files and the WAL written meanwhile (deleted rows too).
            hits, pg_count, pg_bytes = await pg_files.grep(needles)
            assert hits == [], hits

    # -- every log line of the nodes -------------------------------------------------------
    logs = sorted(tmp_path.glob("node-*.log"))
    assert len(logs) == 3
    events: set[str] = set()
    for log in logs:
        for n, line in enumerate(log.read_text().splitlines(), 1):
            try:
                events.add(json.loads(line)["event"])
            except (ValueError, KeyError):
                raise AssertionError(f"{log.name}:{n} is not a JSON log line: {line[:200]!r}") from None
    for event in ("app.started", "chat.assigned", "chat.wrapup", "http.request", "app.stopped"):
        assert event in events, f"no {event} in the logs: the logging did not run as expected"

    # -- and every byte under the test's directory: logs, dumps, the server's var dir ----------
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    hits = files_containing(tmp_path, needles)
    assert hits == [], hits
    print(f"\nscanned {len(files)} files, {sum(p.stat().st_size for p in files)} bytes, and "
          f"{pg_count} PostgreSQL files, {pg_bytes} bytes, for {len(needles)} needles ({len(markers)} "
          f"markers, {len(given)} codes x3 spellings, ...); {time.monotonic() - started:.1f} s")


def _setup(c: Cluster) -> str:
    """A supervisor beside the cluster's volunteers, the directory, a partner; its API key."""
    run_cli([*jourchatt_command(), "volunteer", "add", "sara", "--display-name", "Sara", "--role",
             "supervisor", "--trained", "--password-stdin"], c.tmp, c.env, PASSWORD.encode())
    assert "loaded" in run_cli([*jourchatt_command(), "directory", "load", str(SEED)], c.tmp, c.env)
    out = run_cli([*jourchatt_command(), "partner", "add", "stodcentrum", "--name", "Stödcentrum",
                   "--service", "stodcentrum"], c.tmp, c.env)
    key = out.strip().splitlines()[-1]
    assert key.startswith("jcp_")
    return key


def _sealed_lines(chat: str, entries: list[tuple[bytes, float]], live: bytes) -> str:
    """The chat's replay log and intake answers as Redis held them at the dump: every
    entry is in the dump as it is in Redis (ciphertext), and opens with the server's
    secret. Returns what the entries say, one JSON object a line."""
    assert len(entries) >= 8, f"only {len(entries)} entries in the chat's replay log"
    sealer = Sealer(TEST_SECRET.encode(), chat)          # the nodes' JOURCHATT_SECRET_KEY
    said = []
    for blob, seq in entries:
        assert blob in live, f"log entry {int(seq)} is in Redis but not in the dump"
        said.append(json.dumps(json.loads(sealer.open(int(seq), base64.b64decode(blob))), ensure_ascii=False))
    return "\n".join(said)


async def _hold_chat(c: Cluster, nodes: tuple[Any, Any, Any], r: redis.Redis, redis_dir: Path, markers: dict[str, str],
                     partner_key: str) -> tuple[str, str, list[str], bytes, list[tuple[bytes, float]]]:
    """The visitor on node A, the volunteer and the supervisor on node B; A dies mid-chat
    and the visitor resumes on B; then B dies and both sides come back on the third node.

    Returns the chat, the resume token, the referral codes given, the live Redis dump and
    the chat's sealed entries (replay log and intake) as Redis held them then.
    """
    a, b, third = nodes
    async with c.http_client(b.base) as h:
        bad = await h.post("/api/login", json={"username": markers["login"], "password": markers["login"]})
        assert bad.status_code == 401
    vol = await b.volunteer("anna")
    # The topic (topic routing) crosses Redis sealed, like the rest of the intake.
    vis = await a.visitor({"lang": "sv", "topic": "uses_violence"})
    token = (await recv(vis, "welcome"))["resume_token"]
    await recv(vis, "assigned")
    chat = (await recv(vol, "assigned"))["chat"]
    await vis.send(json.dumps({"type": "intake", "age": 16, "gender": "girl", "municipality": "0180",
                               "district": "bromma", "first_contact": False}))
    assert (await recv(vol, "intake"))["intake"]["district"] == "bromma"
    await vis.send(json.dumps({"type": "intake", "municipality": markers["bad"]}))
    assert (await recv(vis, "error"))["code"] == "invalid_field"

    # Lines both ways across the nodes; a resend is not doubled; bad frames with markers.
    await vis.send(json.dumps({"type": "message", "id": markers["id"], "text": markers["visitor"]}))
    ack = await recv(vis, "ack")
    assert (await lines(vol, 1, "visitor"))[0]["text"] == markers["visitor"]
    await vis.send(json.dumps({"type": "message", "id": markers["id"], "text": markers["visitor"]}))
    assert await recv(vis, "ack") == ack
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": markers["vol_id"],
                               "text": markers["volunteer"]}))
    assert (await lines(vis, 1, "volunteer"))[0]["text"] == markers["volunteer"]
    await vis.send(json.dumps({"type": "message", "id": 2, "text": markers["bad"] * 500}))
    assert (await recv(vis, "error"))["code"] == "text_too_long"
    await vis.send(markers["bad"] + "{")
    assert (await recv(vis, "error"))["code"] == "invalid_json"
    await vol.send(json.dumps({"type": markers["bad"], "chat": chat}))
    assert (await recv(vol, "error"))["code"] == "unknown_type"

    # A supervisor on B observes, whispers, joins openly and writes to the visitor on A.
    sup = await b.volunteer("sara")
    await sup.send(json.dumps({"type": "status", "state": "paused"}))
    await recv(sup, "status")
    await sup.send(json.dumps({"type": "observe", "chat": chat, "active": True}))
    await recv(sup, "observing")
    await sup.send(json.dumps({"type": "whisper", "chat": chat, "id": 1, "text": markers["whisper"]}))
    assert (await lines(vol, 1, "whisper"))[0]["text"] == markers["whisper"]
    await sup.send(json.dumps({"type": "join", "chat": chat}))
    await sup.send(json.dumps({"type": "message", "chat": chat, "id": 2, "text": markers["supervisor"]}))
    joined = (await lines(vis, 1, "volunteer"))[0]
    assert (joined["text"], joined["name"]) == (markers["supervisor"], "Sara")

    # A warm transfer offered with a handover note (to Sara, on the same node, and to Bo on
    # node A across Pub/Sub), declined by both: the note reaches them and is never stored.
    bo = await a.volunteer("bo")
    await bo.send(json.dumps({"type": "status", "state": "paused"}))
    await recv(bo, "status")
    await vol.send(json.dumps({"type": "colleagues"}))
    ids = {v["display_name"]: v["id"] for v in (await recv(vol, "colleagues"))["volunteers"]}
    for receiver, name in ((sup, "Sara"), (bo, "Bo")):
        await vol.send(json.dumps({"type": "offer", "chat": chat, "to": {"volunteer": ids[name]},
                                   "note": markers["note"]}))
        offer = (await recv(vol, "offer_sent"))["offer"]
        assert (await recv(receiver, "offer"))["note"] == markers["note"]
        await receiver.send(json.dumps({"type": "offer_reply", "offer": offer, "accept": False}))
        assert (await recv(vol, "offer_ended"))["reason"] == "declined"
    await bo.close()

    # The visitor drops and resumes on the same node with last_seq.
    last = joined["seq"]
    await vis.close()
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": 3, "text": markers["missed"]}))
    await recv(vol, "ack")
    vis = await a.visitor({"resume": token, "last_seq": last})
    assert (await lines(vis, 1, "volunteer"))[0]["text"] == markers["missed"]
    await vis.send(json.dumps({"type": "message", "id": "after", "text": markers["after"]}))
    assert (await lines(vol, 1, "visitor"))[0]["text"] == markers["after"]

    # A referral: cards with one-time codes.
    await vol.send(json.dumps({"type": "refer", "chat": chat, "services": ["samtalsmottagning", "stodcentrum"]}))
    await recv(vol, "referred")
    referral = await recv(vis, "referral")
    given = [card["code"] for card in referral["services"]]

    # Failover: the visitor's node dies; the volunteer keeps writing; the visitor resumes on B.
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait(10)
    sent = []
    for i in range(2):
        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 10 + i,
                                   "text": f"{markers['failover']} {i}"}))
        sent.append((await recv(vol, "ack"))["seq"])
    vis = await b.visitor({"resume": token, "last_seq": referral["seq"]})
    assert (await recv(vis, "welcome"))["resumed"] is True
    replayed = await lines(vis, 2, "volunteer")
    assert [(f["seq"], f["text"]) for f in replayed] == [(s, f"{markers['failover']} {i}")
                                                          for i, s in enumerate(sent)]
    await vis.send(json.dumps({"type": "message", "id": "survivor", "text": markers["survivor"]}))
    assert (await lines(vol, 1, "visitor"))[0]["text"] == markers["survivor"]

    # The live dump (DEBUG RELOAD writes it and loads it back); the chat goes on after it.
    live = dump(r, redis_dir, "live.rdb", reload=True)
    entries = r.zrange(S.log_key(chat), 0, -1, withscores=True)
    entries.append((r.hget(S.chat_key(chat), "intake"), INTAKE_SEQ))   # the intake answers, sealed too
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": 20, "text": markers["reloaded"]}))
    seen = (await lines(vis, 1, "volunteer"))[0]
    assert seen["text"] == markers["reloaded"]

    # B dies too, with the volunteer, the supervisor and the visitor on it: the console
    # comes back on the third node within its grace period, the visitor resumes there.
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait(10)
    vol = await third.volunteer("anna")
    vis = await third.visitor({"resume": token, "last_seq": seen["seq"]})
    assert (await recv(vis, "welcome"))["resumed"] is True
    await vis.send(json.dumps({"type": "message", "id": "last", "text": markers["last"]}))
    assert (await lines(vol, 1, "visitor"))[0]["text"] == markers["last"]
    await vol.send(json.dumps({"type": "message", "chat": chat, "id": 30, "text": markers["volunteer_back"]}))
    assert (await lines(vis, 1, "volunteer"))[0]["text"] == markers["volunteer_back"]

    async with c.http_client(third.base) as h:
        redeemed = await h.post("/api/referrals/redeem", json={"code": given[1].lower()},
                                headers={"Authorization": f"Bearer {partner_key}"})
        assert redeemed.status_code == 200, redeemed.text

    await vol.send(json.dumps({"type": "end", "chat": chat}))
    assert (await recv(vis, "ended"))["by"] == "volunteer"
    await recv(vol, "ended")
    await vol.send(json.dumps({"type": "wrapup", "chat": chat,
                               "report": {"topic": "uses_violence", "violence": ["physical"]}}))
    await recv(vol, "wrapup_saved")
    for ws in (vol, vis):
        await ws.close()
    db_url = c.env["JOURCHATT_DATABASE_URL"]
    for _ in range(100):                        # the record writer is asynchronous
        if record_rows(db_url, c.tmp):
            break
        await asyncio.sleep(0.1)
    return chat, token, given, live, entries
