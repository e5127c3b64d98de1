"""The live-chat context: what every part of the live chat shares, and its primitives.

One ``Live`` per node. It holds the broker, the database sessions, the clock, the
sockets registered here (``visitors``, ``consoles``, ``outboxes``), the sealers,
and the notice table; its primitives are the ones every transaction uses: seal and
open, ``notify`` (a notice to a node), ``append`` (a line to the sealed replay log
and to its readers), and ``commit`` (run a transaction, then dispatch the notices it
made for this node). ``queue_changed`` is the seam through which any part says that
waiting visitors' positions may have moved (``chat.live.matching`` fills it).

Everything another node may need lives in the broker (``chat.state`` lists the
keys) and changes only in broker transactions; the context keeps nothing but this
node's sockets, so any node can serve any visitor or volunteer.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any, Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .. import state as S
from ..kernel.broker import MAX_LOG_ENTRIES, Broker, Tx
from ..kernel import error_codes as codes
from ..kernel.exceptions import FrameError
from ..outbox import Outbox
from ..sealing import Sealer
from ..kernel.settings import Settings
from .notices import Notices
from .sessions import Console, Visitor

# A node whose heartbeat is older than this is dead: its sockets are marked gone.
NODE_TIMEOUT_S = 5.0
# Shared keys of a live chat or volunteer expire this long after their last write
# (refreshed while in use); a crash of every node leaves nothing behind for long.
STATE_TTL_S = 6 * 3600
# Seq used as associated data for sealed notices, intake answers, referrals, the topic and a
# warm transfer's handover note (chat.offers), so no sealed value can stand in for another.
NOTE_SEQ, INTAKE_SEQ, REFERRALS_SEQ, SKILL_SEQ, HANDOVER_SEQ = 0, -1, -2, -3, -4
# Sealers kept per node; past this the cache starts again (a sealer is cheap to make).
SEALERS_KEPT = 20000

# Notices made inside a transaction for this node, dispatched after it commits.
Local = list[dict[str, Any]]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def parse_wraps(raw: str) -> dict[str, float]:
    """A volunteer's wrap-ups due: ``chat@deadline,...`` -> {chat: deadline}."""
    out: dict[str, float] = {}
    for item in raw.split(",") if raw else []:
        chat, _, deadline = item.partition("@")
        out[chat] = float(deadline)
    return out


def vol_fields(chats: set[str], wraps: dict[str, float]) -> dict[str, str]:
    """A volunteer's held chats and wrap-ups, as the fields of its hash."""
    return {"chats": ",".join(sorted(chats)),
            "wraps": ",".join(f"{c}@{d!r}" for c, d in sorted(wraps.items()))}


def vol_chats(raw: dict[str, str]) -> set[str]:
    """The chats a volunteer's hash says it holds."""
    return {c for c in raw.get("chats", "").split(",") if c}


def wrapup_chats(raw: dict[str, str]) -> set[str]:
    """The chats whose wrap-up a volunteer's hash says is due."""
    return {item.partition("@")[0] for item in raw.get("wraps", "").split(",") if item}


def joined_by(raw: dict[str, str]) -> set[str]:
    """The supervisors who joined the chat of this hash (``chat.supervision``)."""
    return {v for v in raw.get("joined", "").split(",") if v}


def _no_change() -> None:
    return None


class Live:
    def __init__(self, settings: Settings, broker: Broker, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], float] = time.time, node: str | None = None) -> None:
        self.settings = settings
        self.broker = broker
        self.sessions = sessions
        self.clock = clock
        self.node = node or secrets.token_hex(6)
        self.visitors: dict[str, Visitor] = {}          # chat -> its visitor's socket here
        self.consoles: dict[str, Console] = {}          # account -> its console here
        self.outboxes: dict[str, Outbox] = {}           # conn -> outbox, for remote closes
        self.draining = False
        self.log_ttl = max(STATE_TTL_S, settings.visitor_grace_s + settings.idle_warn_s
                           + settings.idle_close_s + 3600)
        self._sealers: dict[str, Sealer] = {}
        self.notices = Notices(broker, self.node, self.outboxes, self.open, NOTE_SEQ)
        # Waiting visitors' positions may have moved (filled by chat.live.matching).
        self.queue_changed: Callable[[], None] = _no_change

    # -- sealing -------------------------------------------------------------------------
    def sealer(self, chat_id: str) -> Sealer:
        sealer = self._sealers.get(chat_id)
        if sealer is None:
            if len(self._sealers) > SEALERS_KEPT:
                self._sealers.clear()
            sealer = self._sealers[chat_id] = Sealer(self.settings.secret, chat_id)
        return sealer

    def seal(self, chat_id: str, payload: Any, seq: int = NOTE_SEQ) -> str:
        return b64(self.sealer(chat_id).seal(seq, json.dumps(payload, ensure_ascii=False).encode()))

    def open(self, chat_id: str, blob: str, seq: int = NOTE_SEQ) -> Any:
        return json.loads(self.sealer(chat_id).open(seq, base64.b64decode(blob)))

    def intake(self, st: S.ChatState) -> dict[str, Any]:
        """The visitor's intake answers (sealed in the chat's hash)."""
        return self.open(st.id, st.intake, INTAKE_SEQ) if st.intake else {}

    def timers(self, st: S.ChatState) -> dict[str, int]:
        """The console's timers of an answered chat: seconds the visitor waited in the queue, and
        since a volunteer first answered. Durations, not instants, so a console whose clock is off
        still counts right."""
        waited = max(0.0, st.waited or 0.0)
        return {"waited_s": int(waited), "active_s": int(max(0.0, self.clock() - st.started - waited))}

    def skill(self, st: S.ChatState) -> str | None:
        """The skill a chat's intake topic asks for (sealed in the chat's hash), or None."""
        if not st.skill:
            return None
        value = self.open(st.id, st.skill, SKILL_SEQ)
        return value if isinstance(value, str) else None

    def referrals(self, st: S.ChatState) -> dict[str, Any]:
        """What was referred in a chat: ``{"given": [{"service", "codes": [hash]}]}``."""
        return self.open(st.id, st.referrals, REFERRALS_SEQ) if st.referrals else {"given": []}

    # -- transactions and notices ------------------------------------------------------------
    def notify(self, tx: Tx, node: str, notice: dict[str, Any], local: Local,
               payload: Any = None, blob: str | None = None) -> None:
        """Send ``notice`` to ``node``: here at once after the commit, elsewhere by Pub/Sub.

        A payload crosses Redis sealed: ``blob`` when the caller sealed it already.
        """
        if not node:
            return
        if node == self.node:
            local.append({**notice, "payload": payload})
        else:
            if payload is not None:
                notice = {**notice, "blob": blob or self.seal(notice["chat"], payload)}
            tx.publish(node, json.dumps(notice, separators=(",", ":")))

    def append(self, tx: Tx, local: Local, st: S.ChatState, seq: int, entry: dict[str, Any],
               readers: list[tuple[str, str]]) -> None:
        """Log line ``seq`` sealed (the log bounded, with a TTL) and send it to each (side, node)."""
        sealed = b64(self.sealer(st.id).seal(seq, json.dumps(entry, ensure_ascii=False).encode()))
        key = S.log_key(st.id)
        tx.zadd(key, {sealed: seq})
        if seq > MAX_LOG_ENTRIES:
            tx.zremrangebyrank(key, 0, -MAX_LOG_ENTRIES - 1)
        tx.expire(key, self.log_ttl)
        for side, node in readers:
            self.notify(tx, node, {"k": "line", "chat": st.id, "to": side, "seq": seq, "vid": st.vol},
                        local, entry, blob=sealed)
        for vid, node in st.observers():    # supervisors observing (chat.supervision)
            self.notify(tx, node, {"k": "line", "chat": st.id, "to": "observer", "seq": seq, "vid": vid},
                        local, entry, blob=sealed)

    async def commit(self, fn: Callable[[Tx, Local], Awaitable[Any]]) -> Any:
        """Run a transaction that may notify sockets; deliver the local notices after it."""
        local: Local = []

        async def run(tx: Tx) -> Any:
            local.clear()
            return await fn(tx, local)

        result = await self.broker.transact(run)
        for notice in local:
            await self.notices.dispatch(notice)
        return result

    # -- reading the shared state ----------------------------------------------------------
    async def vol_node(self, tx: Tx, vid: str) -> str:
        """The node holding volunteer ``vid``'s console ("" when away), inside ``tx``."""
        if not vid:
            return ""
        return (await tx.hgetall(S.vol_key(vid), watch=False)).get("node", "")

    async def vol_name(self, vid: str) -> str:
        raw = await self.broker.read(lambda tx: tx.hgetall(S.vol_key(vid), watch=False))
        return raw.get("name", "")

    async def read_chat(self, chat_id: str) -> S.ChatState | None:
        raw = await self.broker.read(lambda tx: tx.hgetall(S.chat_key(chat_id), watch=False))
        return S.ChatState.load(chat_id, raw)

    async def live_chat(self, tx: Tx, chat_id: str, *, watch: bool = True) -> S.ChatState:
        """The chat, queued or active; ``chat_ended`` otherwise."""
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id), watch=watch))
        if st is None or st.state not in ("queued", "active"):
            raise FrameError.of(codes.CHAT_ENDED)
        return st

    async def own_chat(self, tx: Tx, chat_id: str, vid: str, *, watch: bool = True) -> S.ChatState:
        """The active chat volunteer ``vid`` holds; ``unknown_chat`` or ``chat_ended`` otherwise."""
        st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id), watch=watch))
        if st is None or st.vol != vid:
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.state != "active":
            raise FrameError.of(codes.CHAT_ENDED)
        return st
