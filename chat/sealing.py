"""Sealing of live chat lines before they reach the broker.

Each chat gets its own AES-256-GCM key, derived with HKDF from the server secret
and the chat's id. The secret never sits in the broker, so a dump of Redis holds
ciphertext only. The chat id is bound as associated data with the sequence
number, so a line cannot be moved to another chat or position unnoticed.
"""

from __future__ import annotations

import os
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
_INFO = b"jourchatt/replay/v1/"
# Random nonces are drawn from the OS this many at a time: one getrandom call per
# line cost as much as the encryption itself. They are as random as one at a time.
NONCE_BATCH = 1024


class _Nonces:
    """Fresh random 96-bit nonces, drawn from ``os.urandom`` in batches."""

    def __init__(self) -> None:
        self._pool, self._at = b"", 0
        # Sealing runs on the event loop today; the lock keeps two threads from ever
        # taking the same nonce should it move to an executor (uncontended: ~0.1 µs).
        self._lock = threading.Lock()

    def reset(self) -> None:
        # A forked child must never use the parent's pool: the same nonce under the
        # same chat key would break GCM.
        self._pool, self._at = b"", 0
        self._lock = threading.Lock()

    def take(self) -> bytes:
        with self._lock:
            if self._at >= len(self._pool):
                self._pool, self._at = os.urandom(NONCE_BYTES * NONCE_BATCH), 0
            nonce = self._pool[self._at:self._at + NONCE_BYTES]
            self._at += NONCE_BYTES
            return nonce


_nonces = _Nonces()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_nonces.reset)


class Sealer:
    """Seal and open one chat's lines."""

    __slots__ = ("_aead", "_chat")

    def __init__(self, secret: bytes, chat_id: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_INFO + chat_id.encode()).derive(secret)
        self._aead = AESGCM(key)
        self._chat = chat_id.encode()

    def seal(self, seq: int, plaintext: bytes) -> bytes:
        nonce = _nonces.take()
        return nonce + self._aead.encrypt(nonce, plaintext, self._chat + b"/" + str(seq).encode())

    def open(self, seq: int, sealed: bytes) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, self._chat + b"/" + str(seq).encode())
