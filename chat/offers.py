"""Warm transfer: a chat is offered, with a word, and handed over only when someone takes it.

    offer {chat, to, note}      the holder (or any supervisor) offers the chat to a named
                                volunteer, or to a language or skill pool
    offer_reply {offer, accept} a receiver takes the chat, or declines it
    offer_cancel {offer}        the sender takes the offer back before anyone answers
    colleagues {}               who is on shift now (to choose a receiver)

Until a receiver accepts, the chat stays with its holder and the young person is told
nothing; when one does, the chat moves (``Handover.tx_move``: the holder is
``released``, the receiver ``assigned``, the visitor told who answers now). An offer
lapses after ``transfer_offer_s`` (a timer in ``jc:due``, so any node ends it); a pool
offer goes to every free volunteer of the pool, the first to accept takes it, and it is
declined once all have declined. The offer's bookkeeping lives in ``jc:offer:<id>``
(who, to whom, until when) and its id in ``jc:offers`` while it is open. The handover
note is never written to the database or a log: it reaches each receiver in the offer
notice (sealed when it crosses Pub/Sub) and waits in the offer's hash sealed like a line
of the chat (``HANDOVER_SEQ``) until the offer ends, when the hash is deleted.

A console that connects (a reload, a dropped network, another node) is given again
every offer still open that it may answer (``offer`` with ``resumed`` and the seconds
left) and every offer it made (``offer_sent`` with ``resumed``): ``tx_pending``, read in
the transaction that registers the console.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from volunteer.audit import audit

from . import state as S
from .frame_types import Colleagues, Offer, OfferCancel, OfferReply
from .handover import Handover
from .kernel import error_codes as codes
from .kernel.broker import Tx
from .kernel.exceptions import FrameError
from .kernel.logs import get_logger
from .live.context import HANDOVER_SEQ, NODE_TIMEOUT_S, Live, Local, vol_chats, wrapup_chats
from .live.lines import Lines
from .live.sessions import Console
from .overview import Overview

log = get_logger(__name__)

# The offer's bookkeeping outlives its deadline by this much (its timer may be late).
OFFER_TTL_MARGIN_S = 120.0


def _cands(raw: dict[str, str]) -> list[str]:
    return [v for v in raw.get("cands", "").split(",") if v]


class Offers:
    def __init__(self, live: Live, *, lines: Lines, handover: Handover, overview: Overview) -> None:
        self.live = live
        self.lines = lines
        self.handover = handover
        self.overview = overview
        live.notices.register("offer", ("offer", "offer_ended"), self._notice)

    async def _notice(self, n: dict[str, Any], payload: Any) -> None:
        con = self.live.consoles.get(n.get("vid", ""))
        if con is not None and isinstance(payload, dict):
            con.outbox.send(payload)

    # -- who is on shift --------------------------------------------------------------
    async def _present(self, tx: Tx, now: float) -> list[tuple[S.VolState, dict[str, str]]]:
        """Volunteers whose console is on a live node (available or paused), with their hashes."""
        vids = sorted(await tx.smembers(S.VOLS, watch=False))
        raws = await tx.hgetall_many([S.vol_key(v) for v in vids], watch=False)
        alive = {n for n, beat in await tx.zrange(S.NODES, watch=False) if beat > now - NODE_TIMEOUT_S}
        out = []
        for vid, raw in zip(vids, raws):
            vol = S.VolState.load(vid, raw)
            if vol is not None and vol.node and vol.node in alive:
                out.append((vol, raw))
        return out

    @staticmethod
    def _free(vol: S.VolState, raw: dict[str, str]) -> bool:
        return len(vol_chats(raw)) + len(wrapup_chats(raw)) < vol.capacity

    async def on_colleagues(self, con: Console, frame: Colleagues) -> None:
        now = self.live.clock()
        present = await self.live.broker.read(lambda tx: self._present(tx, now))
        con.outbox.send({"type": "colleagues", "volunteers": [
            {"id": vol.id, "display_name": vol.name, "state": "available" if vol.wants else "paused",
             "free": self._free(vol, raw), "languages": sorted(vol.langs), "skills": sorted(vol.skills)}
            for vol, raw in present if vol.id != con.profile.id]})

    # -- offering -----------------------------------------------------------------------
    async def on_offer(self, con: Console, frame: Offer) -> None:
        chat, by, target, note = frame["chat"], con.profile.id, frame["to"], frame["note"]
        holder = None if con.profile.role == "supervisor" else by
        offer = secrets.token_hex(6)
        limit = self.live.settings.transfer_offer_s
        live = self.live

        async def fn(tx: Tx, local: Local) -> int:
            now = live.clock()
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat)))
            if st is None or st.state != "active" or (holder is not None and st.vol != holder):
                raise FrameError.of(codes.UNKNOWN_CHAT)
            if st.offer and await tx.hgetall(S.offer_key(st.offer)):
                raise FrameError.of(codes.OUT_OF_ORDER, "this chat is already offered; wait for the answer")
            receivers = await self._receivers(tx, st, by, target, now)
            sender = S.VolState.load(by, await tx.hgetall(S.vol_key(by), watch=False))
            deadline = now + limit
            kind, value = next(iter(target.items()))
            name = sender.name if sender else ""
            bookkeeping = {"chat": chat, "from": st.vol, "by": by, "deadline": repr(deadline),
                           "cands": ",".join(v.id for v in receivers), "kind": kind, "value": value,
                           "name": name}
            if note:
                bookkeeping["note"] = live.seal(chat, note, HANDOVER_SEQ)
            tx.hset(S.offer_key(offer), bookkeeping)
            tx.expire(S.offer_key(offer), limit + OFFER_TTL_MARGIN_S)
            tx.hset(S.chat_key(chat), {"offer": offer})
            tx.zadd(S.DUE, {f"offer:{offer}": deadline})
            # The index of open offers; ids whose offer outlived its hash (a lost timer) go.
            stale = await tx.zrangebyscore(S.OFFERS, -math.inf, now - OFFER_TTL_MARGIN_S, watch=False)
            if stale:
                tx.zrem(S.OFFERS, *(o for o, _ in stale))
            tx.zadd(S.OFFERS, {offer: deadline})
            tx.expire(S.OFFERS, limit + OFFER_TTL_MARGIN_S)
            card = self._card(offer, chat, name, note, st, int(limit), kind, value)
            for vol in receivers:
                live.notify(tx, vol.node, {"k": "offer", "chat": chat, "to": "offer", "vid": vol.id}, local, card)
            return len(receivers)

        count = await live.commit(fn)
        con.outbox.send({"type": "offer_sent", "offer": offer, "chat": chat, "to": target, "receivers": count,
                         "expires_in_s": int(limit)})
        await audit(live.sessions, actor=by, action="chat.offer", subject=chat)
        log.info("chat.offered", chat=chat, to=next(iter(target)), receivers=count)     # never the note

    def _card(self, offer: str, chat: str, name: str, note: str, st: S.ChatState, left: int, kind: str,
              value: str, *, resumed: bool = False) -> dict[str, Any]:
        """The ``offer`` frame a receiver's console shows as a card."""
        card = {"type": "offer", "offer": offer, "chat": chat, "from": name, "note": note, "lang": st.lang,
                "intake": self.live.intake(st), "expires_in_s": left,
                "pool": None if kind == "volunteer" else {kind: value}}
        if resumed:
            card["resumed"] = True
        return card

    async def tx_pending(self, tx: Tx, vid: str, now: float) -> list[dict[str, Any]]:
        """The frames that give a console which just connected the offers still open for it: an
        ``offer`` card for each it may answer, an ``offer_sent`` for each it made, with the seconds
        left. Read in the transaction that registers the console, watching ``jc:offers``: an offer
        made or ended meanwhile runs that transaction again, and one made after it reaches the
        console as a notice (to its new node), so none is lost and none comes twice."""
        ids = [o for o, _ in await tx.zrangebyscore(S.OFFERS, now, math.inf)]
        if not ids:
            return []
        frames: list[dict[str, Any]] = []
        for offer, raw in zip(ids, await tx.hgetall_many([S.offer_key(o) for o in ids], watch=False)):
            left = int(float(raw.get("deadline") or 0) - now) if raw else 0
            if left < 1:
                continue
            chat, cands = raw["chat"], _cands(raw)
            if vid in cands:
                st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat), watch=False))
                if st is None or st.state != "active" or st.vol != raw.get("from"):
                    continue            # ended or moved: its timer withdraws it at once
                note = self.live.open(chat, raw["note"], HANDOVER_SEQ) if raw.get("note") else ""
                frames.append(self._card(offer, chat, raw.get("name", ""), note, st, left, raw.get("kind", ""),
                                         raw.get("value", ""), resumed=True))
            elif raw.get("by") == vid:
                frames.append({"type": "offer_sent", "offer": offer, "chat": chat,
                               "to": {raw.get("kind", ""): raw.get("value", "")}, "receivers": len(cands),
                               "expires_in_s": left, "resumed": True})
        return frames

    async def _receivers(self, tx: Tx, st: S.ChatState, by: str, target: dict[str, str],
                         now: float) -> list[S.VolState]:
        if "volunteer" in target:
            vid = target["volunteer"]
            if vid in (st.vol, by):
                raise FrameError.of(codes.OUT_OF_ORDER, "offer the chat to someone else")
            for vol, raw in await self._present(tx, now):
                if vol.id == vid:
                    if not self._free(vol, raw):
                        raise FrameError.of(codes.TRANSFER_REFUSED, "that volunteer has no free slot")
                    return [vol]
            raise FrameError.of(codes.TRANSFER_REFUSED, "that volunteer is not connected")
        pool = [vol for vol, raw in await self._present(tx, now)
                if vol.wants and vol.id not in (st.vol, by) and self._free(vol, raw)
                and (target.get("language") in vol.langs if "language" in target
                     else target.get("skill") in vol.skills)]
        if not pool:
            raise FrameError.of(codes.TRANSFER_REFUSED, "nobody of that group is available with a free slot")
        return pool

    # -- answering and ending -----------------------------------------------------------
    async def on_offer_reply(self, con: Console, frame: OfferReply) -> None:
        offer, vid, accept = frame["offer"], con.profile.id, frame["accept"]
        live = self.live

        async def fn(tx: Tx, local: Local) -> tuple[str, str, str]:
            raw = await tx.hgetall(S.offer_key(offer))
            cands = _cands(raw)
            if not raw or vid not in cands:
                raise FrameError.of(codes.UNKNOWN_OFFER)
            chat = raw["chat"]
            name = (await tx.hgetall(S.vol_key(vid), watch=False)).get("name", "")
            if not accept:
                cands.remove(vid)
                if cands:
                    tx.hset(S.offer_key(offer), {"cands": ",".join(cands)})
                else:
                    await self._close(tx, local, offer, raw, "declined", name, skip=vid)
                return "declined", chat, raw["from"]
            st = S.ChatState.load(chat, await tx.hgetall(S.chat_key(chat), watch=False))
            if st is None or st.state != "active" or st.vol != raw["from"]:
                await self._close(tx, local, offer, raw, "withdrawn", "", skip=vid)
                return "withdrawn", chat, raw["from"]
            await self.handover.tx_move(tx, local, chat, vid, reason="transfer", holder=raw["from"],
                                        need_available=False)
            await self._close(tx, local, offer, raw, "accepted", name, skip=vid)
            return "accepted", chat, raw["from"]

        outcome, chat, sender = await live.commit(fn)
        con.outbox.send({"type": "offer_ended", "offer": offer, "chat": chat, "reason": outcome, "by": None})
        log.info("chat.offer_answered", chat=chat, outcome=outcome, volunteer=vid[:8])
        if outcome == "accepted":
            await audit(live.sessions, actor=vid, action="chat.transfer", subject=chat)
            await self.lines.system(chat, "transferred", to="visitor")
            log.info("chat.transferred", chat=chat, to="volunteer", sender=sender[:8])
            self.overview.changed()

    async def on_offer_cancel(self, con: Console, frame: OfferCancel) -> None:
        offer, vid = frame["offer"], con.profile.id

        async def fn(tx: Tx, local: Local) -> str:
            raw = await tx.hgetall(S.offer_key(offer))
            if not raw or raw.get("by") != vid:
                raise FrameError.of(codes.UNKNOWN_OFFER)
            await self._close(tx, local, offer, raw, "cancelled", "")
            return raw["chat"]

        chat = await self.live.commit(fn)
        log.info("chat.offer_cancelled", chat=chat)

    async def expire(self, offer: str, now: float) -> None:
        """The offer's timer fired (on any node): past its deadline it lapses; once its chat
        ended or moved (``S.withdraw_offer`` makes the timer due at once) it is withdrawn."""
        async def fn(tx: Tx, local: Local) -> bool:
            raw = await tx.hgetall(S.offer_key(offer))
            if not raw:
                tx.zrem(S.DUE, f"offer:{offer}")
                tx.zrem(S.OFFERS, offer)
                return False
            st = S.ChatState.load(raw["chat"], await tx.hgetall(S.chat_key(raw["chat"]), watch=False))
            if st is None or st.state != "active" or st.vol != raw.get("from"):
                # The chat ended or moved first (the part that did so made this timer due).
                await self._close(tx, local, offer, raw, "withdrawn", "")
                return True
            deadline = float(raw.get("deadline") or 0)
            if deadline > now:
                tx.zadd(S.DUE, {f"offer:{offer}": deadline})
                return False
            await self._close(tx, local, offer, raw, "expired", "")
            return True

        if await self.live.commit(fn):
            log.info("chat.offer_expired", offer=offer)

    async def _close(self, tx: Tx, local: Local, offer: str, raw: dict[str, str], reason: str, name: str,
                     skip: str = "") -> None:
        """The offer is over: its bookkeeping goes; the sender and every other receiver are told."""
        chat = raw["chat"]
        tx.delete(S.offer_key(offer))
        tx.zrem(S.DUE, f"offer:{offer}")
        tx.zrem(S.OFFERS, offer)
        if (await tx.hget(S.chat_key(chat), "offer", watch=False)) == offer:
            tx.hset(S.chat_key(chat), {"offer": ""})
        ended = {"type": "offer_ended", "offer": offer, "chat": chat, "reason": reason, "by": name or None}
        by = raw.get("by", "")
        self.live.notify(tx, await self.live.vol_node(tx, by),
                         {"k": "offer_ended", "chat": chat, "to": "offer", "vid": by}, local, ended)
        others = {**ended, "reason": {"accepted": "taken", "cancelled": "withdrawn"}.get(reason, reason), "by": None}
        for vid in _cands(raw):
            if vid != skip and vid != by:
                self.live.notify(tx, await self.live.vol_node(tx, vid),
                                 {"k": "offer_ended", "chat": chat, "to": "offer", "vid": vid}, local, others)
