"""Errors of the referral package.

    ReferralError (JourchattError)        carries a stable ``code`` and a ``detail``
    ├── DirectoryInvalid                  a directory document failed validation (``errors``: each with its place)
    ├── DirectoryChanged                  someone else changed the directory since it was read
    ├── InvalidQuery                      a suggest query is ill-formed
    └── RedeemError                       a code could not be redeemed
        ├── InvalidCode                   not a code, or its check symbol fails (mistyped)
        ├── UnknownCode                   no such code (or not one of this partner's services)
        ├── ExpiredCode                   the code's time ran out
        └── AlreadyRedeemed               the code was used before

The statistics' errors (``referral/stats/exceptions.py``) are ReferralErrors too.

Domain code raises these; the edges (``referral.api``, the CLI) turn them into
HTTP statuses or messages. Each ``code`` is registered in ``chat.kernel.error_codes``
(its HTTP status comes from there); a more precise one is passed as
``code=codes.INVALID_PERIOD``. A ``refer`` naming an unknown or unfitting service is
refused by the hub as ``FrameError`` (``unknown_service``, ``ineligible_service``).
"""

from __future__ import annotations

from chat.kernel import error_codes as codes
from chat.kernel.error_codes import Code
from chat.kernel.exceptions import JourchattError


class ReferralError(JourchattError):
    # Each concrete error below has its stable code; a bare ReferralError (a bad
    # command-line value) says invalid_request unless told otherwise.
    code = codes.INVALID_REQUEST.name

    def __init__(self, detail: str, *, code: str | Code | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = str(code)       # a Code's str() is its name


class DirectoryInvalid(ReferralError):
    code = codes.INVALID_DIRECTORY.name

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class DirectoryChanged(ReferralError):
    code = codes.DIRECTORY_CHANGED.name


class InvalidQuery(ReferralError):
    code = codes.INVALID_QUERY.name


class RedeemError(ReferralError):
    """Base of the redemption errors."""


class InvalidCode(RedeemError):
    code = codes.INVALID_CODE.name


class UnknownCode(RedeemError):
    code = codes.UNKNOWN_CODE.name


class ExpiredCode(RedeemError):
    code = codes.EXPIRED_CODE.name


class AlreadyRedeemed(RedeemError):
    code = codes.ALREADY_REDEEMED.name
