"""Errors of the chat package.

    JourchattError
    ├── ConfigurationError        a setting is missing or wrong (startup only)
    ├── FrameError                a client sent a bad frame; carries a stable ``code``
    │   └── FatalFrameError       ... so bad that the socket is closed after the error frame
    └── BrokerError               the broker did not answer (Redis down, ...)

Every error a client can see has a stable ``code``. Errors become ``error`` frames,
close codes or HTTP statuses only at the edge (the endpoints); domain code knows
nothing of sockets or HTTP.
"""

from __future__ import annotations


class JourchattError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(JourchattError):
    """A setting is missing or malformed; the message says how to fix it."""


class FrameError(JourchattError):
    """A client frame was rejected. ``code`` is stable; ``detail`` is for humans."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class FatalFrameError(FrameError):
    """A frame error after which the connection is closed (``close_code``)."""

    def __init__(self, code: str, detail: str, close_code: int = 4400) -> None:
        super().__init__(code, detail)
        self.close_code = close_code


class BrokerError(JourchattError):
    """The broker could not be reached or refused an operation."""
