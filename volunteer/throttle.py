"""Login throttling, per account name and per address hash, shared through the broker.

The policy is pure (``Counter``, ``check``, ``fail``; the clock is passed in) so it
is tested without a server; ``LoginThrottle`` keeps one counter per key in the
broker with a TTL, so every node sees the same failures and nothing outlives
its use.

* **Account name**: after ``max_failures`` failures within ``window_s`` the name
  is locked for ``LOCK_BASE_S``, doubling with each further lockout within the
  window, up to ``LOCK_MAX_S``. The name is counted whether or not an account
  has it, so the answers never tell which names exist. The key is an HMAC of
  the normalised name under the server secret: a name someone mistyped (a
  password typed into the wrong field, say) never sits in the broker.
* **Address hash** (``chat.kernel.addresses``, a key that rotates daily): after
  ``address_max_failures`` failures within ``window_s`` the address is locked
  until the window has passed. This slows one machine trying many names.

A success clears the account's counter (not the address's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field

from chat.kernel.broker import Broker, Tx

KEY_PREFIX = "jc:login:"
LOCK_BASE_S = 60.0
LOCK_MAX_S = 3600.0
MAX_REMEMBERED = 100        # failure times kept per key (bounds the stored value)


@dataclass(frozen=True)
class Policy:
    max_failures: int = 5
    window_s: float = 900.0
    address_max_failures: int = 30


@dataclass
class Counter:
    """Failures of one key: their times, the lockouts so far, and the end of the current lock."""

    failures: list[float] = field(default_factory=list)
    lockouts: int = 0
    locked_until: float = 0.0

    def dumps(self) -> str:
        return json.dumps({"f": self.failures, "l": self.lockouts, "u": self.locked_until})

    @classmethod
    def loads(cls, raw: str | None) -> "Counter":
        if not raw:
            return cls()
        try:
            d = json.loads(raw)
            return cls([float(x) for x in d["f"]], int(d["l"]), float(d["u"]))
        except (ValueError, KeyError, TypeError):
            return cls()


def check(counter: Counter, now: float) -> float:
    """Seconds until another attempt is allowed (0 when allowed now)."""
    return max(0.0, counter.locked_until - now)


def fail(counter: Counter, now: float, *, limit: int, window_s: float, growing: bool) -> Counter:
    """The counter after one more failure at ``now``."""
    recent = [t for t in counter.failures if now - t < window_s][-(MAX_REMEMBERED - 1):] + [now]
    lockouts = counter.lockouts
    if counter.locked_until and now - counter.locked_until >= window_s:
        lockouts = 0                               # quiet for a whole window: start over
    locked_until = counter.locked_until
    if len(recent) >= limit:
        if growing:
            lock = min(LOCK_MAX_S, LOCK_BASE_S * 2 ** lockouts)
        else:
            lock = window_s - (now - recent[-limit])
        locked_until = max(locked_until, now + lock)
        lockouts += 1
        recent = []                                # the lock answers these failures
    return Counter(recent, lockouts, locked_until)


def ttl(counter: Counter, now: float, window_s: float) -> float:
    """How long the broker must keep the counter."""
    last = max(counter.failures, default=0.0)
    return max(1.0, counter.locked_until - now + window_s, last - now + window_s)


class LoginThrottle:
    def __init__(self, broker: Broker, secret: bytes, policy: Policy) -> None:
        self.broker = broker
        self.policy = policy
        self._key = hmac.new(secret, b"jourchatt/login-throttle", hashlib.sha256).digest()

    def _account_key(self, username: str) -> str:
        mac = hmac.new(self._key, username.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{KEY_PREFIX}acct:{mac}"

    @staticmethod
    def _address_key(address_hash: str) -> str:
        return f"{KEY_PREFIX}addr:{address_hash}"

    def _keys(self, username: str, address_hash: str | None) -> list[tuple[str, int, bool]]:
        keys = [(self._account_key(username), self.policy.max_failures, True)]
        if address_hash:
            keys.append((self._address_key(address_hash), self.policy.address_max_failures, False))
        return keys

    async def retry_after(self, username: str, address_hash: str | None, now: float) -> int:
        """Whole seconds until this name may be tried from this address (0: now)."""
        names = [k for k, _, _ in self._keys(username, address_hash)]

        async def read(t: Tx) -> list[str | None]:
            return [await t.get(n, watch=False) for n in names]

        wait = max(check(Counter.loads(raw), now) for raw in await self.broker.read(read))
        return math.ceil(wait)

    async def failed(self, username: str, address_hash: str | None, now: float) -> None:
        for key, limit, growing in self._keys(username, address_hash):
            async def tx(t: Tx, key: str = key, limit: int = limit, growing: bool = growing) -> None:
                counter = fail(Counter.loads(await t.get(key)), now, limit=limit,
                               window_s=self.policy.window_s, growing=growing)
                t.set(key, counter.dumps(), ex=ttl(counter, now, self.policy.window_s))

            await self.broker.transact(tx)

    async def succeeded(self, username: str, now: float) -> None:
        key = self._account_key(username)

        async def tx(t: Tx) -> None:
            counter = Counter.loads(await t.get(key))
            if counter.locked_until > now:
                return                                 # never lift a running lock
            t.delete(key)

        await self.broker.transact(tx)
