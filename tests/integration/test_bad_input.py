"""Bad input gets a clear error and loses nothing: the socket, the chat and other chats go on."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets

from ..conftest import CLIENT_OPTIONS, Running

VISITOR_BAD = [
    ("not json", "invalid_json"),
    ("[" * 50000 + "]" * 10000, "invalid_json"),
    ('"just a string"', "invalid_frame"),
    ("[1, 2, 3]", "invalid_frame"),
    ("{}", "invalid_frame"),
    ('{"type": 5}', "invalid_frame"),
    ('{"type": "shout"}', "unknown_type"),
    ('{"type": "message", "id": "x"}', "invalid_field"),
    ('{"type": "message", "id": "x", "text": 42}', "invalid_field"),
    ('{"type": "message", "id": "x", "text": "   "}', "invalid_field"),
    ('{"type": "message", "id": {"a": 1}, "text": "hej"}', "invalid_field"),
    ('{"type": "message", "id": true, "text": "hej"}', "invalid_field"),
    (json.dumps({"type": "message", "id": "x", "text": "a" * 4001}), "text_too_long"),
    ('{"type": "intake", "age": "sixteen"}', "invalid_field"),
    ('{"type": "intake", "age": 1000}', "invalid_field"),
    ('{"type": "intake", "gender": "robot"}', "invalid_field"),
    ('{"type": "intake", "municipality": "Stockholm"}', "invalid_field"),
    ('{"type": "intake", "municipality": "0182", "district": "sodermalm"}', "invalid_field"),
    ('{"type": "intake", "age": {"nested": {"deep": [1, 2, 3]}}}', "invalid_field"),
    ('{"type": "typing", "active": "yes"}', "invalid_field"),
    ('{"type": "hello"}', "out_of_order"),
]

VOLUNTEER_BAD = [
    ('{"type": "status", "state": "asleep"}', "invalid_field"),
    ('{"type": "message", "chat": "nosuchchat1", "id": 1, "text": "hej"}', "unknown_chat"),
    ('{"type": "message", "chat": "../../etc", "id": 1, "text": "hej"}', "invalid_field"),
    ('{"type": "end", "chat": "nosuchchat1"}', "unknown_chat"),
    ('{"type": "wrapup", "chat": "nosuchchat1", "report": {"topic": "exposed"}}', "unknown_chat"),
    ('{"type": "wrapup", "chat": "nosuchchat1", "report": {"topic": "bananas"}}', "invalid_field"),
    ('{"type": "wrapup", "chat": "nosuchchat1", "report": {"topic": "exposed", "notes": 1, "violence": ["x"]}}',
     "invalid_field"),
    ('{"type": "wrapup", "chat": "nosuchchat1", "report": "free text"}', "invalid_field"),
    ('{"type": "refer", "chat": "nosuchchat1", "services": []}', "invalid_field"),
    ('{"type": "leave"}', "unknown_type"),
]


async def _chat(server: Running):  # type: ignore[no-untyped-def]
    await server.add_account("anna")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("assigned")
    assigned = await vol.expect("assigned")
    return vol, vis, assigned["chat"]


async def test_every_bad_visitor_frame_gets_an_error_and_the_chat_goes_on(server: Running) -> None:
    vol, vis, chat = await _chat(server)
    bystander = await server.visitor({"lang": "sv"})
    await bystander.expect("queued")
    for raw, code in VISITOR_BAD:
        await vis.send(raw)
        err = await vis.expect("error")
        assert err["code"] == code, (raw[:60], err)
        assert isinstance(err["detail"], str) and err["detail"]
    await vis.send({"type": "message", "id": "after", "text": "fortfarande här"})
    assert (await vol.expect("message"))["text"] == "fortfarande här"
    # the other visitor's connection is untouched
    await bystander.send({"type": "typing", "active": True})
    await bystander.none_of("error")


async def test_every_bad_volunteer_frame_gets_an_error_and_the_chat_goes_on(server: Running) -> None:
    vol, vis, chat = await _chat(server)
    for raw, code in VOLUNTEER_BAD:
        await vol.send(raw)
        err = await vol.expect("error")
        assert err["code"] == code, (raw[:60], err)
    await vol.send({"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}})
    assert (await vol.expect("error"))["code"] == "out_of_order"     # end it first
    await vol.send({"type": "message", "chat": chat, "id": 1, "text": "hallå"})
    assert (await vis.expect("message"))["text"] == "hallå"


async def test_a_message_before_hello_is_out_of_order(server: Running) -> None:
    vis = await server.visitor()
    await vis.send({"type": "message", "id": 1, "text": "hej"})
    assert (await vis.expect("error"))["code"] == "out_of_order"
    await vis.send({"type": "hello"})
    await vis.expect("welcome")


async def test_binary_frames_are_refused_with_an_error(server: Running) -> None:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    await vis.conn.send(b"\x00\x01binary")
    assert (await vis.expect("error"))["code"] == "invalid_frame"


async def test_someone_elses_chat_answers_like_no_chat(server: Running) -> None:
    vol, vis, chat = await _chat(server)
    await server.add_account("bo")
    bo = await server.volunteer("bo")
    for frame in ({"type": "message", "chat": chat, "id": 1, "text": "intrång"},
                  {"type": "end", "chat": chat},
                  {"type": "wrapup", "chat": chat, "report": {"topic": "exposed"}}):
        await bo.send(frame)
        assert (await bo.expect("error"))["code"] == "unknown_chat"
    await vis.none_of("message")


async def test_oversized_frame_closes_with_1009_and_others_go_on(server: Running) -> None:
    vol, vis, chat = await _chat(server)
    big = await server.visitor({"lang": "sv"})
    await big.expect("welcome")
    await big.send(json.dumps({"type": "message", "id": 1, "text": "x" * (70 * 1024)}))
    assert await big.closed() == 1009
    await vis.send({"type": "message", "id": 2, "text": "lever"})
    assert (await vol.expect("message"))["text"] == "lever"


async def test_invalid_utf8_closes_with_1007(server: Running) -> None:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    # Send a text frame whose payload is not UTF-8, below the client's own checks.
    from websockets.frames import Frame, Opcode

    vis.conn.protocol.send_frame(Frame(Opcode.TEXT, b'{"type":"typing","active":true}\xff'))
    vis.conn.send_data()
    assert await vis.closed() == 1007


async def test_too_many_bad_frames_close_the_socket(server: Running) -> None:
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("welcome")
    for _ in range(60):
        await vis.send("nope")
    assert await vis.closed() == 4400


async def test_hello_must_come_in_time(server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    from chat import endpoints

    monkeypatch.setattr(endpoints, "HELLO_TIMEOUT_S", 0.2)
    ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/ws/visitor", **CLIENT_OPTIONS)
    frame = json.loads(await asyncio.wait_for(ws.recv(), 3))
    assert frame["code"] == "hello_timeout"
    with pytest.raises(websockets.ConnectionClosed) as info:
        await asyncio.wait_for(ws.recv(), 3)
    assert info.value.rcvd is not None and info.value.rcvd.code == 4008


async def test_server_still_serves_after_all_that(server: Running) -> None:
    vis = await server.visitor()
    for raw, _ in VISITOR_BAD[:-1]:     # all but the hello: this one never joins the queue
        await vis.send(raw)
    vol, vis2, chat = await _chat(server)
    await vis2.send({"type": "message", "id": 1, "text": "ok"})
    assert (await vol.expect("message"))["text"] == "ok"


async def test_a_flood_is_rate_limited_and_the_chat_goes_on(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: Running = await server_factory(frame_rate=5)        # a burst of 15, then 5 a second
    await server.add_account("anna")
    vol = await server.volunteer("anna")
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("assigned")
    for i in range(40):
        await vis.send({"type": "typing", "active": i % 2 == 0})
    codes = []
    while True:
        try:
            frame = await vis.recv(timeout=0.5)
        except asyncio.TimeoutError:
            break
        if frame["type"] == "error":
            codes.append(frame["code"])
    assert codes and set(codes) == {"rate_limited"}
    assert 20 <= len(codes) <= 26                      # 40 sent, about 15 + 5/s let through
    await asyncio.sleep(0.5)
    await vis.send({"type": "message", "id": "after", "text": "still here"})
    assert (await vis.expect("ack"))["id"] == "after"
    assert (await vol.line("visitor"))["text"] == "still here"


async def _raw_connect(server: Running) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


def _upgrade(server: Running) -> bytes:
    return (f"GET /ws/visitor HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n").encode()


async def test_a_silent_or_dribbling_handshake_is_dropped_with_408(
        server_factory, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """uvicorn itself keeps such a client for ever (measured); chat.server gives it 408."""
    from chat import server as server_module

    monkeypatch.setattr(server_module, "REQUEST_TIMEOUT_S", 0.5)
    server: Running = await server_factory()
    loop = asyncio.get_running_loop()
    silent = await _raw_connect(server)
    dribble = await _raw_connect(server)

    async def trickle() -> None:
        for byte in _upgrade(server):               # one byte every 0.1 s: ~20 s for the whole request
            dribble[1].write(bytes([byte]))
            await asyncio.sleep(0.1)

    sender = asyncio.create_task(trickle())
    started = loop.time()
    try:
        for reader, _ in (silent, dribble):
            answer = await asyncio.wait_for(reader.read(), 5)       # everything, until the server closes
            assert answer.startswith(b"HTTP/1.1 408 ") and answer.endswith(b"request not received in time")
        assert loop.time() - started < 3
    finally:
        sender.cancel()
        for _, writer in (silent, dribble):
            writer.close()
    # A prompt client is not affected, before or after the deadline.
    vis = await server.visitor({"lang": "sv"})
    await vis.expect("queued")
    await asyncio.sleep(0.8)
    await vis.send({"type": "typing", "active": True})
    await vis.nothing(0.3)
    async with httpx.AsyncClient(base_url=server.http) as client:      # keep-alive, two requests
        assert (await client.get("/healthz")).status_code == 200
        await asyncio.sleep(0.8)
        assert (await client.get("/healthz")).status_code == 200


async def test_a_waiting_visitor_who_never_answers_pings_is_dropped_and_frees_its_place(
        server_factory, monkeypatch: pytest.MonkeyPatch, fast_timers: None) -> None:  # type: ignore[no-untyped-def]
    """A phone that went into a tunnel: the socket is closed after the ping timeout, the
    chat waits out the visitor's grace period and then leaves the queue."""
    from chat import server as server_module
    from chat import state as S

    monkeypatch.setattr(server_module, "PING_INTERVAL_S", 0.3)
    monkeypatch.setattr(server_module, "PING_TIMEOUT_S", 0.3)
    server: Running = await server_factory(visitor_grace_s=0.5)
    reader, writer = await _raw_connect(server)
    writer.write(_upgrade(server))
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 ")
    payload, mask = json.dumps({"type": "hello", "lang": "sv"}).encode(), b"\x01\x02\x03\x04"
    writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    await writer.drain()

    async def queued() -> int:
        return await server.app.state.broker.read(lambda tx: tx.zcard(S.QUEUE, watch=False))  # type: ignore[no-any-return]

    for _ in range(100):
        if await queued() == 1:
            break
        await asyncio.sleep(0.02)
    assert await queued() == 1 and len(server.hub.visitors) == 1
    # From here on nothing is read, so no ping is ever answered.
    loop = asyncio.get_running_loop()
    started = loop.time()
    while server.hub.visitors:
        assert loop.time() - started < 5, "the silent socket was never dropped"
        await asyncio.sleep(0.05)
    while await queued():
        assert loop.time() - started < 8, "the chat never left the queue"
        await asyncio.sleep(0.05)
    writer.close()
