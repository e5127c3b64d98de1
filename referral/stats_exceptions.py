"""Errors of the statistics side of the referral package (partnerships, reports, record import).

    ReferralError (code)
    ├── PartnershipError      a partnership document is wrong, or the id is unknown
    ├── StatsQueryError       a statistics request is wrong (period, preset, filter)
    └── ImportFailed          a records file has bad lines; carries every (line, reason)

Each has a stable ``code`` a client sees (``{"error": code, "detail": ...}``);
HTTP statuses are chosen at the edge, never here.
"""

from __future__ import annotations


class ReferralError(Exception):
    code = "invalid_request"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code


class PartnershipError(ReferralError):
    code = "invalid_partnership"


class StatsQueryError(ReferralError):
    code = "invalid_stats_query"


class ImportFailed(ReferralError):
    code = "invalid_records_file"

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        first = "; ".join(f"line {n}: {why}" for n, why in errors[:20])
        more = f" (and {len(errors) - 20} more)" if len(errors) > 20 else ""
        super().__init__(f"{len(errors)} bad line(s), nothing imported: {first}{more}")
