"""The shared state of live chats: its keys and how a chat is encoded.

Everything a node may need about a chat it does not hold a socket for lives in
the broker under these keys (all short-lived: each carries a TTL, and a chat's
keys are deleted when its record is written). Nothing here is chat text in the
clear: lines, intake answers and referral cards are sealed (``chat.sealing``)
before they are stored; the resume token is stored only as a hash and a
referral code only as its keyed hash (inside the sealed ``referrals`` field).

    jc:chat:<chat>      hash   the chat (ChatState below)
    jc:log:<chat>       zset   sealed lines, scored by seq (the replay log)
    jc:ids:<chat>       hash   keyed digest of (sender, client id, text digest) -> seq|keyed digest
                               of the text (resends; the client's id itself is never stored)
    jc:tok:<hash>       string resume-token hash -> chat
    jc:tomb:<hash>      string how an ended chat ended, for a late resume
    jc:queue            zset   waiting chats, scored by arrival (front: lower)
    jc:vols             set    volunteers present (connected or within grace)
    jc:vol:<account>    hash   a volunteer's presence, capacity, languages, its active
                               chats and the chats awaiting its wrap-up (with deadlines),
                               in one hash so that one watched read covers its load
    jc:due              zset   timers: "<kind>:<id>" -> when (wall clock)
    jc:nodes            zset   node -> last heartbeat (wall clock)
    jc:nvis:<node>      set    chats whose visitor socket is on the node
    jc:nvol:<node>      set    volunteers whose console is on the node
    jc:svc              string moving mean of chat length (queue estimates)
    jc:alerts           hash   alert id -> JSON {chat, kind, vid, at} (escalations; chat.supervision)
    jc:block:<hash>     string a blocked address's keyed hash (chat.kernel.addresses), with the block's TTL
    jc:waiting:<hash>   zset   visitors waiting from one address's keyed hash (chat.waiting)
    jc:offer:<id>       hash   a warm-transfer offer (chat.offers): chat, sender, receivers, deadline,
                               and its handover note sealed like a line (so a receiver's console that
                               reconnects gets the card again); deleted when the offer ends
    jc:offers           zset   offers still open: offer id -> deadline (a console that connects
                               finds the offers made to it, or by it, here)

A chat's hash also carries, for supervision (chat.supervision): ``obs``
("<account>@<node>" of each supervisor observing it), ``joined`` (supervisors
who joined it openly), ``shadows`` and ``asks`` (trainees following, or asking to
follow, with the volunteer's consent: chat.shadowing), ``host`` (the player of a
practice chat: chat.practice) and ``addr`` ("<day>:<keyed hash>" of the visitor's
address under that day's rotating key, never the address).

For topic routing (``chat.routing``) a chat's hash carries ``skill`` (the intake
topic, sealed like the intake: matching opens it), ``anyone`` ("1" once a
supervisor handed it to any volunteer) and ``spec`` ("1"/"0": whether the
volunteer who first took a topic chat held the topic as a skill, for the record);
a volunteer's hash carries ``skills`` (plain words from the vocabularies).

For follow-up codes (``chat.followup_frames``) a queued chat that came back with a code
whose volunteer is on duty but busy carries ``fvol`` (that volunteer's account), ``funtil``
(until when it may be kept for them) and ``fkeep`` ("1" while it is kept: matching gives it
to nobody else); the young person's ``followup_choice`` and the ``fkeep`` timer clear it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

QUEUE = "jc:queue"
VOLS = "jc:vols"
DUE = "jc:due"
NODES = "jc:nodes"
SVC = "jc:svc"
# The chats kept for a named volunteer (``fkeep``): matching reads them beside the queue's head,
# for such a chat may stand behind others and still goes to its volunteer first. Ids only;
# a stale id (answered, gone) is dropped by the matching that finds it.
KEPT = "jc:kept"
KEPT_TTL_S = 86400.0


def chat_key(chat: str) -> str:
    return f"jc:chat:{chat}"


def log_key(chat: str) -> str:
    return f"jc:log:{chat}"


def ids_key(chat: str) -> str:
    return f"jc:ids:{chat}"


def token_key(token_hash: str) -> str:
    return f"jc:tok:{token_hash}"


def tomb_key(token_hash: str) -> str:
    return f"jc:tomb:{token_hash}"


ALERTS = "jc:alerts"
OFFERS = "jc:offers"


def offer_key(offer: str) -> str:
    return f"jc:offer:{offer}"


def block_key(address_hash: str) -> str:
    return f"jc:block:{address_hash}"


def vol_key(vid: str) -> str:
    return f"jc:vol:{vid}"


def nvis_key(node: str) -> str:
    return f"jc:nvis:{node}"


def nvol_key(node: str) -> str:
    return f"jc:nvol:{node}"


def _float(value: str) -> float | None:
    return float(value) if value else None


WAITING_PREFIX = "jc:waiting:"


def waiting_key(address_hash: str) -> str:
    """The per-address count of waiting chats (chat.waiting), by the address's keyed hash."""
    return WAITING_PREFIX + address_hash


def left_queue(tx: Any, st: "ChatState") -> None:
    """The chat leaves the queue: out of ``jc:queue`` and out of its address's waiting count,
    so that no key ties the chat to an address hash once it is taken or over."""
    tx.zrem(QUEUE, st.id)
    if st.wait:
        tx.zrem(waiting_key(st.wait), "c:" + st.id)


def withdraw_offer(tx: Any, st: "ChatState", now: float) -> None:
    """The chat ends or moves: a warm-transfer offer pending for it is withdrawn at the next
    tick (its timer made due; chat.offers tells the sender and the receivers)."""
    if st.offer:
        tx.zadd(DUE, {f"offer:{st.offer}": now})


# A practice chat's id: this prefix and a random tail, longer than any real chat's id
# (``secrets.token_urlsafe(12)``: always 16 characters), so the id alone tells them apart.
PRACTICE_PREFIX = "practice_"


def is_practice(chat: str) -> bool:
    return len(chat) > 16 and chat.startswith(PRACTICE_PREFIX)


@dataclass
class ChatState:
    id: str
    state: str = "queued"          # queued | active | ended | closing
    lang: str = "sv"
    channel: str = "web"
    started: float = 0.0           # wall clock
    token: str = ""                # hash of the resume token
    seq: int = 0
    vol: str = ""                  # who holds it now (or owes its wrap-up)
    last_vol: str = ""             # for the record, after a hand-back
    waited: float | None = None    # seconds in the queue before the first assignment
    vnode: str = ""                # node holding the visitor's socket
    vconn: str = ""                # that socket's id
    vgone: float | None = None     # when the visitor's socket went away
    last_act: float = 0.0
    warned: bool = False
    ended_at: float | None = None
    ended_by: str = ""
    outcome: str = ""
    intake: str = ""               # sealed JSON
    referrals: str = ""            # sealed JSON: services referred and their codes' keyed hashes
    obs: str = ""                  # observers: "<account>@<node>,..." (chat.supervision)
    wait: str = ""                 # keyed address hash whose waiting count holds it (chat.waiting)
    esc_help: int = 0              # escalations asking for help (counted for the record; chat.alerts)
    esc_acute: int = 0             # escalations flagging acute danger
    debrief: bool = False          # the volunteer asked for a debrief after it (chat.care)
    offer: str = ""                # the warm-transfer offer pending for it (chat.offers), if any
    skill: str = ""                # sealed intake topic: wait for a volunteer with this skill
    anyone: bool = False           # a supervisor handed it to any volunteer (no specialist wait)
    spec: str = ""                 # "1"/"0": the first volunteer held the topic as a skill
    rid: str = ""                  # the record's id, drawn when a survey was offered (referral.survey)
    shadows: str = ""              # trainees following with the volunteer's consent: "<account>,..."
    asks: str = ""                 # trainees asking to follow: "<account>@<node>,..." (chat.shadowing)
    host: str = ""                 # a practice chat's player: "<account>" (chat.practice)
    fvol: str = ""                 # came back with a follow-up code of this volunteer (chat.followup_frames)
    funtil: float | None = None    # it may be kept for them until then (wall clock)
    fkeep: bool = False            # kept for ``fvol`` now: matching gives it to nobody else

    def kept_for(self, now: float) -> str:
        """The volunteer a queued chat is kept for now ("" when none; their being on duty aside)."""
        if self.state == "queued" and self.fkeep and self.fvol and now < (self.funtil or 0.0):
            return self.fvol
        return ""

    @classmethod
    def load(cls, chat_id: str, raw: dict[str, str]) -> ChatState | None:
        if not raw or "state" not in raw:
            return None
        s = cls(id=chat_id)
        s.state = raw["state"]
        s.lang = raw.get("lang", "sv")
        s.channel = raw.get("channel", "web")
        s.started = float(raw.get("started") or 0)
        s.token = raw.get("token", "")
        s.seq = int(raw.get("seq") or 0)
        s.vol = raw.get("vol", "")
        s.last_vol = raw.get("last_vol", "")
        s.waited = _float(raw.get("waited", ""))
        s.vnode = raw.get("vnode", "")
        s.vconn = raw.get("vconn", "")
        s.vgone = _float(raw.get("vgone", ""))
        s.last_act = float(raw.get("last_act") or 0)
        s.warned = raw.get("warned") == "1"
        s.ended_at = _float(raw.get("ended_at", ""))
        s.ended_by = raw.get("ended_by", "")
        s.outcome = raw.get("outcome", "")
        s.intake = raw.get("intake", "")
        s.referrals = raw.get("referrals", "")
        s.obs = raw.get("obs", "")
        s.wait = raw.get("wait", "")
        s.esc_help = int(raw.get("esc_help") or 0)
        s.esc_acute = int(raw.get("esc_acute") or 0)
        s.debrief = raw.get("debrief") == "1"
        s.offer = raw.get("offer", "")
        s.skill = raw.get("skill", "")
        s.anyone = raw.get("anyone") == "1"
        s.spec = raw.get("spec", "")
        s.rid = raw.get("rid", "")
        s.shadows = raw.get("shadows", "")
        s.asks = raw.get("asks", "")
        s.host = raw.get("host", "")
        s.fvol = raw.get("fvol", "")
        s.funtil = _float(raw.get("funtil", ""))
        s.fkeep = raw.get("fkeep") == "1"
        return s

    @property
    def practice(self) -> bool:
        """A practice chat (chat.practice): never queued, recorded, counted or measured."""
        return is_practice(self.id)

    def trainees(self) -> set[str]:
        """The trainees following the chat (they are observers too, so lines reach them)."""
        return {v for v in self.shadows.split(",") if v}

    def asking(self) -> list[tuple[str, str]]:
        """(account, node) of every trainee waiting for the volunteer's answer."""
        return [(v, n) for v, _, n in (item.partition("@") for item in self.asks.split(",") if item)]

    def observers(self) -> list[tuple[str, str]]:
        """(account, node) of every supervisor observing the chat (and trainee following it)."""
        out = []
        for item in self.obs.split(",") if self.obs else []:
            vid, _, node = item.partition("@")
            out.append((vid, node))
        return out

    def dump(self, *names: str) -> dict[str, str]:
        """The named fields (all but ``id`` when none are named) as hash fields."""
        chosen = names or _CHAT_FIELDS
        return {name: _encode(getattr(self, name)) for name in chosen}

    def dump_new(self) -> dict[str, str]:
        """A new chat's hash: ``state`` and every field that is not at its default.

        ``load`` reads a missing field as its default, so the rest need not be
        stored: thousands of waiting chats each keep a hash of a third the size.
        """
        out = {"state": self.state}
        for name, default in _CHAT_DEFAULTS.items():
            value = getattr(self, name)
            if value != default:
                out[name] = _encode(value)
        return out


_CHAT_FIELDS = tuple(f.name for f in fields(ChatState) if f.name != "id")
_CHAT_DEFAULTS = {f.name: f.default for f in fields(ChatState) if f.name not in ("id", "state")}


def _encode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass
class VolState:
    id: str
    node: str = ""
    conn: str = ""
    wants: bool = False            # the volunteer's own available/paused choice
    capacity: int = 1
    langs: frozenset[str] = frozenset({"sv"})
    idle_since: float = 0.0
    gone: float | None = None
    name: str = ""
    skills: frozenset[str] = frozenset()

    @classmethod
    def load(cls, vid: str, raw: dict[str, str]) -> VolState | None:
        if not raw or "capacity" not in raw:
            return None
        return cls(id=vid, node=raw.get("node", ""), conn=raw.get("conn", ""),
                   wants=raw.get("wants") == "1", capacity=max(1, int(raw["capacity"])),
                   langs=frozenset(x for x in raw.get("langs", "").split(",") if x),
                   idle_since=float(raw.get("idle_since") or 0), gone=_float(raw.get("gone", "")),
                   name=raw.get("name", ""),
                   skills=frozenset(x for x in raw.get("skills", "").split(",") if x))

    @property
    def available(self) -> bool:
        return self.wants and bool(self.node)

    def dump(self) -> dict[str, str]:
        return {"node": self.node, "conn": self.conn, "wants": _encode(self.wants),
                "capacity": str(self.capacity), "langs": ",".join(sorted(self.langs)),
                "idle_since": _encode(self.idle_since), "gone": _encode(self.gone), "name": self.name,
                "skills": ",".join(sorted(self.skills))}


def kept_index(tx: Any, chat: str, kept: bool) -> None:
    """Inside ``tx``: ``chat`` joins (or leaves) the index of chats kept for a named volunteer."""
    if kept:
        tx.sadd(KEPT, chat)
        tx.expire(KEPT, KEPT_TTL_S)
    else:
        tx.srem(KEPT, chat)
