"""Settings, read once from the environment into a frozen object.

Every setting is a ``JOURCHATT_*`` environment variable (a ``.env`` file in the
working directory is read too, without overriding the real environment).
``SETTINGS_HELP`` documents each one; ``docs/configuration.md`` lists them all and
a test keeps the two in step.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import languages as _languages
from .addresses import parse_proxies
from .broker import sentinel
from .exceptions import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///var/jourchatt.sqlite3"
DEFAULT_BROKER_URL = "memory://"
# The most a line may wait for replicas (chat.kernel.broker.redis.MAX_WAIT_TIMEOUT_MS, repeated here
# so reading the settings does not import redis).
MAX_WAIT_TIMEOUT_MS = 4000

SETTINGS_HELP: dict[str, str] = {
    "JOURCHATT_DATABASE_URL": "Database URL. Default: a SQLite file under ./var/. "
    "sqlite:///path and postgresql://user@host/db are accepted as they are.",
    "JOURCHATT_BROKER_URL": "memory:// (one process, default), redis://host:port/db, or "
    "redis+sentinel://h1:26379,h2:26379/MASTER/DB to find the master through Redis Sentinel and follow "
    "it after a failover (docs/deploy.md, \"Redis Sentinel\").",
    "JOURCHATT_BROKER_WAIT_REPLICAS": "With Redis: acknowledge a line only once this many replicas have it "
    "(Redis WAIT), so a failover cannot lose an acknowledged line. 0 (default) acks once the master has it; "
    "1 costs a replica round trip per batch of lines and stops lines while no replica is up "
    "(docs/deploy.md has the measured figures).",
    "JOURCHATT_BROKER_WAIT_TIMEOUT_MS": "How long a line waits for JOURCHATT_BROKER_WAIT_REPLICAS replicas "
    "before its writer is told unavailable (and resends). 1 to 4000; default 1000.",
    "JOURCHATT_SECRET_KEY": "Server secret (at least 32 characters). Required unless on the "
    "embedded defaults, where one is generated once and kept in ./var/secret_key.",
    "JOURCHATT_ALLOWED_ORIGINS": "Comma-separated origins the widget may connect from; "
    "the server's own origin is always allowed.",
    "JOURCHATT_TRUSTED_PROXIES": "Comma-separated addresses or networks of reverse proxies whose "
    "X-Forwarded-For is believed (for abuse control only; addresses are only ever kept as a keyed hash "
    "under a key that rotates daily), and whose X-Forwarded-Proto: https marks a request as over TLS (then "
    "HSTS is sent). Default: none, the socket's peer is the client.",
    "JOURCHATT_VAR_DIR": "Directory for the embedded database and the development secret. Default ./var.",
    "JOURCHATT_LOG_FORMAT": "json or console. Default: console on the embedded defaults, json otherwise.",
    "JOURCHATT_LOG_LEVEL": "debug, info, warning or error. Default info.",
    "JOURCHATT_LANGUAGES": "Comma-separated languages the widget offers, of sv, en, ar, fa, so, ti, uk; must "
    "include sv. Default: all seven. The texts in ar, fa, so, ti and uk are not yet reviewed by a native speaker "
    "(docs/configuration.md, \"Languages\"); set sv,en to keep them out until they are. Routing, accounts and "
    "records accept all seven either way.",
    "JOURCHATT_TIMEZONE": "IANA time zone for a record's day and time band. Default Europe/Stockholm.",
    "JOURCHATT_MAX_SOCKETS": "Most WebSocket connections this process holds at once. Default 20000.",
    "JOURCHATT_FRAME_RATE": "Frames a second one WebSocket connection may send, after a burst of 3 seconds' "
    "worth; a frame over it gets error rate_limited and is not carried out. Default 20.",
    "JOURCHATT_MAX_QUEUE": "Most visitors waiting in the queue at once. Default 2000.",
    "JOURCHATT_MAX_WAITING_PER_ADDRESS": "Most visitors from one address (counted by its keyed hash, "
    "across all nodes) waiting in the queue at once; one more gets closed network_full. Only queued "
    "visitors count, not those chatting. Default 50: a school's Wi-Fi or a mobile carrier's NAT puts "
    "many young people behind one address, and a whole class must get in.",
    "JOURCHATT_VISITOR_GRACE_S": "Seconds a dropped visitor may take to resume before the chat ends. Default 120.",
    "JOURCHATT_VOLUNTEER_GRACE_S": "Seconds a dropped volunteer may take to come back before "
    "their chats return to the front of the queue. Default 20.",
    "JOURCHATT_IDLE_WARN_S": "Seconds of silence in a chat before both sides are warned. Default 600.",
    "JOURCHATT_SPECIALIST_WAIT_S": "Seconds a chat with a topic waits for a busy volunteer with that "
                                   "skill before it goes to anyone. Default 120.",
    "JOURCHATT_FOLLOWUP_WAIT_S": "Seconds a chat that came back with a follow-up code is kept for its "
                                 "volunteer while they are on duty but busy, before it goes to anyone. Default 600.",
    "JOURCHATT_IDLE_CLOSE_S": "Seconds after the warning before a silent chat is closed. Default 300.",
    "JOURCHATT_WRAPUP_TIMEOUT_S": "Seconds a volunteer has to file the wrap-up before the record "
    "is written without it. Default 1800.",
    "JOURCHATT_TRANSFER_OFFER_S": "Seconds a volunteer offered a chat (a warm transfer) has to accept or "
    "decline it; after that the offer lapses and the chat stays with the sender. Default 60.",
    "JOURCHATT_CARE_HEAVY_STREAK": "Heavy chats in a row (an acute escalation, the topic uses_violence, or "
    "marked heavy in the wrap-up) after which the console suggests a pause. Default 3.",
    "JOURCHATT_SESSION_IDLE_S": "A volunteer login ends after this many seconds without use. Default 7200.",
    "JOURCHATT_SESSION_MAX_S": "A volunteer login ends this many seconds after it began. Default 43200.",
    "JOURCHATT_LOGIN_MAX_FAILURES": "Failed logins on one account name within JOURCHATT_LOGIN_WINDOW_S "
    "before the name is locked (60 s, doubling with each further lockout, at most an hour). Default 5.",
    "JOURCHATT_LOGIN_ADDRESS_MAX_FAILURES": "Failed logins from one address (kept only as a keyed hash) "
    "within JOURCHATT_LOGIN_WINDOW_S before that address is refused until the window has passed. Default 30.",
    "JOURCHATT_LOGIN_WINDOW_S": "The window, in seconds, in which failed logins are counted. Default 900.",
    "JOURCHATT_REFRESHER_MONTHS": "A refresher course recorded without an expiry date expires this many "
    "months after its completion. Default 12.",
    "JOURCHATT_REFERRAL_CODE_DAYS": "Days a referral code given in a chat can be redeemed; expired codes "
    "are deleted. Default 90.",
    "JOURCHATT_REDEEM_PER_MINUTE": "Redemption attempts a partner key may make per minute (across all nodes). "
    "Default 30.",
    "JOURCHATT_REDEEM_FAILURES_PER_HOUR": "Failed redemptions (unknown, expired or used codes) a partner key "
    "may make per hour before it must wait. Default 20.",
    "JOURCHATT_SUPPRESSION_THRESHOLD": "In statistics meant for publication, counts from 1 up to one "
    "below this are withheld (with the cells that would reveal them). Default 5.",
    "JOURCHATT_RETENTION_YEARS": "De-identified records older than this many years are deleted by "
    "'jourchatt records purge'. Default 5.",
    "JOURCHATT_VOLUNTEER_HOUR_VALUE": "Kronor per volunteer hour on duty, as the IOP budget values the "
    "foundation's own contribution (its \"Volontärtimmar\"); the statistics then show the on-duty hours' value. "
    "Default: unset, and no value is shown.",
    "JOURCHATT_METRICS_TOKEN": "The Bearer token Prometheus sends to GET /metrics (at least 32 visible "
    "ASCII characters, no spaces; generate one with: python -c 'import secrets; "
    "print(secrets.token_urlsafe(32))'). Default: unset, and /metrics answers 404.",
}


@dataclass(frozen=True)
class Settings:
    """Everything the application needs from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    broker_url: str = DEFAULT_BROKER_URL
    broker_wait_replicas: int = 0
    broker_wait_timeout_ms: int = 1000
    secret_key: str = field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    var_dir: Path = Path("var")
    log_format: str = "console"
    log_level: str = "info"
    timezone: str = "Europe/Stockholm"
    languages: tuple[str, ...] = _languages.CODES
    max_sockets: int = 20000
    max_queue: int = 2000
    max_waiting_per_address: int = 50
    frame_rate: float = 20.0
    visitor_grace_s: float = 120.0
    volunteer_grace_s: float = 20.0
    idle_warn_s: float = 600.0
    specialist_wait_s: float = 120.0
    followup_wait_s: float = 600.0
    idle_close_s: float = 300.0
    wrapup_timeout_s: float = 1800.0
    transfer_offer_s: float = 60.0
    care_heavy_streak: int = 3
    session_idle_s: float = 7200.0
    session_max_s: float = 43200.0
    login_max_failures: int = 5
    login_address_max_failures: int = 30
    login_window_s: float = 900.0
    refresher_months: int = 12
    referral_code_days: int = 90
    redeem_per_minute: int = 30
    redeem_failures_per_hour: int = 20
    suppression_threshold: int = 5
    retention_years: int = 5
    metrics_token: str = field(default="", repr=False)
    volunteer_hour_value: float | None = None

    @property
    def embedded(self) -> bool:
        """True on the embedded defaults (SQLite and the in-memory broker)."""
        return self.database_url.startswith("sqlite") and self.broker_url.startswith("memory")

    @property
    def secret(self) -> bytes:
        return self.secret_key.encode()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> "Settings":
        """Read the settings; raise ConfigurationError naming the variable that is wrong."""
        env: dict[str, str] = {}
        if dotenv:
            env.update(_read_dotenv(Path(".env")))
        env.update(os.environ if environ is None else environ)
        unknown = sorted(k for k in env if k.startswith("JOURCHATT_") and k not in SETTINGS_HELP)
        if unknown:
            raise ConfigurationError(
                f"unknown setting {unknown[0]}; the settings are: {', '.join(sorted(SETTINGS_HELP))}"
            )

        def get(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        var_dir = Path(get("JOURCHATT_VAR_DIR", "var"))
        database_url = get("JOURCHATT_DATABASE_URL", "")
        if not database_url:
            database_url = f"sqlite:///{var_dir / 'jourchatt.sqlite3'}"
        broker_url = get("JOURCHATT_BROKER_URL", DEFAULT_BROKER_URL)
        if not broker_url.startswith(("memory://", "redis://", "rediss://", sentinel.SCHEME)):
            raise ConfigurationError(
                "JOURCHATT_BROKER_URL must start with memory://, redis://, rediss:// or redis+sentinel://"
            )
        if broker_url.startswith(sentinel.SCHEME):
            try:
                sentinel.parse(broker_url)
            except ValueError as exc:
                raise ConfigurationError(f"JOURCHATT_BROKER_URL: {exc}") from None
        wait_raw = get("JOURCHATT_BROKER_WAIT_REPLICAS", "0")
        if not wait_raw.isdigit():
            raise ConfigurationError(f"JOURCHATT_BROKER_WAIT_REPLICAS must be 0 or a whole number of replicas, "
                                     f"not {wait_raw!r}")
        wait_replicas = int(wait_raw)
        if wait_replicas and broker_url.startswith("memory://"):
            raise ConfigurationError("JOURCHATT_BROKER_WAIT_REPLICAS needs a Redis broker (JOURCHATT_BROKER_URL); "
                                     "memory:// has no replicas")
        origins = tuple(
            o.strip().rstrip("/") for o in get("JOURCHATT_ALLOWED_ORIGINS", "").split(",") if o.strip()
        )
        for origin in origins:
            if not origin.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"JOURCHATT_ALLOWED_ORIGINS: {origin!r} is not an origin like https://example.org"
                )
        try:
            trusted_proxies = parse_proxies(get("JOURCHATT_TRUSTED_PROXIES", ""))
        except ValueError:
            raise ConfigurationError(
                "JOURCHATT_TRUSTED_PROXIES must be comma-separated addresses or networks like 10.0.0.5 or 172.16.0.0/12"
            ) from None
        embedded = database_url.startswith("sqlite") and broker_url.startswith("memory")
        log_format = get("JOURCHATT_LOG_FORMAT", "console" if embedded else "json")
        if log_format not in ("json", "console"):
            raise ConfigurationError("JOURCHATT_LOG_FORMAT must be json or console")
        log_level = get("JOURCHATT_LOG_LEVEL", "info").lower()
        if log_level not in ("debug", "info", "warning", "error"):
            raise ConfigurationError("JOURCHATT_LOG_LEVEL must be debug, info, warning or error")

        secret = env.get("JOURCHATT_SECRET_KEY", "").strip()
        if secret and len(secret) < 32:
            raise ConfigurationError("JOURCHATT_SECRET_KEY must be at least 32 characters")
        if not secret:
            if not embedded:
                raise ConfigurationError(
                    "JOURCHATT_SECRET_KEY is required when not on the embedded defaults "
                    "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
            secret = _development_secret(var_dir)

        metrics_token = env.get("JOURCHATT_METRICS_TOKEN", "").strip()
        if metrics_token and not re.fullmatch(r"[\x21-\x7e]{32,}", metrics_token):
            raise ConfigurationError(
                "JOURCHATT_METRICS_TOKEN must be at least 32 visible ASCII characters without spaces "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )

        numbers: dict[str, float] = {}
        for f in fields(cls):
            if f.type in ("int", "float") and f.name != "broker_wait_replicas":
                name = "JOURCHATT_" + f.name.upper()
                raw = get(name, str(f.default))
                try:
                    value = float(raw)
                except ValueError:
                    raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
                if not math.isfinite(value) or value <= 0:
                    raise ConfigurationError(f"{name} must be a finite number greater than zero")
                if f.type == "int" and value != int(value):
                    raise ConfigurationError(f"{name} must be a whole number")
                numbers[f.name] = int(value) if f.type == "int" else value

        if numbers["broker_wait_timeout_ms"] > MAX_WAIT_TIMEOUT_MS:
            raise ConfigurationError(f"JOURCHATT_BROKER_WAIT_TIMEOUT_MS must be at most {MAX_WAIT_TIMEOUT_MS} "
                                     "(a line's whole write must fit in the broker's deadline)")

        hour_value: float | None = None
        raw_value = get("JOURCHATT_VOLUNTEER_HOUR_VALUE", "").strip()
        if raw_value:
            try:
                hour_value = float(raw_value)
            except ValueError:
                raise ConfigurationError(f"JOURCHATT_VOLUNTEER_HOUR_VALUE must be a number of kronor, not {raw_value!r}") from None
            if not math.isfinite(hour_value) or hour_value <= 0:
                raise ConfigurationError("JOURCHATT_VOLUNTEER_HOUR_VALUE must be a finite number of kronor above zero")

        timezone = get("JOURCHATT_TIMEZONE", "Europe/Stockholm")
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"JOURCHATT_TIMEZONE {timezone!r} is not an IANA time zone such as Europe/Stockholm"
            ) from None

        try:
            offered = _languages.parse_list(get("JOURCHATT_LANGUAGES", ",".join(_languages.CODES)),
                                            "JOURCHATT_LANGUAGES")
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None

        return cls(
            database_url=database_url,
            languages=offered,
            broker_url=broker_url,
            broker_wait_replicas=wait_replicas,
            secret_key=secret,
            allowed_origins=origins,
            trusted_proxies=trusted_proxies,
            var_dir=var_dir,
            log_format=log_format,
            log_level=log_level,
            timezone=timezone,
            metrics_token=metrics_token,
            volunteer_hour_value=hour_value,
            **numbers,  # type: ignore[arg-type]
        )


def _development_secret(var_dir: Path) -> str:
    """Generate the development secret once and keep it (mode 0600) under var/."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        # Write it whole under a temporary name, then link it into place: another
        # process never reads a half-written file, and the first to link wins.
        fd, tmp = tempfile.mkstemp(dir=var_dir, prefix=".secret_key.")   # mode 0600
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48) + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(tmp)
    value = path.read_text().strip()
    if len(value) < 32:
        raise ConfigurationError(f"{path} holds no usable secret (under 32 characters): delete it")
    return value


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = value.strip().strip("'\"")
    return out
