"""The WebSocket endpoints: sockets in, hub calls out.

One shape for both: check the Origin (before ``accept()``, which answers 403),
check capacity, accept, bind the log context, then run a receive loop and a send
loop; the first to finish cancels the other, and the socket is closed with an
explicit code. Every frame is validated (``chat.frames``) before the hub sees it;
a bad frame gets an ``error`` frame and the chat goes on.

Close codes of our own (4000-4999):
    4400 too many bad frames       4401 not signed in (or signed out)
    4403 may not take chats        4408 fell too far behind; resume with last_seq
    4409 replaced by a newer connection                4008 hello not received in time
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Awaitable, Callable

import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from .kernel import db
from .kernel.addresses import peer_address
from .kernel import error_codes as codes
from .kernel.error_codes import Code
from .kernel.exceptions import FatalFrameError, FrameError
from .frame_types import Hello
from .frames import parse_visitor, parse_volunteer
from .kernel.broker import BrokerError
from .hub import Console, Hub, Outbox, Visitor
from .outbox import SOCKET, dumps
from .kernel.logs import get_logger
from .kernel.web import origin_allowed
from .waiting import Place, WaitingCap, countable_address, resumable
from . import texts
from .state import is_practice

log = get_logger("chat.endpoints")

# A visitor must say hello this soon after connecting, or the socket is closed:
# an open socket that never speaks only holds a file descriptor.
HELLO_TIMEOUT_S = 15.0
# Bad frames tolerated on one connection before it is closed (4400): enough for
# a buggy client to be told what is wrong, not enough to be a way to burn CPU.
MAX_BAD_FRAMES = 50
# A connection may send a burst of this many seconds' worth of frames at
# JOURCHATT_FRAME_RATE before the rate applies: a pasted paragraph split into
# lines, or a resend after a reconnect, passes; a flood does not.
FRAME_BURST_S = 3.0
# After the send loop closed the socket, the receive loop normally sees the
# disconnect at once; it is stopped anyway this long after, so a socket never lingers.
SENDER_GRACE_S = 5.0
RATE_LIMITED_DETAIL = ("För många ramar; den här utfördes inte, skicka den igen om en stund. / "
                       "Too many frames; this one was not carried out, send it again in a moment.")


def _close_after(outbox: Outbox, error: FatalFrameError) -> None:
    """Send the error frame, then close the socket with the error's close code."""
    outbox.send(error.frame())
    outbox.close(error.close_code)


class FrameBudget:
    """A token bucket: ``rate`` frames a second, bursts up to ``rate * FRAME_BURST_S``."""

    __slots__ = ("rate", "cap", "tokens", "at")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.cap = max(1.0, rate * FRAME_BURST_S)
        self.tokens = self.cap
        self.at = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.cap, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
# How often an open console re-checks its login session (it also keeps the session
# in use: an open console is not idle).
SESSION_CHECK_S = 30.0





def _io(ws: WebSocket) -> Any:
    """What the socket's loops receive from and send to once it is accepted: the server's
    own protocol (chat.server.SocketProtocol, left in the scope under ``SOCKET``), whose
    ``receive``/``send`` are the ASGI callables the server gave the app. Starlette's
    WebSocket methods and its exception wrapper around send add nothing to a frame but
    cost a share of a relayed line (bench.relay). The handshake and the close still go
    through Starlette's WebSocket, which is also the fallback under another server."""
    return ws.scope.get(SOCKET) or ws


async def _send_loop(ws: WebSocket, outbox: Outbox) -> None:
    io = _io(ws)
    # From here on a frame may skip this loop when nothing waits before it (chat.outbox);
    # once the outbox is closed it takes no frame, so the close below goes out last.
    outbox.direct = io if io is not ws else None
    try:
        while True:
            frame = await outbox.next()
            if frame is None:
                await ws.close(outbox.close_code or 1000)
                return
            outbox.sending = True
            try:
                await io.send({"type": "websocket.send", "text": dumps(frame)})
            finally:
                outbox.sending = False
    finally:
        outbox.direct = None


async def _receive_loop(ws: WebSocket, outbox: Outbox,
                        handle: Callable[[str | bytes | None], Awaitable[None]],
                        hello_within: float | None, established: Callable[[], bool]) -> None:
    bad = 0
    io = _io(ws)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hello_within if hello_within is not None else None
    budget = FrameBudget(ws.app.state.settings.frame_rate, loop.time())
    refused = ws.app.state.metrics.refused     # every error frame sent here is counted by its code

    def refuse(frame: dict[str, Any]) -> None:
        refused(frame["code"])
        outbox.send(frame)

    def close_with(error: FatalFrameError) -> None:
        refused(error.code)
        _close_after(outbox, error)

    while True:
        try:
            if deadline is not None and not established():
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation.
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    message = await io.receive()
            else:
                message = await io.receive()
        except asyncio.TimeoutError:
            close_with(FatalFrameError.of(codes.HELLO_TIMEOUT))
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes")
        try:
            if not budget.take(loop.time()):
                raise FrameError.of(codes.RATE_LIMITED, RATE_LIMITED_DETAIL)
            await handle(raw)
            # Let send loops run between frames: a client whose frames arrive in a
            # burst must not starve other sockets or fill its peer's outbox.
            await asyncio.sleep(0)
        except FatalFrameError as exc:
            close_with(exc)
            return
        except BrokerError:
            # Not the client's fault: the frame was not carried out; it may try again.
            refuse(codes.UNAVAILABLE.frame())
        except FrameError as exc:
            bad += 1
            refuse(exc.frame())
            if bad >= MAX_BAD_FRAMES:
                close_with(FatalFrameError.of(codes.TOO_MANY_ERRORS))
                return
        except Exception as exc:
            if db.unreachable(exc):
                # The database is away (a referral, a supervisor's tool): not carried out, retry.
                log.warning("frame.unavailable", error=type(exc).__name__)
                refuse(codes.UNAVAILABLE.frame())
                continue
            # A bug of ours, not the client's: say so without detail, keep the chat.
            log.exception("frame.failed")
            refuse(codes.INTERNAL_ERROR.frame())


async def _run(ws: WebSocket, outbox: Outbox,
               handle: Callable[[str | bytes | None], Awaitable[None]],
               hello_within: float | None = None,
               established: Callable[[], bool] = lambda: True) -> None:
    """Receive in this task and send in one other; the first to finish ends the other.

    Receiving in the endpoint's own task (not a task of its own) saves a task per
    socket, which matters with thousands of idle visitors (bench/idle.py).
    """
    loop = asyncio.get_running_loop()
    receiving = asyncio.current_task()
    assert receiving is not None
    sender = asyncio.create_task(_send_loop(ws, outbox))
    stopped_by_sender = False
    grace: asyncio.TimerHandle | None = None

    def sender_finished(task: asyncio.Task[None]) -> None:
        # The send loop closed the socket (the receiver will see the disconnect at
        # once) or failed; either way stop receiving, after at most SENDER_GRACE_S.
        nonlocal stopped_by_sender, grace

        def stop() -> None:
            nonlocal stopped_by_sender
            stopped_by_sender = True
            receiving.cancel()

        failed = task.cancelled() or task.exception() is not None
        grace = loop.call_later(0 if failed else SENDER_GRACE_S, stop)

    sender.add_done_callback(sender_finished)
    try:
        await _receive_loop(ws, outbox, handle, hello_within, established)
    except asyncio.CancelledError:
        if not stopped_by_sender:
            raise                       # cancelled from outside (shutdown): let it through
        receiving.uncancel()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sender.remove_done_callback(sender_finished)
        if grace is not None:
            grace.cancel()
        if outbox.close_code is not None and not sender.done():
            # A fatal frame error or a replaced connection: let the error frame and
            # the close go out first.
            try:
                async with asyncio.timeout(SENDER_GRACE_S):     # not wait_for: see Hub._cancel_all
                    await asyncio.shield(sender)
            except Exception:
                pass
        sender.cancel()
        [result] = await asyncio.gather(sender, return_exceptions=True)
        if isinstance(result, Exception) and not isinstance(
                result, (WebSocketDisconnect, RuntimeError, asyncio.CancelledError, OSError)):
            log.error("socket.failed", error=type(result).__name__)


def _open_sockets(ws: WebSocket) -> dict[str, int]:
    return ws.app.state.sockets  # type: ignore[no-any-return]


async def _admit(ws: WebSocket, side: str) -> Outbox | None:
    """Origin and capacity checks; accept; return the connection's outbox, or None if refused."""
    state = ws.app.state
    if not origin_allowed(ws, state.settings.allowed_origins):
        log.info("socket.refused", side=side, reason="origin")
        await ws.close(code=1008)    # before accept(): the handshake gets HTTP 403
        return None
    counts = _open_sockets(ws)
    over = counts["open"] >= state.settings.max_sockets or state.draining
    await ws.accept()
    if over:
        log.warning("socket.refused", side=side, reason="full")
        if side == "visitor":
            services = await state.hub.closed_services("sv")
            await ws.send_text(dumps({"type": "closed", "reason": "full", "services": services,
                                       "text": texts.text("queue_full", "sv")}))
        else:
            await ws.send_text(dumps(codes.FULL.frame()))
        await ws.close(1013)        # "try again later"; the volunteer's frame before it says full
        return None
    conn = secrets.token_hex(6)
    structlog.contextvars.bind_contextvars(conn=conn, side=side)
    return Outbox(conn)


async def _waiting_place(ws: WebSocket, hello: Hello, address: str | None) -> Place:
    """A place in the per-address count for a hello that opens a new chat (chat.waiting)."""
    if await resumable(ws.app.state.broker, hello["resume"]):
        return Place()              # a chat that is already counted, or already taken
    return await ws.app.state.waiting.reserve(address)  # type: ignore[no-any-return]


async def _turn_away(outbox: Outbox, hub: Hub, reason: str, lang: str) -> None:
    """Refuse a hello before any chat exists: no record (a flood must not write rows)."""
    outbox.send({"type": "welcome", "resume_token": None, "open": False})
    outbox.send({"type": "closed", "reason": reason, "services": await hub.closed_services(lang),
                 "text": texts.text(reason, lang)})
    outbox.close(1000)
    log.info("chat.turned_away", reason=reason)


async def visitor_socket(ws: WebSocket) -> None:
    outbox = await _admit(ws, "visitor")
    if outbox is None:
        return
    hub: Hub = ws.app.state.hub
    counts = _open_sockets(ws)
    counts["open"] += 1
    counts["visitor"] += 1
    lines = ws.app.state.metrics.lines["visitor"]
    chat: Visitor | None = None
    turned_away = False
    # Held in memory for this socket only, to screen for blocks and count waiting
    # visitors per address (chat.waiting): never stored or logged.
    address = peer_address(ws.scope, ws.app.state.settings.trusted_proxies)
    countable = countable_address(ws.scope, ws.app.state.settings.trusted_proxies)
    waiting: WaitingCap = ws.app.state.waiting

    async def handle(raw: str | bytes | None) -> None:
        nonlocal chat, turned_away
        frame = parse_visitor(raw)
        if chat is None:
            if turned_away:
                raise FrameError.of(codes.CHAT_ENDED)
            if frame["type"] != "hello":
                raise FrameError.of(codes.OUT_OF_ORDER, "Skicka hello först. / Send hello first.")
            # Before screen(): nothing may be awaited between screen() and the hello.
            place = await _waiting_place(ws, frame, countable)
            if place.refused:
                turned_away = True
                await _turn_away(outbox, hub, "network_full", frame["lang"])
                return
            try:
                blocked, hashes = await hub.sup.screen(address)
                if blocked:
                    turned_away = True
                    await _turn_away(outbox, hub, "blocked", frame["lang"])
                    return
                if frame.get("followup") and not frame["resume"]:
                    frame["followup_vid"] = await hub.sup.followup_owner(frame["followup"])
                chat = await hub.visitor_hello(outbox, frame)
            finally:
                await waiting.settle(place, chat.id if chat is not None else None)
            turned_away = chat is None
            if chat is not None:
                structlog.contextvars.bind_contextvars(chat=chat.id)
                await hub.sup.remember(chat.id, hashes)
        else:
            await hub.visitor_frame(chat, outbox, frame)
            if frame["type"] == "message":
                lines.inc()

    try:
        await _run(ws, outbox, handle, hello_within=HELLO_TIMEOUT_S,
                   established=lambda: chat is not None or turned_away)
    finally:
        counts["open"] -= 1
        counts["visitor"] -= 1
        if chat is not None:
            await hub.visitor_disconnected(chat, outbox)
        log.info("socket.closed", close_code=outbox.close_code)
        structlog.contextvars.clear_contextvars()


async def _watch_session(ws: WebSocket, outbox: Outbox, role: str) -> None:
    """Close the console when its login session ends elsewhere (expiry, logout on
    another node, an admin's disable, reset or role change, which end every session),
    or when the account's role is no longer the one the console opened with."""
    from volunteer.api import current_profile

    while True:
        await asyncio.sleep(SESSION_CHECK_S)
        try:
            profile = await current_profile(ws)
        except Exception:
            continue        # the database is briefly away: check again later
        if profile is None or profile.role != role:
            _close_after(outbox, FatalFrameError.of(codes.SESSION_EXPIRED if profile is None
                                                    else codes.ROLE_CHANGED))
            return


async def volunteer_socket(ws: WebSocket) -> None:
    from volunteer.api import current_profile

    outbox = await _admit(ws, "volunteer")
    if outbox is None:
        return
    try:
        profile = await current_profile(ws, allow_restricted=True)
    except Exception as exc:
        if not db.unreachable(exc):
            raise
        # The sign-in cannot be checked while the database is away: say so, as for Redis.
        log.warning("socket.refused", side="volunteer", reason="unavailable", error=type(exc).__name__)
        await ws.send_text(dumps(codes.UNAVAILABLE.frame()))
        await ws.close(1013)        # "try again later": the console reconnects by itself
        return
    # A trainee's console shadows chats and answers practice chats, never real ones (chat.shadowing).
    if profile is None or profile.restricted or not (profile.may_take_chats or profile.role == "trainee"):
        refusal: Code = (codes.NOT_AUTHENTICATED if profile is None
                         else codes.SECOND_FACTOR_REQUIRED if profile.restricted else codes.NOT_ALLOWED)
        error = FatalFrameError.of(refusal)
        await ws.send_text(dumps(error.frame()))
        await ws.close(error.close_code)
        log.info("socket.refused", side="volunteer", reason=refusal.name)
        return
    hub: Hub = ws.app.state.hub
    counts = _open_sockets(ws)
    counts["open"] += 1
    counts["volunteer"] += 1
    structlog.contextvars.bind_contextvars(volunteer=profile.id[:8])
    try:
        vol: Console = await hub.volunteer_connected(profile, outbox)
    except BrokerError:
        counts["open"] -= 1
        counts["volunteer"] -= 1
        await ws.send_text(dumps(codes.UNAVAILABLE.frame()))
        await ws.close(1013)        # "try again later": the console reconnects by itself
        structlog.contextvars.clear_contextvars()
        return

    lines = ws.app.state.metrics.lines["volunteer"]

    async def handle(raw: str | bytes | None) -> None:
        frame = parse_volunteer(raw)
        await hub.volunteer_frame(vol, outbox, frame)
        if frame["type"] == "message" and not is_practice(frame["chat"]):     # practice: counted nowhere
            lines.inc()

    watcher = asyncio.create_task(_watch_session(ws, outbox, profile.role))
    try:
        await _run(ws, outbox, handle)
    finally:
        watcher.cancel()
        counts["open"] -= 1
        counts["volunteer"] -= 1
        await hub.sup.disconnected(vol)
        await hub.volunteer_disconnected(vol, outbox)
        log.info("socket.closed", close_code=outbox.close_code)
        structlog.contextvars.clear_contextvars()
