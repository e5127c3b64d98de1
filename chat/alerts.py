"""Alerts: a volunteer calls for help, or flags acute danger; a supervisor deals with it.

    escalate {chat, kind}       a volunteer asks for help (``help``) or flags acute danger
    dismiss {alert}             an alert is dealt with

Alerts live in the broker (``jc:alerts``) and show in the shift overview
(``chat.overview``) while their chat is live.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from . import state as S
from .frame_types import Dismiss, Escalate
from .kernel.broker import Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import Live
from .live.lines import Lines
from .live.sessions import Console
from .kernel.logs import get_logger
from .overview import Overview

log = get_logger(__name__)

# Alerts are kept this long at most (they also go when their chat ends or is dismissed).
ALERT_TTL_S = 6 * 3600


class Alerts:
    def __init__(self, live: Live, *, lines: Lines, overview: Overview) -> None:
        self.live = live
        self.lines = lines
        self.overview = overview

    async def on_escalate(self, con: Console, frame: Escalate) -> None:
        chat, vid, kind = frame["chat"], con.profile.id, frame["kind"]
        alert = secrets.token_hex(6)
        now = self.live.clock()

        async def fn(tx: Tx) -> None:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.vol != vid:
                raise FrameError.of(codes.UNKNOWN_CHAT)
            if st.state != "active":
                raise FrameError.of(codes.CHAT_ENDED)
            tx.hset(S.ALERTS, {alert: json.dumps({"chat": chat, "kind": kind, "vid": vid, "at": now})})
            # Counted for the record (escalations_help / escalations_acute), never with a reason.
            count = st.esc_acute if kind == "acute" else st.esc_help
            tx.hset(S.chat_key(chat), {f"esc_{kind}": str(count + 1)})
            tx.expire(S.ALERTS, ALERT_TTL_S)

        await self.live.broker.transact(fn)
        con.outbox.send({"type": "escalated", "chat": chat, "kind": kind, "alert": alert})
        if kind == "acute":
            await self.lines.system(chat, "acute_guidance", to="volunteer")
        log.warning("chat.escalated", chat=chat, kind=kind, volunteer=vid[:8])
        self.overview.changed()

    async def on_dismiss(self, con: Console, frame: Dismiss) -> None:
        async def fn(tx: Tx) -> bool:
            if await tx.hget(S.ALERTS, frame["alert"]) is None:
                return False
            tx.hdel(S.ALERTS, frame["alert"])
            return True

        if not await self.live.broker.transact(fn):
            raise FrameError.of(codes.UNKNOWN_ALERT)
        self.overview.changed()
