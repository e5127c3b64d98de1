"""Errors of the volunteer package.

    JourchattError (chat.exceptions)
    └── AccountError               creating or changing an account failed; message says why
        ├── DuplicateUsername      the username is taken
        └── UnknownAccount         no account has that name
"""

from __future__ import annotations

from chat.exceptions import JourchattError


class AccountError(JourchattError):
    """An account could not be created or changed."""


class DuplicateUsername(AccountError):
    """The username is already in use."""


class UnknownAccount(AccountError):
    """No account has that name (or id)."""
