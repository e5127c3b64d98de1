"""Running the app on uvicorn, tuned as measured (shared/design/facts.md)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import signal
from types import FrameType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.exceptions import InvalidState

from .kernel.logs import get_logger

from .app import create_app
from .frames import MAX_FRAME_BYTES
from .outbox import SOCKET
from .kernel.settings import Settings

# Ping every 20 s and give up after 20 s more: a phone that went into a tunnel is
# noticed within ~40 s, and the visitor then has the grace period to resume.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0
# On SIGTERM a node with a shared broker tells its clients to reconnect (they
# resume on another node) and waits this long for them to go before it stops.
DRAIN_S = 5.0

# A request (its headers, and a body if it has one) must arrive this soon after
# the connection opens or after its first byte: uvicorn has no such deadline, and
# a client that sends nothing, or a byte every few seconds, would hold a file
# descriptor for ever (measured: still open after 30 s). The reverse proxy has one
# too (deploy/nginx.conf, 10 s); this one protects a node reached directly. A
# WebSocket upgrade is a few hundred bytes: 10 s is ample on a poor mobile link.
REQUEST_TIMEOUT_S = 10.0

log = get_logger("chat.server")


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for receiving each request.

    Armed when the connection opens and whenever the first bytes of a next
    request arrive; disarmed once the request is in (h11's client state leaves
    IDLE and SEND_BODY) or is a WebSocket upgrade. On expiry a client
    still sending headers gets ``408`` and the connection is closed.
    """

    _deadline: asyncio.TimerHandle | None = None
    _upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._upgraded:
            return
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            if self.conn.their_state is h11.SEND_BODY or self.conn.trailing_data[0]:
                self._arm()
        else:
            self._disarm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True       # the socket is the WebSocket protocol's from here on
        self._disarm()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(REQUEST_TIMEOUT_S, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.conn.their_state is h11.IDLE and self.conn.our_state is h11.IDLE:
            body = b"request not received in time"
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        self.transport.close()


# Frames received and not yet taken by the app before reading from the socket pauses.
# uvicorn pauses after every frame and resumes when the app took it: two epoll_ctl
# calls per frame, which on this machine cost more than parsing it. A few frames of
# read-ahead (each at most MAX_FRAME_BYTES, and the frame rate limit applies) keep the
# back-pressure and drop those calls.
READ_AHEAD = 16


class SocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, with two changes measured on bench.relay.

    * Reading pauses only when ``READ_AHEAD`` frames wait for the app (see above).
    * ``write_text_now`` writes a text frame at once, from any task, when the socket
      is open and its transport can take more; the app finds the protocol in the scope
      under ``SOCKET`` (chat.outbox): a frame then costs no trip through the ASGI send
      coroutine and no wake-up of the socket's send loop.
    """

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if self.response.status_code == 101:
            self.scope[SOCKET] = self  # type: ignore[literal-required]

    def write_text_now(self, text: str) -> bool:
        if (not self.handshake_complete or self.close_sent or self.disconnected
                or self.initial_response is not None or not self.writable.is_set()):
            return False
        try:
            self.conn.send_text(text.encode())
        except InvalidState:
            return False
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

    def send_receive_event_to_app(self) -> None:
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return                      # past websocket.close: drop it, keep reading the close reply
        if self.curr_msg_data_type == "text":
            try:
                message: dict[str, Any] = {"type": "websocket.receive", "text": data.decode()}
            except UnicodeDecodeError:
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
        else:
            message = {"type": "websocket.receive", "bytes": data}
        self.queue.put_nowait(message)  # type: ignore[arg-type]
        if not self.read_paused and self.queue.qsize() >= READ_AHEAD:
            self.read_paused = True
            self.transport.pause_reading()

    async def receive(self) -> Any:
        message = await self.queue.get()
        if self.read_paused and self.queue.qsize() <= READ_AHEAD // 2:
            self.read_paused = False
            self.transport.resume_reading()
        return message


def uvicorn_config(settings: Settings, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        # The sans-I/O implementation is as fast as a bare websockets server;
        # the legacy one and wsproto reach about half (facts.md).
        # (SocketProtocol: reads ahead a few frames, writes frames at once when it can.)
        ws=SocketProtocol,
        # h11 with a deadline per request (slow or silent clients are dropped).
        http=DeadlineH11Protocol,
        # Compression costs ~34 KiB per connection and OWASP advises it off.
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME_BYTES,
        ws_ping_interval=PING_INTERVAL_S,
        ws_ping_timeout=PING_TIMEOUT_S,
        # uvloop gives x2.8 on the sans-I/O path; fall back to asyncio without it.
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        # The access log would write every client's address: never on.
        access_log=False,
        # Which proxies' X-Forwarded-For/-Proto to believe is JOURCHATT_TRUSTED_PROXIES'
        # decision alone (chat/kernel/addresses.py, HSTS in chat/app.py); uvicorn's own default
        # would believe any proxy on 127.0.0.1.
        proxy_headers=False,
        log_config=None,
        server_header=False,
        date_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )


class Server(uvicorn.Server):
    """uvicorn, with a graceful drain before its own shutdown.

    uvicorn's shutdown closes every socket at once (1012). With a shared broker
    the first SIGTERM/SIGINT instead drains: no new sockets, every client gets
    ``reconnect`` and its socket closes (1012); once they are gone, or after
    ``DRAIN_S``, uvicorn shuts down as usual. A second signal stops at once.
    """

    _draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        app: Any = self.config.app
        hub = getattr(app.state, "hub", None) if hasattr(app, "state") else None
        if (self._draining or hub is None or not hub.broker.shared
                or sig not in (signal.SIGTERM, signal.SIGINT)):
            super().handle_exit(sig, frame)
            return
        self._draining = True
        app.state.draining = True
        loop = asyncio.get_event_loop()
        loop.call_soon_threadsafe(lambda: loop.create_task(self._drain(hub, app, sig, frame)))

    async def _drain(self, hub: Any, app: Any, sig: int, frame: FrameType | None) -> None:
        try:
            await hub.drain()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_S
            while app.state.sockets["open"] > 0 and loop.time() < deadline:
                await asyncio.sleep(0.05)
            log.info("node.drained", left=app.state.sockets["open"])
        finally:
            uvicorn.Server.handle_exit(self, sig, frame)


def serve(settings: Settings, host: str, port: int) -> None:
    config = uvicorn_config(settings, host, port)
    # The modules and the app live as long as the process: keep them out of the
    # cycle collector's full passes, which walk every object (~60k of them, 20-80 ms
    # here) and stall every socket meanwhile: a tail-latency spike for every line.
    gc.freeze()
    Server(config).run()
