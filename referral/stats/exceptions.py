"""Errors of the statistics.

    ReferralError (referral.exceptions)   carries a stable ``code`` and a ``detail``
    ├── PartnershipError                  a partnership document is wrong, or the id is unknown
    ├── StatsQueryError                   a statistics request is wrong (period, preset, filter)
    └── ImportFailed                      a records file has bad lines; carries every (line, reason)

They are ReferralErrors, so the edges (``referral.stats.api``, the CLI) turn
every one of them, and a bare ReferralError for a bad command-line value, into an
HTTP status or a message the same way.
"""

from __future__ import annotations

from chat.kernel import error_codes as codes

from ..exceptions import ReferralError


class PartnershipError(ReferralError):
    code = codes.INVALID_PARTNERSHIP.name


class StatsQueryError(ReferralError):
    code = codes.INVALID_STATS_QUERY.name


class ImportFailed(ReferralError):
    code = codes.INVALID_RECORDS_FILE.name

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        first = "; ".join(f"line {n}: {why}" for n, why in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} bad line(s), nothing imported: {first}{more}")
