"""Password hashing with Argon2id (cryptography), OWASP's first choice.

Parameters: m = 19 MiB, t = 2, p = 1 (OWASP Password Storage Cheat Sheet), a
random 16-byte salt each, stored as a PHC string so parameters can be raised
later and old hashes still verify. Hashing takes ~50 ms, so callers in the event
loop use the ``*_async`` variants, which run in a worker thread.
"""

from __future__ import annotations

import asyncio
import os

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 8       # NIST SP 800-63B minimum for a memorised secret
MAX_LENGTH = 1024    # bound the work one login can cost

# Verified against when the username is unknown, so both answers take as long.
_DUMMY_HASH: str | None = None


def hash_password(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(SALT_BYTES), length=HASH_BYTES, iterations=ITERATIONS,
                   lanes=LANES, memory_cost=MEMORY_KIB)
    return kdf.derive_phc_encoded(password.encode())


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time verification (done inside cryptography)."""
    try:
        Argon2id.verify_phc_encoded(password.encode()[:MAX_LENGTH * 4], encoded)
        return True
    except (InvalidKey, ValueError):
        return False


def verify_dummy(password: str) -> bool:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(os.urandom(16).hex())
    verify_password(password, _DUMMY_HASH)
    return False


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, encoded: str | None) -> bool:
    if encoded is None:
        return await asyncio.to_thread(verify_dummy, password)
    return await asyncio.to_thread(verify_password, password, encoded)


def check_policy(password: str) -> None:
    """Raise ValueError with a reason when a new password is not acceptable."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must be at most {MAX_LENGTH} characters")


NEW_MIN_LENGTH = 12  # a password a person chooses at a forced change (after an admin's reset)


def check_new_password(password: str, username: str) -> None:
    """Raise ValueError with a reason when a chosen password is not acceptable."""
    if len(password) < NEW_MIN_LENGTH:
        raise ValueError(f"the password must be at least {NEW_MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must be at most {MAX_LENGTH} characters")
    if password.strip().lower() == username.strip().lower():
        raise ValueError("the password must not be the username")
