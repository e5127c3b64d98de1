"""Sealing of live chat lines before they reach the broker.

Each chat gets its own AES-256-GCM key, derived with HKDF from the server secret
and the chat's id. The secret never sits in the broker, so a dump of Redis holds
ciphertext only. The chat id is bound as associated data with the sequence
number, so a line cannot be moved to another chat or position unnoticed.
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
_INFO = b"jourchatt/replay/v1/"


class Sealer:
    """Seal and open one chat's lines."""

    __slots__ = ("_aead", "_chat")

    def __init__(self, secret: bytes, chat_id: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=_INFO + chat_id.encode()).derive(secret)
        self._aead = AESGCM(key)
        self._chat = chat_id.encode()

    def seal(self, seq: int, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._chat + b"/" + str(seq).encode())

    def open(self, seq: int, sealed: bytes) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._aead.decrypt(nonce, body, self._chat + b"/" + str(seq).encode())
