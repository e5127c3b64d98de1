"""Care for volunteers: a debrief asked for after a heavy chat; a pause suggested after several.

    debrief {chat}              after a chat (while its wrap-up is due) the volunteer asks the
                                supervisor on duty for a debrief

The request becomes an alert (``jc:alerts``, kind ``debrief``) that the shift overview
shows to supervisors until one dismisses it, and is counted in the chat's record
(``debrief``), never with a reason. The count of heavy chats in a row and the
suggested pause are kept with the wrap-up (``chat.live.ending``).
"""

from __future__ import annotations

import json
import secrets

from . import state as S
from .alerts import ALERT_TTL_S
from .frame_types import Debrief
from .kernel import error_codes as codes
from .kernel.broker import Tx
from .kernel.exceptions import FrameError
from .kernel.logs import get_logger
from .live.context import Live, vol_chats, wrapup_chats
from .live.sessions import Console
from .overview import Overview

log = get_logger(__name__)


class Care:
    def __init__(self, live: Live, *, overview: Overview) -> None:
        self.live = live
        self.overview = overview

    async def on_debrief(self, con: Console, frame: Debrief) -> None:
        chat, vid = frame["chat"], con.profile.id
        alert = secrets.token_hex(6)
        now = self.live.clock()

        async def fn(tx: Tx) -> bool:
            raw = await tx.hgetall(S.vol_key(vid))
            if chat in vol_chats(raw):
                raise FrameError.of(codes.OUT_OF_ORDER, "a debrief is asked for after the chat: end it first")
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if chat not in wrapup_chats(raw) or st is None:
                raise FrameError.of(codes.UNKNOWN_CHAT, "you have no chat with that id awaiting a wrap-up")
            if st.debrief:
                return False                # asked already: one alert is enough
            tx.hset(S.chat_key(chat), {"debrief": "1"})
            tx.hset(S.ALERTS, {alert: json.dumps({"chat": chat, "kind": "debrief", "vid": vid, "at": now})})
            tx.expire(S.ALERTS, ALERT_TTL_S)
            return True

        if await self.live.broker.transact(fn):
            log.info("care.debrief_requested", chat=chat, volunteer=vid[:8])
            self.overview.changed()
        con.outbox.send({"type": "debrief_sent", "chat": chat})
