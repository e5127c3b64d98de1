"""One-time referral codes: short, typeable, unguessable, self-checking.

A code is nine random symbols (45 bits from ``secrets``) and one check symbol,
shown in two groups of five as ``K7QM3-XRT9C``. 45 rather than 40 bits so that
even 100,000 live codes are all but certain never to collide (a collision is
redrawn anyway: the hash is the table's primary key). The alphabet is Crockford's base 32: digits
and capitals without I, L, O and U, so no two symbols look alike; on input,
case, spaces and dashes do not matter and O, I, L are read as 0, 1, 1.

The check symbol makes the ten symbols a codeword of a one-symbol
Reed-Solomon-style check over GF(32): position *i* is weighted by alpha^i and
the weighted sum must be zero. Every weight is non-zero and the weights are
pairwise distinct, so **every single substitution and every transposition of
two symbols (adjacent or not) is detected**: a mistyped code is told apart
from an unknown one without asking the database.

The server keeps a code only as ``code_hash``: HMAC-SHA256 under a key derived
from the server secret, so a dump of the database cannot be turned back into
codes, and a guess cannot be checked without the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .exceptions import InvalidCode

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DATA_SYMBOLS = 9            # 9 x 5 bits = 45 random bits
CODE_LENGTH = DATA_SYMBOLS + 1
GROUPS = (5, 5)             # K7QM3-XRT9C
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_VALUE.update({"O": 0, "I": 1, "L": 1})
_SEPARATORS = str.maketrans("", "", " -_.\t")

# GF(2^5) with the primitive polynomial x^5 + x^2 + 1.
_EXP = [0] * 62
_LOG = [0] * 32
_x = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x20:
        _x ^= 0b100101


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def _syndrome(values: list[int]) -> int:
    acc = 0
    for i, v in enumerate(values):
        acc ^= _mul(_EXP[i], v)
    return acc


def check_symbol(data: str) -> str:
    """The check symbol for ``data`` (DATA_SYMBOLS symbols of ALPHABET)."""
    partial = _syndrome([_VALUE[c] for c in data])
    # Want partial + alpha^k * c = 0 (characteristic 2), k = len(data).
    k = len(data)
    c = _mul(partial, _EXP[(31 - k) % 31]) if partial else 0
    return ALPHABET[c]


def generate() -> str:
    """A fresh code in canonical form (ten symbols, no separators)."""
    data = "".join(secrets.choice(ALPHABET) for _ in range(DATA_SYMBOLS))
    return data + check_symbol(data)


def display(code: str) -> str:
    """``K7QM3XRT9C`` -> ``K7QM3-XRT9C``."""
    out, at = [], 0
    for n in GROUPS:
        out.append(code[at:at + n])
        at += n
    return "-".join(out)


# The text is not a code (wrong length or symbols) or its check symbol fails.
MalformedCode = InvalidCode


def normalise(text: str) -> str:
    """The canonical form of a typed code; raise MalformedCode if it cannot be one.

    Accepts any case, with or without spaces and dashes; O, I and L count as
    0, 1 and 1. A code whose check symbol fails was mistyped.
    """
    if not isinstance(text, str) or len(text) > 40:
        raise MalformedCode("a code has ten letters and digits, like K7QM3-XRT9C")
    squeezed = text.translate(_SEPARATORS).upper()
    if len(squeezed) != CODE_LENGTH or any(c not in _VALUE for c in squeezed):
        raise MalformedCode("a code has ten letters and digits, like K7QM3-XRT9C")
    canonical = "".join(ALPHABET[_VALUE[c]] for c in squeezed)
    if _syndrome([_VALUE[c] for c in canonical]) != 0:
        raise MalformedCode("the code was mistyped: a symbol is wrong or two are swapped")
    return canonical


def code_key(secret: bytes) -> bytes:
    """The key under which codes are hashed, derived from the server secret."""
    return hmac.new(secret, b"jourchatt/referral-code/v1", hashlib.sha256).digest()


def code_hash(key: bytes, canonical: str) -> str:
    """What the database keeps of a code: 64 hex digits of HMAC-SHA256."""
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()
