"""Errors of the volunteer package.

    JourchattError (chat.kernel.exceptions)
    └── AccountError               creating or changing an account failed; message says why
        ├── DuplicateUsername      the username is taken
        └── UnknownAccount         no account has that name
    └── HoursError                 an opening-hours schedule is invalid; ``where`` names the place
    └── ShiftError                 a shift or a shifts query is invalid; ``field`` names the field
"""

from __future__ import annotations

from chat.kernel.exceptions import JourchattError


class AccountError(JourchattError):
    """An account could not be created or changed."""


class DuplicateUsername(AccountError):
    """The username is already in use."""


class UnknownAccount(AccountError):
    """No account has that name (or id)."""


class ShiftsMissing(AccountError):
    """A trainee with fewer shadowed shifts than required was to answer chats, unconfirmed."""

    def __init__(self, username: str, shadowed: int, required: int) -> None:
        super().__init__(f"despite_shifts: {username} has shadowed {shadowed} of the {required} shifts "
                         "required before answering alone; confirm to give the role anyway")
        self.shadowed = shadowed
        self.required = required


class HoursError(JourchattError):
    """An opening-hours schedule is invalid; ``where`` names the field (``weekly.mon[1]``)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class ShiftError(JourchattError):
    """A shift (or a query for shifts) is invalid; ``field`` names the field (``end``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
