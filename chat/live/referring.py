"""Referring: cards with one-time codes for the visitor, and the services a closed chat points to.

The referral directory and the code store are the referral package's: the live chat
reaches them only through ``ReferralPort``, which the app fills
(``chat.referral_port``). The codes exist in the clear only in the visitor's frame
and, sealed, in the replay log (so a resumed visitor gets the cards again); the
database and the chat state keep keyed hashes.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol, Sequence

from referral import codes as referral_codes
from referral import geography
from referral import rules as referral_rules
from referral.directory import Directory

from .. import state as S
from ..frame_types import Intake
from ..kernel.broker import Tx
from ..kernel import error_codes as codes
from ..kernel.exceptions import FrameError
from ..kernel.logs import get_logger
from ..outbox import Outbox
from .context import REFERRALS_SEQ, Live, Local
from .sessions import Console, Feed

log = get_logger(__name__)

# What a referral card of a practice chat shows in place of a code (none is issued).
PRACTICE_CODE = "ÖVNING"

# The service a visitor is told of when the chat cannot take them and the
# referral directory cannot be read either (closed_services falls back to it).
FALLBACK_SERVICES: list[dict[str, Any]] = [
    {"id": "emergency-112", "kind": "emergency", "name": "112",
     "description": {"sv": "Ring 112 om du är i akut fara.", "en": "Call 112 if you are in immediate danger.",
                     "ar": "اتصل بالرقم 112 إذا كنت في خطر مباشر.", "fa": "اگر در خطر فوری هستی، با 112 تماس بگیر.",
                     "so": "Wac 112 haddii aad khatar degdeg ah ku jirto.", "ti": "ኣብ ህጹጽ ሓደጋ እንተሃሊኻ፡ ናብ 112 ደውል።",
                     "uk": "Телефонуй 112, якщо ти в безпосередній небезпеці."},
     "phone": "112"},
]


def fallback_services(lang: str) -> list[dict[str, Any]]:
    """FALLBACK_SERVICES in the shape of the directory's cards (text in ``lang``)."""
    return [{**card, "description": card["description"].get(lang, card["description"]["sv"])}
            for card in FALLBACK_SERVICES]


class IssuedCode(Protocol):
    @property
    def service_id(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def code_hash(self) -> str: ...
    @property
    def expires_on(self) -> date: ...


class ReferralPort(Protocol):
    """What the live chat needs of the referral directory and its code store."""

    async def current(self) -> Directory:
        """The directory as it is now (for a referral)."""

    async def recent(self) -> Directory:
        """The directory as cached (may lag a little; for the closed-chat cards)."""

    async def issue(self, service_ids: list[str]) -> Sequence[IssuedCode]:
        """One fresh code per service id, stored as its keyed hash."""

    async def withdraw(self, code_hashes: list[str]) -> None:
        """Forget codes that were issued but never reached the chat."""

    async def purge(self) -> int:
        """Delete expired codes; how many went."""


class Referring:
    def __init__(self, live: Live, port: ReferralPort) -> None:
        self.live = live
        self.port = port

    async def closed_services(self, lang: str) -> list[dict[str, Any]]:
        """The cards a visitor gets when the chat cannot take them: the directory's, 112 first."""
        try:
            directory = await self.port.recent()
        except Exception:
            log.exception("directory.unreadable")
            return fallback_services(lang)
        cards = [s.card(lang) for s in referral_rules.closed_services(directory)]
        return cards or fallback_services(lang)

    async def refer(self, con: Console, chat_id: str, service_ids: list[str], outbox: Outbox,
                    feed: Feed, facts: Intake) -> None:
        """Give the visitor cards with fresh one-time codes; tell the console; note it for the record."""
        live, vid = self.live, con.profile.id
        st = await live.read_chat(chat_id)
        if st is None or st.vol != vid:
            raise FrameError.of(codes.UNKNOWN_CHAT)
        if st.state != "active":
            raise FrameError.of(codes.CHAT_ENDED)
        directory = await self.port.current()
        intake = live.intake(st)
        if "municipality" in facts and "district" not in facts:
            intake["district"] = None
        intake.update(facts)        # what the volunteer learned outranks the intake answers
        query = referral_rules.Query(age=intake.get("age"), municipality=intake.get("municipality"),
                                     district=geography.consistent(intake.get("municipality"),
                                                                   intake.get("district")))
        unknown, unfit = referral_rules.ineligible(directory, service_ids, query)
        if unknown:
            raise FrameError.of(codes.UNKNOWN_SERVICE, f"services: {unknown[0]!r} finns inte i "
                                "hänvisningskatalogen / is not in the referral directory")
        if unfit:
            raise FrameError.of(codes.INELIGIBLE_SERVICE, f"services: {unfit[0]!r} passar inte det den unga har "
                                "berättat (ålder, var hen bor) / does not fit what the visitor said (age, where "
                                "they live); ask /api/referrals/suggest")
        cards = []
        if st.practice:
            # A practice chat (chat.practice) issues no code: a partner must never count it.
            issued: Sequence[IssuedCode] = []
            for service_id in service_ids:
                service = directory.get(service_id)
                assert service is not None
                cards.append({**service.card(st.lang), "code": PRACTICE_CODE,
                              "expires_on": date.fromtimestamp(live.clock()).isoformat()})
        else:
            issued = await self.port.issue(service_ids)
        for item in issued:
            service = directory.get(item.service_id)
            assert service is not None
            cards.append({**service.card(st.lang), "code": referral_codes.display(item.code),
                          "expires_on": item.expires_on.isoformat()})
        entry = {"from": "volunteer", "kind": "referral", "to": "both", "services": service_ids, "cards": cards}
        now = live.clock()

        async def fn(tx: Tx, local: Local) -> int:
            current = await live.own_chat(tx, chat_id, vid)
            given = live.referrals(current)
            for item in issued:
                found = next((g for g in given["given"] if g["service"] == item.service_id), None)
                if found is None:
                    given["given"].append({"service": item.service_id, "codes": [item.code_hash]})
                else:
                    found["codes"].append(item.code_hash)
            seq = current.seq + 1
            key = S.chat_key(chat_id)
            tx.hset(key, {"seq": str(seq), "last_act": repr(now), "warned": "0",
                          "referrals": live.seal(chat_id, given, REFERRALS_SEQ)})
            tx.expire(key, live.log_ttl)
            tx.zadd(S.DUE, {f"idle:{chat_id}": now + live.settings.idle_warn_s})
            live.append(tx, local, current, seq, entry, [("visitor", current.vnode)])
            return seq

        try:
            seq = await live.commit(fn)
        except Exception:
            await self.port.withdraw([i.code_hash for i in issued])
            raise
        async with feed.lock:
            outbox.send({"type": "referred", "chat": chat_id, "seq": seq, "services": service_ids})
            feed.settle(seq)
        log.info("chat.referred", chat=chat_id, count=len(issued))

    async def purge_codes(self) -> None:
        try:
            count = await self.port.purge()
        except Exception:
            log.exception("referrals.purge_failed")
            return
        if count:
            log.info("referrals.purged", count=count)
