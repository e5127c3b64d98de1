"""Shadowing: a trainee follows a live chat beside its volunteer, with the volunteer's consent.

Frames (validated in ``chat.frames``, documented in docs/protocol.md):

    shadowable {}                       a trainee asks which chats it could follow
    shadow {chat, active}               a trainee asks to follow a chat (or stops following,
                                        or takes back its question)
    shadow_answer {chat, trainee, accept}
                                        the volunteer holding the chat lets the trainee in,
                                        says no, or (accept false while it follows) asks it to go

The volunteer is asked (``shadow_request``) and, once it said yes, sees who follows in
``observed`` (``trainees``). A trainee that follows is an observer of the chat
(``chat.supervision``): it gets ``observing`` and the chat's lines, and may ``whisper``
to the volunteer. The young person is never told: nothing here sends a frame or writes a
line to the visitor's side. Who asks and who follows is shared state in the chat's hash
(``asks``, ``shadows``, and the trainee's ``obs`` entry), so the trainee's console and the
volunteer's may be on different nodes. Every ask and answer goes to the audit log (who,
what, which chat; never text).
"""

from __future__ import annotations

from typing import Any

from volunteer.audit import audit

from . import state as S
from .frame_types import Shadow, ShadowAnswer, Shadowable
from .kernel import error_codes as codes
from .kernel.broker import Tx
from .kernel.exceptions import FrameError
from .kernel.logs import get_logger
from .live.context import Live, Local
from .live.sessions import Console
from .supervision import Supervision, observed_frame

log = get_logger(__name__)


def _obs(observers: list[tuple[str, str]]) -> str:
    return ",".join(f"{v}@{n}" for v, n in observers)


class Shadowing:
    def __init__(self, live: Live, *, supervision: Supervision) -> None:
        self.live = live
        self.supervision = supervision
        live.notices.register("trainee", ("shadow",), self._on_notice)

    # -- the trainee ---------------------------------------------------------------------
    async def on_shadowable(self, con: Console, _frame: Shadowable) -> None:
        """The live chats a trainee could ask to follow: who holds them, since when; no text, no intake."""
        now = self.live.clock()

        async def fn(tx: Tx) -> list[dict[str, Any]]:
            vids = sorted(await tx.smembers(S.VOLS, watch=False))
            vraws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
            held = [(c, raw.get("name", "")) for raw in vraws
                    for c in sorted(c for c in raw.get("chats", "").split(",") if c)]
            craws = await tx.hgetall_many([S.chat_key(c) for c, _ in held], watch=False)
            out = []
            for (chat, name), raw in zip(held, craws):
                st = S.ChatState.load(chat, raw)
                if st is None or st.state != "active" or st.practice:
                    continue
                out.append({"chat": chat, "volunteer": name, "since_s": int(now - st.started),
                            "lang": st.lang,
                            "following": con.profile.id in st.trainees(),
                            "asked": any(v == con.profile.id for v, _ in st.asking())})
            return out

        con.outbox.send({"type": "shadowable", "chats": await self.live.broker.read(fn)})

    async def on_shadow(self, con: Console, frame: Shadow) -> None:
        vid, chat = con.profile.id, frame["chat"]
        if frame["active"]:
            following = await self.live.commit(lambda tx, local: self._tx_ask(tx, local, con, chat))
            if following:
                return
            con.outbox.send({"type": "shadowing", "chat": chat, "state": "asked"})
            await audit(self.live.sessions, actor=vid, action="chat.shadow_ask", subject=chat)
            log.info("chat.shadow_asked", chat=chat, trainee=vid[:8])
            return
        await self.live.commit(lambda tx, local: self._tx_leave(tx, local, chat, vid))
        self.supervision.forget(vid, chat)
        con.outbox.send({"type": "observing", "chat": chat, "active": False})
        con.outbox.send({"type": "shadowing", "chat": chat, "state": "stopped"})
        log.info("chat.shadow_stopped", chat=chat, trainee=vid[:8])

    async def _tx_ask(self, tx: Tx, local: Local, con: Console, chat: str) -> bool:
        """Ask the volunteer; True when the trainee already follows (nothing to ask)."""
        vid = con.profile.id
        st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
        if st is None or st.state not in ("queued", "active") or st.practice:
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.state != "active":
            raise FrameError.of(codes.OUT_OF_ORDER, "the chat has no volunteer yet")
        if vid in st.trainees():
            return True
        asking = [(v, n) for v, n in st.asking() if v != vid] + [(vid, self.live.node)]
        tx.hset(S.chat_key(chat), {"asks": _obs(asking)})
        self._to_volunteer(tx, local, st, await self.live.vol_node(tx, st.vol),
                           {"type": "shadow_request", "chat": chat, "trainee": vid,
                            "name": con.profile.display_name, "active": True})
        return False

    async def _tx_leave(self, tx: Tx, local: Local, chat: str, vid: str) -> None:
        """The trainee stops following (or takes its question back)."""
        st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
        if st is None or st.state not in ("queued", "active"):
            return
        was_asking = any(v == vid for v, _ in st.asking())
        was_following = vid in st.trainees()
        if not (was_asking or was_following):
            return
        observers = [(v, n) for v, n in st.observers() if v != vid]
        st.obs, st.shadows = _obs(observers), ",".join(sorted(st.trainees() - {vid}))
        st.asks = _obs([(v, n) for v, n in st.asking() if v != vid])
        tx.hset(S.chat_key(chat), {"obs": st.obs, "shadows": st.shadows, "asks": st.asks})
        node = await self.live.vol_node(tx, st.vol)
        if was_asking:
            self._to_volunteer(tx, local, st, node, {"type": "shadow_request", "chat": chat, "trainee": vid,
                                                     "active": False})
        if was_following:
            await self._tell_observed(tx, local, st, node, observers)

    # -- the volunteer ---------------------------------------------------------------------
    async def on_answer(self, con: Console, frame: ShadowAnswer) -> None:
        vid, chat, trainee, accept = con.profile.id, frame["chat"], frame["trainee"], frame["accept"]
        was = await self.live.commit(lambda tx, local: self._tx_answer(tx, local, vid, chat, trainee, accept))
        action = "chat.shadow_allow" if accept else "chat.shadow_end" if was == "following" else "chat.shadow_decline"
        await audit(self.live.sessions, actor=vid, action=action, subject=chat)
        log.info("chat.shadow_answered", chat=chat, trainee=trainee[:8], accept=accept)

    async def _tx_answer(self, tx: Tx, local: Local, vid: str, chat: str, trainee: str, accept: bool) -> str:
        st = await self.live.own_chat(tx, chat, vid)
        asking = st.asking()
        node = next((n for v, n in asking if v == trainee), None)
        following = trainee in st.trainees()
        if node is None and not (following and not accept):
            raise FrameError.of(codes.OUT_OF_ORDER, "trainee: nobody by that id asks to follow this chat")
        vnode = await self.live.vol_node(tx, vid)
        if node is None:            # it follows: the volunteer asks it to go
            node = next((n for v, n in st.observers() if v == trainee), "")
            observers = [(v, n) for v, n in st.observers() if v != trainee]
            st.shadows = ",".join(sorted(st.trainees() - {trainee}))
            st.obs = _obs(observers)
            tx.hset(S.chat_key(chat), {"obs": st.obs, "shadows": st.shadows})
            await self._tell_observed(tx, local, st, vnode, observers)
            self.live.notify(tx, node, {"k": "shadow", "chat": chat, "to": "trainee", "vid": trainee,
                                        "accept": False, "was": "following"}, local)
            return "following"
        st.asks = _obs([(v, n) for v, n in asking if v != trainee])
        fields = {"asks": st.asks}
        if accept:
            observers = [(v, n) for v, n in st.observers() if v != trainee] + [(trainee, node)]
            st.shadows = ",".join(sorted(st.trainees() | {trainee}))
            st.obs = fields["obs"] = _obs(observers)
            fields["shadows"] = st.shadows
            await self._tell_observed(tx, local, st, vnode, observers)
        tx.hset(S.chat_key(chat), fields)
        self.live.notify(tx, node, {"k": "shadow", "chat": chat, "to": "trainee", "vid": trainee,
                                    "accept": accept, "was": "asked"}, local)
        return "asked"

    def _to_volunteer(self, tx: Tx, local: Local, st: S.ChatState, node: str, frame: dict[str, Any]) -> None:
        self.live.notify(tx, node, {"k": "frame", "chat": st.id, "to": "volunteer", "vid": st.vol}, local, frame)

    async def _tell_observed(self, tx: Tx, local: Local, st: S.ChatState, node: str,
                             observers: list[tuple[str, str]]) -> None:
        vids = [v for v, _ in observers]
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
        self._to_volunteer(tx, local, st, node, observed_frame(st, vids, raws))

    # -- on the trainee's node ---------------------------------------------------------------
    async def _on_notice(self, n: dict[str, Any], _payload: Any) -> None:
        vid, chat = n.get("vid", ""), n["chat"]
        con = self.live.consoles.get(vid)
        if con is None:
            if n["accept"]:         # the trainee's console went away meanwhile: it does not follow
                await self.live.commit(lambda tx, local: self._tx_leave(tx, local, chat, vid))
            return
        if not n["accept"]:
            if n.get("was") == "following":
                self.supervision.forget(vid, chat)
                con.outbox.send({"type": "observing", "chat": chat, "active": False})
            con.outbox.send({"type": "shadowing", "chat": chat,
                             "state": "ended" if n.get("was") == "following" else "declined"})
            return
        st = await self.live.read_chat(chat)
        if st is None or st.state != "active" or vid not in st.trainees():
            return
        con.outbox.send({"type": "shadowing", "chat": chat, "state": "following",
                         "volunteer": await self.live.vol_name(st.vol)})
        await self.supervision.follow(con, st)
