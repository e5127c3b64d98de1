"""The errors of jourchatt: one hierarchy for every package.

    JourchattError                      base of every error raised on purpose (the CLI catches it)
    ├── ConfigurationError              a setting is missing or wrong (startup only)
    ├── FrameError                      a client sent a bad frame; ``code``, ``detail``
    │   └── FatalFrameError             ... so bad that the socket closes (``close_code``)
    ├── BrokerError                     the broker did not answer (Redis down, ...); chat.kernel.broker raises it
    ├── AccountError                    volunteer.exceptions: an account could not be created or changed
    │   ├── DuplicateUsername
    │   └── UnknownAccount
    ├── HoursError                      volunteer.exceptions: an opening-hours schedule is invalid
    └── ReferralError                   referral.exceptions: ``code``, ``detail`` (see that module)

Every error a client can see has a stable ``code`` registered in ``chat.kernel.error_codes``
(its Swedish and English detail, its HTTP status or close code). Errors become
``error`` frames, close codes or HTTP statuses only at the edge (chat.endpoints,
the HTTP handlers); domain code knows nothing of sockets or HTTP.

Raising a frame error, the registry way::

    from chat.kernel import error_codes as codes
    from chat.kernel.exceptions import FatalFrameError, FrameError

    raise FrameError.of(codes.UNKNOWN_CHAT)                    # detail: the registered "sv / en"
    raise FrameError.of(codes.INVALID_FIELD, "age: must be …")  # a more precise detail
    raise FatalFrameError.of(codes.TOO_MANY_ERRORS)            # close code from the registry
    outbox.send(codes.CHAT_LOST.frame())                       # an error frame sent, not raised

``FrameError("unknown_chat", "…")`` and ``FatalFrameError(code, detail, close_code)``
still work (a ``Code`` may stand for the string), but a literal code must be
registered all the same: tests/unit/test_error_codes.py scans the packages for them.
"""

from __future__ import annotations

from .error_codes import Code


class JourchattError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigurationError(JourchattError):
    """A setting is missing or malformed; the message says how to fix it."""


class FrameError(JourchattError):
    """A client frame was rejected. ``code`` is stable; ``detail`` is for humans."""

    def __init__(self, code: str | Code, detail: str | None = None) -> None:
        if isinstance(code, Code):
            detail = detail or code.detail
            code = code.name
        elif detail is None:
            raise TypeError("FrameError(code, detail): give a detail with a string code, "
                            "or use FrameError.of(codes.SOME_CODE)")
        super().__init__(f"{code}: {detail}")
        self.code: str = code
        self.detail: str = detail

    @classmethod
    def of(cls, code: Code, detail: str | None = None) -> FrameError:
        """The error for a registered ``code``; ``detail`` defaults to its registered text."""
        return cls(code, detail)

    def frame(self) -> dict[str, str]:
        """The ``error`` frame the client gets."""
        return {"type": "error", "code": self.code, "detail": self.detail}


class FatalFrameError(FrameError):
    """A frame error after which the connection is closed (``close_code``)."""

    def __init__(self, code: str | Code, detail: str | None = None, close_code: int | None = None) -> None:
        super().__init__(code, detail)
        registered = code.close if isinstance(code, Code) else None
        self.close_code: int = close_code or registered or 4400

    @classmethod
    def of(cls, code: Code, detail: str | None = None) -> FatalFrameError:
        """The fatal error for a registered ``code``, closing with its registered close code."""
        return cls(code, detail)


class BrokerError(JourchattError):
    """The broker could not carry out an operation (it is down, or kept conflicting)."""
