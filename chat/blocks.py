"""Blocks: a supervisor refuses a visitor's address for 24/72/168 hours; a hello is screened.

The address is never kept: only its keyed hash (``chat.kernel.addresses``), with the live
chat (so that a block of that chat can name it) and, while blocked, as a broker key
that expires with the block.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from volunteer.audit import audit

from . import state as S
from .kernel.addresses import AddressHasher
from .frame_types import Block
from .kernel.broker import BrokerError, Tx
from .kernel import error_codes as codes
from .kernel.exceptions import FrameError
from .live.context import Live
from .live.ending import Ending
from .live.sessions import Console
from .kernel.logs import get_logger
from .overview import Overview

log = get_logger(__name__)


class Blocks:
    def __init__(self, live: Live, *, ending: Ending, overview: Overview) -> None:
        self.live = live
        self.ending = ending
        self.overview = overview
        self.hasher = AddressHasher(live.broker, live.settings.secret)
        # Hellos are screened one at a time, in the order they arrived, so that the
        # broker round trips of the screen cannot reorder the queue (FIFO by arrival).
        self._screening = asyncio.Lock()

    async def on_block(self, con: Console, frame: Block) -> None:
        """``block {chat, hours}``: the visitor's address hash is refused; the chat ends."""
        live = self.live
        chat, hours = frame["chat"], frame["hours"]
        raw = await live.broker.read(lambda tx: tx.hgetall(S.chat_key(chat), watch=False))
        st = S.ChatState.load(chat, raw)
        if st is None or st.state not in ("queued", "active"):
            raise FrameError.of(codes.UNKNOWN_CHAT)
        day, _, address_hash = raw.get("addr", "").partition(":")
        if address_hash:
            async def fn(tx: Tx) -> None:
                tx.set(S.block_key(address_hash), "1", ex=hours * 3600)

            await live.broker.transact(fn)
            until = datetime.fromtimestamp(live.clock() + hours * 3600, timezone.utc)
            await self.hasher.retain(day, until)
        await self.ending.end(chat, "supervisor")
        await audit(live.sessions, actor=con.profile.id, action="visitor.block", subject=chat)
        con.outbox.send({"type": "blocked", "chat": chat, "hours": hours, "address": bool(address_hash)})
        log.info("visitor.blocked", chat=chat, hours=hours, supervisor=con.profile.id[:8])
        self.overview.changed()

    async def screen(self, address: str | None) -> tuple[bool, dict[str, str]]:
        """Is this address blocked? Also its hashes under every live key (today's first).

        The caller opens the chat right after (without awaiting anything else), so
        chats still queue in the order their hellos arrived.
        """
        async with self._screening:
            hashes = await self.hasher.hashes(address)
            if not hashes:
                return False, {}

            async def fn(tx: Tx) -> bool:
                for h in hashes.values():
                    if await tx.get(S.block_key(h), watch=False) is not None:
                        return True
                return False

            return await self.live.broker.read(fn), hashes

    async def remember(self, chat: str, hashes: dict[str, str]) -> None:
        """Keep today's hash of the visitor's address with the live chat (for a block)."""
        if not hashes:
            return
        day, address_hash = next(iter(hashes.items()))

        async def fn(tx: Tx) -> None:
            if await tx.hget(S.chat_key(chat), "state") is not None:
                tx.hset(S.chat_key(chat), {"addr": f"{day}:{address_hash}"})

        try:
            await self.live.broker.transact(fn)
        except BrokerError as exc:
            # The chat goes on; a block of it can then only end it (blocked.address false).
            log.warning("chat.address_unkept", chat=chat, error=str(exc))
