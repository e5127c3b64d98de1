"""Lines: a chat line in (numbered, logged sealed, acknowledged) and the system's lines.

Every line gets the chat's next ``seq`` in the same atomic broker step that
appends it (sealed) to the replay log (``Broker.append_line``; system lines in a
transaction). The line goes to the other side's node with that step (Pub/Sub), or
straight to the socket through the notice table when both sides are here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable

from .. import state as S
from ..kernel.broker import BrokerError, LineWrite, Tx
from ..kernel import error_codes as codes
from ..kernel import error_codes as codes
from ..kernel.exceptions import FrameError
from ..kernel.logs import get_logger
from ..outbox import Outbox
from .context import Live, Local, b64
from .sessions import Feed

log = get_logger(__name__)

# A line is sealed again for the chat's next seq at most this often (each time the
# other side's line took the seq it was sealed for): bounded like a transaction's retries.
LINE_ATTEMPTS = 64

# The sealed form of a line: one encoder, not one per call (json.dumps builds one
# for every call with non-default options).
_dumps_entry = json.JSONEncoder(ensure_ascii=False).encode


class Lines:
    def __init__(self, live: Live) -> None:
        self.live = live
        key = hashlib.sha256(b"jourchatt/resend/v1/" + live.settings.secret).digest()
        # Keyed once: a copy of a keyed state costs half of keying a new one, every line.
        self._keyed8 = hashlib.blake2b(key=key, digest_size=8)
        self._keyed16 = hashlib.blake2b(key=key, digest_size=16)

    def digest(self, chat_id: str, body: str) -> str:
        """A keyed digest of a line, to tell a resend from a new line with the same id.

        Keyed BLAKE2b (a third of HMAC-SHA256's cost here); never the text itself.
        """
        h = self._keyed8.copy()
        h.update(f"{chat_id}\0{body}".encode())
        return h.hexdigest()

    def id_key(self, chat_id: str, sender: str, client_id: str | int, digest: str) -> str:
        """The field of ``jc:ids:<chat>`` that remembers a sender's message id (for resends).

        The id is the client's own (any string up to 64 characters), so it may say
        anything: only a keyed digest of it reaches the broker, never the id itself.
        """
        kind = "i" if isinstance(client_id, int) else "s"
        h = self._keyed16.copy()
        h.update(f"client-id\0{chat_id}\0{sender}\0{kind}:{client_id}\0{digest}".encode())
        return h.hexdigest()

    async def line(self, chat_id: str, side: str, sender: str, client_id: str | int, body: str,
                   ack_to: Outbox, feed: Feed) -> None:
        """A chat line: number it, log it sealed, ack it, deliver it.

        ``sender`` identifies who wrote it within its side (the volunteer's
        account id), so that two volunteers of one chat never share client ids.
        A line with an id *and* text already seen is a resend after a lost ack:
        it gets the same seq again and is not delivered twice.

        One ``append_line`` does it all in the broker (one round trip with Redis).
        The line is sealed for the seq this socket expects next (the last it
        settled, plus one); when another line came in between, the broker says
        which seq is next and the line is sealed again for it.
        """
        live = self.live
        digest = self.digest(chat_id, body)
        # Keyed by id *and* text: a reused id with a new text must not make the old pair forgotten.
        id_key = self.id_key(chat_id, sender, client_id, digest)
        entry = {"from": side, "text": body}
        plain = _dumps_entry(entry).encode()
        sealer = live.sealer(chat_id)
        seq = max(feed.last, max(feed.own, default=0)) + 1
        now = live.clock()
        for _ in range(LINE_ATTEMPTS):
            result = await live.broker.append_line(LineWrite(
                chat=chat_id, chat_key=S.chat_key(chat_id), ids_key=S.ids_key(chat_id),
                log_key=S.log_key(chat_id), vol_prefix=S.vol_key(""), side=side,
                sender=sender if side == "volunteer" else "", id_key=id_key,
                digest=digest, expect=seq, blob=b64(sealer.seal(seq, plain)),
                now=now, ttl_s=live.log_ttl, node=live.node))
            if result.status != "seq":
                break
            seq = result.seq
        else:
            raise BrokerError("the chat's seq kept moving")
        if result.status == "closed" or result.status == "ended":
            raise FrameError.of(codes.CHAT_ENDED)
        if result.status == "not_yours":
            raise FrameError.of(codes.UNKNOWN_CHAT)
        seq = result.seq
        for to, vid in result.local:
            await live.notices.dispatch({"k": "line", "chat": chat_id, "to": to, "seq": seq, "vid": vid,
                                         "payload": entry})
        ack: dict[str, Any] = {"type": "ack", "id": client_id, "seq": seq}
        if side == "volunteer":
            ack["chat"] = chat_id
        ack_to.send(ack)
        feed.settle(seq)

    async def system(self, chat_id: str, key: str, *, to: str = "both",
                     check: Callable[[S.ChatState], bool] | None = None,
                     fields: dict[str, str] | None = None) -> bool:
        """A line from the system, numbered like any other, for one side or both.

        Rendered in each reader's language; ``check`` runs inside the transaction:
        the line is written only if it holds.
        """
        entry = {"from": "system", "key": key, "to": to}
        live = self.live

        async def fn(tx: Tx, local: Local) -> bool:
            st = S.ChatState.load(chat_id, await tx.hgetall(S.chat_key(chat_id)))
            if st is None or st.state not in ("queued", "active") or (check and not check(st)):
                return False
            seq = st.seq + 1
            tx.hset(S.chat_key(chat_id), {"seq": str(seq), **(fields or {})})
            readers = []
            if to in ("both", "visitor"):
                readers.append(("visitor", st.vnode))
            if to in ("both", "volunteer") and st.state == "active":
                readers.append(("volunteer", await live.vol_node(tx, st.vol)))
            live.append(tx, local, st, seq, entry, readers)
            return True

        try:
            return bool(await live.commit(fn))
        except BrokerError as exc:
            log.warning("chat.system_line_failed", chat=chat_id, key=key, error=str(exc))
            return False
