"""Specialists on the supervisor's side: hand a chat kept for a busy specialist, or for the
volunteer of its follow-up code, to anyone.

    route_any {chat}    the waiting chat stops waiting for a volunteer with its topic's
                        skill, or for its own volunteer (the young person is told,
                        ``followup_kept {kept: false, reason: "supervisor"}``), and goes
                        to the next free volunteer, whoever it is

The chat keeps its place in the queue (usually the front: it waited longest). The act
is written to the audit log (who, which chat; never the topic). The overview lists
the chats kept for a specialist (``chat.overview``).
"""

from __future__ import annotations

from volunteer.audit import audit

from . import state as S
from .frame_types import RouteAny
from .kernel import error_codes as codes
from .followup_frames import FollowUps
from .kernel.broker import Tx
from .kernel.exceptions import FrameError
from .kernel.logs import get_logger
from .live.context import Live, Local
from .live.matching import Matching
from .live.sessions import Console
from .overview import Overview

log = get_logger(__name__)


class Specialists:
    def __init__(self, live: Live, *, matching: Matching, overview: Overview, followups: FollowUps) -> None:
        self.live = live
        self.matching = matching
        self.overview = overview
        self.followups = followups

    async def skills_changed(self, vid: str, skills: frozenset[str]) -> None:
        """An admin changed ``vid``'s skills: an open console routes by them from now on.

        Only the presence hash changes (``chat.state``), where matching reads skills; a
        console away or never opened takes them from the account when it connects.
        """
        async def fn(tx: Tx) -> bool:
            raw = await tx.hgetall(S.vol_key(vid))
            if S.VolState.load(vid, raw) is None:
                return False
            tx.hset(S.vol_key(vid), {"skills": ",".join(sorted(skills))})
            return True

        changed = await self.live.broker.transact(fn)
        con = self.live.consoles.get(vid)
        if con is not None:
            con.skills = skills
        if changed:
            self.live.queue_changed()
            await self.matching.match()
            self.overview.changed()

    async def on_route_any(self, con: Console, frame: RouteAny) -> None:
        chat = frame["chat"]

        async def fn(tx: Tx, local: Local) -> None:
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.state != "queued":
                raise FrameError.of(codes.UNKNOWN_CHAT)
            tx.hset(S.chat_key(chat), {"anyone": "1"})
            if st.fkeep:
                await self.followups.release(chat, "supervisor", tx=tx, local=local, st=st)

        await self.live.commit(fn)
        vis = self.live.visitors.get(chat)
        if vis is not None:
            vis.topic = None            # its estimate is by place in line alone now
            vis.kept_for = ""
        await audit(self.live.sessions, actor=con.profile.id, action="chat.route_any", subject=chat)
        con.outbox.send({"type": "routed_any", "chat": chat})
        log.info("chat.routed_any", chat=chat, supervisor=con.profile.id[:8])
        self.live.queue_changed()
        await self.matching.match()
        self.overview.changed()
