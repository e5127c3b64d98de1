"""chat/kernel/logs.py: nothing a client sent, and no address, reaches a log line."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from typing import Any, Iterator

import pytest
import structlog

from chat.kernel.logs import (
    MAX_VALUE_CHARS, check_event_name, configure_logging, keep_allowed, log_uncaught, log_uncaught_in_thread,
    safe_exc_info, scrub_foreign,
)

MARKER = "ZQXmarkerZQX"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Logging configured as JSON into a buffer; the suite's setup restored afterwards."""
    stream = io.StringIO()
    configure_logging(fmt="json", level="info", stream=stream)
    yield stream
    configure_logging("console", "warning")     # as tests/conftest.py configures it


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


# -- the processors on their own ---------------------------------------------------------

def test_keep_allowed_drops_every_field_not_on_the_allow_list() -> None:
    out = keep_allowed(None, "info", {
        "event": "chat.message", "chat": "c1", "count": 3, "active": True, "seq": None,
        "text": MARKER, "ip": "10.1.2.3", "user_agent": "Mozilla", "body": MARKER, "username": "alice",
    })
    assert out == {"event": "chat.message", "chat": "c1", "count": 3, "active": True, "seq": None}


def test_keep_allowed_clips_long_values_and_stringifies_objects() -> None:
    out = keep_allowed(None, "info", {"reason": "x" * 1000, "state": ["a", "b"], "duration_ms": 1.5})
    assert out["reason"] == "x" * MAX_VALUE_CHARS
    assert out["state"] == "['a', 'b']"
    assert out["duration_ms"] == 1.5


@pytest.mark.parametrize("event", ["chat.assigned", "socket.closed", "records.write_failed"])
def test_check_event_name_keeps_constant_event_names(event: str) -> None:
    assert check_event_name(None, "info", {"event": event})["event"] == event


@pytest.mark.parametrize("event", [f"visitor said {MARKER}", "Chat.Assigned", "", None, 5, "a" * 65])
def test_check_event_name_withholds_anything_else(event: Any) -> None:
    assert check_event_name(None, "info", {"event": event})["event"] == "event.withheld"


def _raise_marker() -> None:
    raise ValueError(f"client sent {MARKER}")


def test_safe_exc_info_keeps_the_type_and_place_but_drops_the_message() -> None:
    try:
        _raise_marker()
    except ValueError as exc:
        for exc_info in (True, exc, (type(exc), exc, exc.__traceback__)):
            out = safe_exc_info(None, "error", {"event": "x.failed", "exc_info": exc_info, "stack_info": True})
            assert out["error"] == "ValueError"
            assert "test_logs.py" in out["where"] and "_raise_marker" in out["where"]
            assert "exc_info" not in out and "stack_info" not in out
            assert MARKER not in repr(out)


def test_safe_exc_info_leaves_events_without_an_exception_alone() -> None:
    assert safe_exc_info(None, "info", {"event": "x", "exc_info": False}) == {"event": "x"}


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.17:5555", "::1",
                                     "2a02:aa1:1234:5678:9abc:def0:1234:5678"])
def test_scrub_foreign_removes_addresses(address: str) -> None:
    out = scrub_foreign(None, "warning", {"event": f"client {address} went away"})
    assert out["event"].startswith("client [addr]")
    assert out["event"].endswith(" went away")


@pytest.mark.parametrize("address", ["2001:db8::abcd:1234", "2001:db8::1", "2001:db8:0:0:1::1",
                                     "2a01:4f8:c17:b8f::2", "[2001:db8::1]:443", "2001:db8::abcd:1234:5555"])
def test_scrub_foreign_removes_compressed_ipv6_addresses_entirely(address: str) -> None:
    out = scrub_foreign(None, "warning", {"event": f"client {address} went away"})["event"]
    assert "db8" not in out and "4f8" not in out and "::" not in out, out


def test_scrub_foreign_clips_the_message() -> None:
    assert len(scrub_foreign(None, "warning", {"event": "y" * 1000})["event"]) == MAX_VALUE_CHARS


# -- the configured pipeline -------------------------------------------------------------

def test_structlog_event_keeps_allowed_fields_and_drops_text(log_output: io.StringIO) -> None:
    structlog.get_logger("chat.test").info("chat.message", chat="c1", seq=4, text=MARKER, ip="10.1.2.3")
    [line] = lines(log_output)
    assert line["event"] == "chat.message"
    assert (line["chat"], line["seq"], line["level"]) == ("c1", 4, "info")
    assert "text" not in line and "ip" not in line
    assert MARKER not in log_output.getvalue()
    assert "10.1.2.3" not in log_output.getvalue()


def test_structlog_event_built_from_client_text_is_withheld(log_output: io.StringIO) -> None:
    structlog.get_logger("chat.test").warning(f"visitor wrote {MARKER}")
    [line] = lines(log_output)
    assert line["event"] == "event.withheld"
    assert MARKER not in log_output.getvalue()


def test_structlog_exception_logs_type_and_place_not_message(log_output: io.StringIO) -> None:
    try:
        _raise_marker()
    except ValueError:
        structlog.get_logger("chat.test").exception("chat.failed", chat="c1")
    [line] = lines(log_output)
    assert line["error"] == "ValueError"
    assert "_raise_marker" in line["where"]
    assert MARKER not in log_output.getvalue()
    assert "Traceback" not in log_output.getvalue()


def test_stdlib_record_has_its_ip_address_scrubbed(log_output: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("%s", "10.1.2.3 something")
    [line] = lines(log_output)
    assert line["event"] == "[addr] something"
    assert line["level"] == "warning"
    assert "10.1.2.3" not in log_output.getvalue()


def test_stdlib_record_has_a_compressed_ipv6_address_scrubbed(log_output: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").warning("%s", "2001:db8::abcd:1234 something")
    [line] = lines(log_output)
    assert "2001:db8" not in log_output.getvalue()
    assert "abcd:1234" not in log_output.getvalue()


def test_stdlib_exception_logs_no_message_and_no_traceback(log_output: io.StringIO) -> None:
    try:
        _raise_marker()
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    [line] = lines(log_output)
    assert line["error"] == "ValueError"
    assert MARKER not in log_output.getvalue()
    assert "Traceback" not in log_output.getvalue()


def test_stdlib_extra_fields_off_the_allow_list_are_dropped(log_output: io.StringIO) -> None:
    logging.getLogger("sqlalchemy.engine").warning("slow", extra={"text": MARKER, "user_agent": MARKER})
    assert lines(log_output)[0]["event"] == "slow"
    assert MARKER not in log_output.getvalue()


@pytest.mark.parametrize("msg, args", [
    ('%s - "WebSocket %s" [accepted]', ("10.1.2.3:5555", "/ws/visitor")),
    ('%s - "WebSocket %s" 403', ("10.1.2.3:5555", "/ws/volunteer")),
    ("connection open", ()),
    ("connection closed", ()),
])
def test_uvicorn_connection_lines_are_never_emitted(log_output: io.StringIO, msg: str, args: tuple[str, ...]) -> None:
    logger = logging.getLogger("uvicorn.error")
    logger.warning(msg, *args)
    logger.warning("control line")
    assert [line["event"] for line in lines(log_output)] == ["control line"]


def test_uvicorn_access_log_is_silenced(log_output: io.StringIO) -> None:
    logging.getLogger("uvicorn.access").critical('%s - "GET / HTTP/1.1" 200', "10.1.2.3:5555")
    assert log_output.getvalue() == ""


def test_info_from_libraries_is_below_their_level(log_output: io.StringIO) -> None:
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.getLogger("websockets.server").info("connection open")
    assert log_output.getvalue() == ""


def test_configure_logging_replaces_the_handler_instead_of_adding_one(log_output: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging(fmt="json", level="info", stream=second)
    structlog.get_logger("chat.test").info("chat.queued")
    assert log_output.getvalue() == ""
    assert [line["event"] for line in lines(second)] == ["chat.queued"]


def test_pythons_own_hooks_are_replaced_and_anyone_elses_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "excepthook", sys.__excepthook__)
    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    configure_logging("console", "warning")
    assert sys.excepthook is log_uncaught and threading.excepthook is log_uncaught_in_thread

    def someone_elses(*_args: Any) -> None: ...

    monkeypatch.setattr(sys, "excepthook", someone_elses)
    monkeypatch.setattr(threading, "excepthook", someone_elses)
    configure_logging("console", "warning")
    assert sys.excepthook is someone_elses and threading.excepthook is someone_elses


def test_an_uncaught_exception_is_logged_without_its_message(log_output: io.StringIO) -> None:
    try:
        _raise_marker()
    except ValueError as exc:
        log_uncaught(ValueError, exc, exc.__traceback__)
    [line] = lines(log_output)
    assert (line["event"], line["level"], line["error"]) == ("process.uncaught", "critical", "ValueError")
    assert "_raise_marker" in line["where"]
    assert MARKER not in log_output.getvalue() and "Traceback" not in log_output.getvalue()


def test_a_thread_dying_of_an_exception_is_logged_without_its_message(log_output: io.StringIO) -> None:
    # pytest watches threading.excepthook during a test, so the thread's exception is
    # caught here and handed to the hook as the threading module would.
    caught: list[threading.ExceptHookArgs] = []

    def run() -> None:
        try:
            _raise_marker()
        except ValueError:
            caught.append(threading.ExceptHookArgs([*sys.exc_info(), threading.current_thread()]))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    log_uncaught_in_thread(caught[0])
    [line] = lines(log_output)
    assert (line["event"], line["error"]) == ("thread.uncaught", "ValueError")
    assert MARKER not in log_output.getvalue() and "Traceback" not in log_output.getvalue()
