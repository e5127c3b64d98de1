"""Statistics of the de-identified records: reports, the roll-up, partnerships, disclosure control.

The modules, each importing only those above it:

    exceptions          PartnershipError, StatsQueryError, ImportFailed (ReferralErrors)
    presets             named report periods, a year earlier, day parsing (pure)
    inference           what a reader can work out about withheld cells (pure)
    disclosure          suppression and the cell key method (pure)
    partnerships        a partnership document and its term (pure)
    partnership_tables  the tables a partnership is stored in, read back
    scope               which records a report counts, as SQL conditions
    parts               the grouped statements of each split; the record key
    rollup              the daily roll-up ``stats_daily``, kept exact
    partnership_store   save (rebuilding the partnership's roll-up scope) and load
    queries             a scope's figures, from the roll-up or the records
    records_io          historical import and retention purge
    report              a report's figures beside a year earlier, exact or published; CSV, table
    dashboard           the coordinators' page
    api, cli            the edges: HTTP routes and ``jourchatt report|partnership|records``

Import the module you need (``from referral.stats import report``): importing the
package loads none of them, so a pure module never pulls in the database or the
HTTP edge.
"""

__all__ = ["api", "cli", "dashboard", "disclosure", "exceptions", "inference", "partnership_store",
           "partnership_tables", "partnerships", "parts", "presets", "queries", "records_io", "report",
           "rollup", "scope"]
