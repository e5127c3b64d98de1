"""The second factor: time-based one-time passwords (RFC 6238).

What authenticator apps expect: HMAC-SHA1, 6 digits, 30-second steps, a
160-bit random secret shown as base32 in an ``otpauth://`` URI (and as a QR
code of that URI). A code is accepted for the current step and one step either
side (clock drift), and never for a step at or before the last step accepted
for the account, so an overheard code cannot be used again.

The secret is stored sealed: AES-256-GCM under a key derived with HKDF from the
server secret, with the account id as associated data (a sealed secret copied
onto another account's row does not open). A database dump alone holds no
usable secret.
"""

from __future__ import annotations

import base64
import hmac
import os
import secrets
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.twofactor.totp import TOTP

ISSUER = "jourchatt"
DIGITS = 6
STEP_S = 30
SECRET_BYTES = 20          # 160 bits, RFC 4226's recommendation
WINDOW = 1                 # steps accepted either side of the current one
NONCE_BYTES = 12
_INFO = b"jourchatt/totp-secret/v1"


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def _totp(secret: bytes) -> TOTP:
    return TOTP(secret, DIGITS, hashes.SHA1(), STEP_S)


def step_at(now: float) -> int:
    return int(now // STEP_S)


def code_at(secret: bytes, now: float) -> str:
    """The code an authenticator shows at ``now`` (seconds since the epoch)."""
    return _totp(secret).generate(int(now)).decode()


def code_for_step(secret: bytes, step: int) -> str:
    return _totp(secret).generate(step * STEP_S).decode()


def check(secret: bytes, code: str, *, now: float | None = None,
          last_step: int | None = None) -> int | None:
    """The step ``code`` belongs to if it is valid now and unused; else None.

    The caller stores the returned step as the account's last accepted step
    (atomically, so two nodes cannot both accept it).
    """
    if not isinstance(code, str):
        return None
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = step_at(time.time() if now is None else now)
    found = None
    # Compare against every candidate so the time taken does not depend on which matched.
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(code_for_step(secret, step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def reused(secret: bytes, code: str, *, now: float | None = None, last_step: int | None = None) -> bool:
    """Whether ``code`` is right for a step still in the window but already accepted (``last_step``).

    What a person who signs in twice within 30 seconds types: the login then says the code
    must be a new one rather than that it is wrong.
    """
    if last_step is None or not isinstance(code, str):
        return False
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return False
    current = step_at(time.time() if now is None else now)
    hits = [step for step in range(current - WINDOW, current + WINDOW + 1)
            if hmac.compare_digest(code_for_step(secret, step), code)]
    return any(step <= last_step for step in hits)


def base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def otpauth_uri(secret: bytes, username: str) -> str:
    return _totp(secret).get_provisioning_uri(username, ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an inline SVG (no script, no external reference)."""
    import segno

    qr = segno.make(uri, error="m")
    svg = qr.svg_inline(scale=4, border=4, dark="#000", light="#fff")
    return svg.replace("<svg ", '<svg role="img" aria-label="QR" ', 1)


class SecretBox:
    """Seals TOTP secrets for storage; bound to the account id."""

    def __init__(self, server_secret: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(server_secret)
        self._aead = AESGCM(key)

    def seal(self, account_id: str, secret: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, secret, account_id.encode())
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, account_id: str, sealed: str) -> bytes | None:
        """The secret, or None when it does not open (other key, other account, damaged)."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], account_id.encode())
        except (InvalidTag, ValueError):
            return None
