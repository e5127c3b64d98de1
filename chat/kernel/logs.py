"""Logging, configured once: structlog for our events, stdlib records routed through it.

Privacy is enforced here rather than trusted to every call site:

* ``check_event_name`` lets only constant event names (``chat.assigned``) through;
* ``keep_allowed`` drops every field that is not on ``ALLOWED_FIELDS`` and clips
  the ones it keeps, so a message's text, an address or a user agent cannot reach
  a log line even if a caller passes one by mistake;
* ``safe_exc_info`` replaces a traceback by the exception's type and where it was
  raised; exception *messages* are dropped, since they may quote client input;
* records from other libraries (uvicorn, websockets, sqlalchemy) have anything
  that looks like an IP address scrubbed, and uvicorn's per-connection lines
  (which carry the client's address) are not emitted at all;
* other libraries log warnings and worse only, even at ``debug`` (their debug lines
  can show frames, queries or URLs): only our own loggers follow the level;
* an exception nobody caught, in the main thread or another, is logged like any
  other (type and place) instead of Python printing its traceback and message.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, MutableMapping

import structlog

ALLOWED_FIELDS = frozenset(
    {
        "event", "level", "timestamp", "logger",
        # connection and chat bookkeeping: random ids and counters only
        "conn", "chat", "node", "side", "volunteer", "seq", "count", "position",
        "state", "reason", "outcome", "by", "code", "close_code", "lang", "channel",
        "non_data", "replayed", "capacity", "active",
        # supervision (chat.supervision): account-id prefixes and fixed words only
        "supervisor", "kind", "hours", "routed", "to",
        # HTTP: the route's path (never a query string), method and status
        "method", "path", "status", "duration_ms",
        # process and configuration facts
        "host", "port", "database", "broker", "version", "revision", "pid",
        # errors: the type and where it happened, never the message
        "error", "where",
    }
)
MAX_VALUE_CHARS = 200
# Our own loggers (and their children: chat.hub, volunteer.api...) log at the configured
# level; every other logger at WARNING or above.
OWN_LOGGERS = ("chat", "volunteer", "referral")

_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
# Candidates for IPv6 (two colons at least); each is checked with ipaddress, also
# without a trailing ":port", so times like 00:02:11 are left alone.
_IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")


def _scrub_ipv6(match: re.Match[str]) -> str:
    token = match.group(0)
    candidates = [token, token.rsplit(":", 1)[0]]
    for candidate in candidates:
        try:
            ipaddress.IPv6Address(candidate.strip("[]"))
            return "[addr]"
        except ValueError:
            continue
    return token


def keep_allowed(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Keep only allow-listed fields; clip long values."""
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if key not in ALLOWED_FIELDS:
            continue
        if not isinstance(value, (int, float, bool)) and value is not None:
            value = str(value)[:MAX_VALUE_CHARS]
        out[key] = value
    return out


_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


def check_event_name(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Our own events are constant names like ``chat.assigned``; anything else is withheld.

    The allow-list keeps the ``event`` field, so an event built from a string a
    client sent (an f-string) would otherwise slip through.
    """
    event = event_dict.get("event")
    if not isinstance(event, str) or not _EVENT_NAME.match(event):
        event_dict["event"] = "event.withheld"
    return event_dict


def safe_exc_info(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Turn exc_info into ``error`` (type name) and ``where`` (frames), without the message."""
    exc_info = event_dict.pop("exc_info", None)
    event_dict.pop("stack_info", None)
    exc: BaseException | None = None
    if exc_info is True:
        exc = sys.exc_info()[1]
    elif isinstance(exc_info, BaseException):
        exc = exc_info
    elif isinstance(exc_info, tuple) and len(exc_info) == 3:
        exc = exc_info[1]
    if exc is not None:
        frames = traceback.extract_tb(exc.__traceback__)[-6:]
        event_dict["error"] = type(exc).__qualname__
        event_dict["where"] = " < ".join(
            f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in reversed(frames)
        )
    return event_dict


def scrub_foreign(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Records from other libraries: scrub addresses from the rendered message."""
    event = str(event_dict.get("event", ""))
    event = _IPV6_CANDIDATE.sub(_scrub_ipv6, _IPV4.sub("[addr]", event))
    event_dict["event"] = event[:MAX_VALUE_CHARS]
    return event_dict


class _DropConnectionLines(logging.Filter):
    """uvicorn logs every WebSocket handshake with the client's address: never emit those."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return not ('"WebSocket ' in msg or "connection open" in msg or "connection closed" in msg)


def log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: an uncaught exception becomes a log line without its message."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("chat.uncaught").critical("process.uncaught", exc_info=(exc_type, exc, tb))


def log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: the same for a thread that died of an exception."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("chat.uncaught").critical("thread.uncaught",
                                                exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def configure_logging(fmt: str = "console", level: str = "info", stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger; safe to call more than once."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        timestamper,
    ]
    structlog.configure(
        processors=[*shared, check_event_name, safe_exc_info,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, scrub_foreign, safe_exc_info],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            keep_allowed,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_DropConnectionLines())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    # Python's own hooks print the message and traceback: replace them, but leave a hook
    # someone else installed (a debugger, a test runner) alone.
    if sys.excepthook in (sys.__excepthook__, log_uncaught):
        sys.excepthook = log_uncaught
    if threading.excepthook in (threading.__excepthook__, log_uncaught_in_thread):
        threading.excepthook = log_uncaught_in_thread
    # Other libraries log only warnings and worse, whatever our level: their debug and
    # info lines are not written for privacy (redis-py, httpx, multipart... at debug).
    root.setLevel(max(logging.WARNING, numeric))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
    # uvicorn's INFO lines name client addresses; its access log is turned off in server.py.
    for name, lvl in (("uvicorn.error", logging.WARNING), ("uvicorn.access", logging.CRITICAL + 1),
                      ("websockets", logging.WARNING), ("sqlalchemy", logging.WARNING),
                      ("aiosqlite", logging.WARNING), ("asyncio", logging.WARNING),
                      ("alembic", logging.WARNING)):
        lg = logging.getLogger(name)
        lg.setLevel(max(lvl, numeric))
        lg.handlers.clear()
        lg.propagate = True


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
