"""A report: the figures of a period beside the same period a year earlier,
exact for coordinators or made safe for publication, as JSON, CSV or a table.

``build`` runs the queries (``queries``, and the blocks read beside them: ``care``,
``topics``, ``languages``, ``survey``), puts every count of a period into one table
of cells and lines, and makes it safe in one go (``disclosure.publish``: withheld or
perturbed, whichever the request's method); ``to_csv`` and ``to_table`` render what ``build``
returned, so every format shows the same numbers. In a published report a
withheld count is ``{"suppressed": true}`` in JSON and ``..`` in CSV and tables
(never a number), and ``disclosure.suppressed`` lists each withheld cell and why.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import beside, care, disclosure, languages, queries, rollup, survey, topics, volunteer_time
from .partnerships import Partnership
from .queries import Figures
from .scope import Scope

SUPPRESSED = disclosure.SUPPRESSED
CSV_SUPPRESSED = ".."
SECTIONS = {
    "contacts": "Kontakter / Contacts",
    "total": "Samtal / Conversations",
    "counted": "Räknade samtal / Counted conversations",
    "non_data": "Ej data (test, tyst, skämt, kränkande) / Non-data",
    "by_outcome": "Utfall / Outcome",
    "by_gender": "Kön / Gender",
    "by_topic": "Ämne / Topic",
    "by_topic_gender": "Ämne × kön / Topic × gender",
    "by_residence": "Kommun / Municipality",
    "by_district": "Stadsdel / District",
    "by_age_band": "Ålder / Age band",
    "mean_age": "Medelålder / Mean age",
    "by_violence": "Våldsformer / Forms of violence",
    "by_first_contact": "Första kontakt / First contact",
    "referrals": "Hänvisningar / Referrals",
    "referrals_total": "Hänvisningar totalt / Referrals in all",
    "queue": "Kö / Queue",
    "volunteers": "Volontärer / Volunteers",
    "volunteer_time": "Volontärtid / Volunteer time",
    "care": "Omsorg om volontärerna / Care for volunteers",
    "topic_routing": "Ämne i frågan och specialister / Intake topic and specialists",
    "survey": "Enkät efter chatten / Post-chat survey",
}
SECTIONS.update(languages.SECTIONS)
NOT_IN_FLAT_EXPORTS = ("by_week", "volunteer_hours")   # a chart on the dashboard, in JSON; too long for a table


@dataclass(frozen=True)
class Request:
    start: date
    end: date
    preset: str | None = None
    partnership: Partnership | None = None
    municipality: str | None = None
    publish: bool = False
    method: str = "suppress"
    threshold: int = disclosure.DEFAULT_THRESHOLD
    compare: bool = True
    timezone: str = "Europe/Stockholm"
    hour_value: float | None = None      # JOURCHATT_VOLUNTEER_HOUR_VALUE

    def scope(self) -> Scope:
        p = self.partnership
        munis: tuple[str, ...] = p.municipalities if p else ()
        if self.municipality:
            munis = (self.municipality,) if not munis or self.municipality in munis else ("__none__",)
        return Scope(start=self.start, end=self.end, channels=p.channels if p else (),
                     municipalities=munis, age_min=p.age_min if p else None,
                     age_max=p.age_max if p else None,
                     rollup=rollup.scope_name(p.id if p else None, self.municipality))

    def subject(self) -> str:
        """What an audit row names: the partnership, or the period."""
        return self.partnership.id if self.partnership else f"{self.start.isoformat()}/{self.end.isoformat()}"


def _publishable(fig: Figures, req: Request, secret: bytes) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The cells as published (exact, suppressed or perturbed) and the list of what was withheld."""
    if not req.publish:
        return dict(fig.counts), []
    values, hidden = disclosure.publish(fig, method=req.method, threshold=req.threshold, secret=secret)
    # One reason for every withheld cell: telling which are small ("fewer than 5",
    # so at least 1) would let a reader pin some down by bounds (a withheld total
    # of 4 over four withheld "small" cells makes each of them 1).
    reason = withheld_reason(req.threshold)
    return values, [{"cell": cell, "reason": reason} for cell in hidden]


def withheld_reason(threshold: int) -> str:
    return f"withheld: fewer than {threshold} or revealing another withheld count"


def _measures(fig: Figures, values: dict[str, Any], req: Request) -> dict[str, Any]:
    m = fig.measures
    small = req.publish and req.method == "suppress"
    out: dict[str, Any] = {}
    if "mean_age" in m:
        n = m["mean_age"]["n"]
        # A cell of its own (queries.ages), withheld or perturbed like the others.
        out["age_stated"] = values.get("age_stated", SUPPRESSED if (small and 0 < n < req.threshold) else n)
        hide = req.publish and disclosure.measure_withheld(out["age_stated"], n, method=req.method,
                                                           threshold=req.threshold)
        out["mean_age"] = SUPPRESSED if hide else m["mean_age"]["value"]
    if "queue" in m:
        q = dict(m["queue"])
        answered, left = values.get("total"), values.get("by_outcome.left_queued")
        q["answered"], q["left_queue"] = answered, left
        if isinstance(answered, int) and isinstance(left, int):
            q["left_queue_share"] = round(left / (answered + left), 3) if answered + left else None
        else:
            q["left_queue_share"] = SUPPRESSED
        if req.publish and disclosure.measure_withheld(answered, m["queue"]["answered"], method=req.method,
                                                       threshold=req.threshold):
            q["median_wait_s"] = q["p90_wait_s"] = SUPPRESSED
        out["queue"] = q
    if "volunteers" in m:
        out["volunteers"] = m["volunteers"]
    return out


def _block(fig: Figures, req: Request, secret: bytes, start: date, end: date,
           routing: topics.TopicFigures) -> tuple[dict[str, Any], list[dict[str, str]]]:
    values, withheld = _publishable(fig, req, secret)
    out: dict[str, Any] = {"period": {"from": start.isoformat(), "to": end.isoformat()}}
    out.update(disclosure.nest(values))
    out.update(_measures(fig, values, req))
    topics.waits(out.setdefault(topics.PREFIX, {}), routing, publish=req.publish, threshold=req.threshold,
                 method=req.method)
    survey.rate(out)
    return out, withheld


async def _period(conn: AsyncConnection, scope: Scope, *, keys: bool, splits: tuple[str, ...],
                  use_rollup: bool) -> tuple[Figures, topics.TopicFigures]:
    """Every count of one period in one table: the splits, and the care, topic and language blocks."""
    fig = await queries.figures(conn, scope, keys=keys, splits=splits, use_rollup=use_rollup)
    read = await beside.read(conn, scope, keys=keys)            # care, topic routing, languages: one scan
    care.add_to(fig, *read.care)
    topics.add_to(fig, read.topics)
    if splits == tuple(queries.SPLITS):
        languages.add_to(fig, *read.languages)
    return fig, read.topics


async def build(engine: AsyncEngine, req: Request, *, secret: bytes,
                splits: tuple[str, ...] = tuple(queries.SPLITS), use_rollup: bool = True) -> dict[str, Any]:
    """The report as a JSON-ready dict (see docs/statistics.md for every key)."""
    scope = req.scope()
    keys = req.publish and req.method == "cellkey"
    async with engine.connect() as conn:
        if use_rollup and scope.rollup:
            await rollup.sync(conn)          # the roll-up is exact for every day read below
            await conn.commit()
        now, routing = await _period(conn, scope, keys=keys, splits=splits, use_rollup=use_rollup)
        before = (await _period(conn, scope.year_earlier(), keys=keys, splits=splits, use_rollup=use_rollup)
                  if req.compare else None)
        tz = ZoneInfo(req.timezone)
        time_now = await volunteer_time.figures(conn, scope.start, scope.end, tz=tz, hour_value=req.hour_value)
        time_before = (await volunteer_time.figures(conn, scope.year_earlier().start, scope.year_earlier().end,
                                                    tz=tz, hour_value=req.hour_value) if req.compare else None)
    out, withheld = _block(now, req, secret, scope.start, scope.end, routing)
    out["volunteer_time"] = time_now
    if req.preset:
        out["period"]["preset"] = req.preset
    p = req.partnership
    out["scope"] = {
        "partnership": p.id if p else None, "partnership_name": p.name if p else None,
        "municipality": req.municipality, "channels": list(scope.channels),
        "municipalities": [m for m in scope.municipalities if m != "__none__"],
        "age_min": scope.age_min, "age_max": scope.age_max,
    }
    if before is not None:
        ys = scope.year_earlier()
        out["year_earlier"], withheld_before = _block(before[0], req, secret, ys.start, ys.end, before[1])
        out["year_earlier"]["volunteer_time"] = time_before
        withheld += [{**w, "cell": f"year_earlier.{w['cell']}"} for w in withheld_before]
    out["published"] = req.publish
    out["disclosure"] = {"method": req.method if req.publish else "exact"}
    if req.publish:
        out["disclosure"]["threshold"] = req.threshold
        if req.method == "cellkey":
            out["disclosure"]["note"] = (
                f"every count is perturbed by {min(disclosure.NOISE)}..+{max(disclosure.NOISE)} "
                "(cell key method); totals are perturbed on their own, so cells need not add up")
        else:
            out["disclosure"]["suppressed"] = withheld
            out["disclosure"]["note"] = (
                f"counts of 1 to {req.threshold - 1} are withheld, and further cells where a total "
                "would reveal a withheld one")
    return out


def _flat(block: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in block.items():
        if key in ("period", "scope", "year_earlier", "published", "disclosure") and not prefix:
            continue
        if not prefix and key in NOT_IN_FLAT_EXPORTS:
            continue
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value != SUPPRESSED:
            out.update(_flat(value, name))
        else:
            out[name] = value
    return out


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if value == SUPPRESSED:
        return CSV_SUPPRESSED
    return str(value)


def rows(report: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(section, item, value, year-earlier value) for every figure."""
    now, before = _flat(report), _flat(report.get("year_earlier") or {})
    out = []
    for name in [*now, *(n for n in before if n not in now)]:
        section, _, item = name.partition(".")
        out.append((section, item, _cell_text(now.get(name)), _cell_text(before.get(name))))
    return out


def to_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    before = report.get("year_earlier", {}).get("period", {})
    w.writerow(["section", "item",
                f"{report['period']['from']}..{report['period']['to']}",
                f"{before.get('from', '')}..{before.get('to', '')}" if before else "year_earlier"])
    w.writerows(rows(report))
    for item in report.get("disclosure", {}).get("suppressed", []):
        w.writerow(["suppressed", item["cell"], CSV_SUPPRESSED, item["reason"]])
    return buf.getvalue()


def to_table(report: dict[str, Any]) -> str:
    p, scope = report["period"], report["scope"]
    before = report.get("year_earlier", {}).get("period")
    title = f"Statistik / Statistics {p['from']} – {p['to']}"
    if scope.get("partnership"):
        title += f"  ·  {scope['partnership_name']} ({scope['partnership']})"
    if scope.get("municipality"):
        title += f"  ·  kommun {scope['municipality']}"
    lines = [title, "=" * len(title)]
    head = ("", "", "antal", f"året före ({before['from']} – {before['to']})" if before else "")
    data = rows(report)
    width = max([len(f"  {r[1]}") for r in data] + [30])
    last = None
    lines.append(f"{head[0]:<{width}} {head[2]:>10}  {head[3]}")
    for section, item, value, prev in data:
        if section != last and item:
            lines.append(SECTIONS.get(section, section))
        last = section
        label = f"  {item}" if item else SECTIONS.get(section, section)
        lines.append(f"{label:<{width}} {value:>10}  {prev:>10}")
    lines += ["", "Effekter / Outcomes"]
    for label, value, prev in survey.outcomes(report):
        lines.append(f"  {label:<{width - 2}} {_cell_text(value):>10}  {_cell_text(prev):>10}")
    disc = report.get("disclosure", {})
    if report.get("published"):
        lines.append("")
        lines.append(f"Publicerbar / For publication: {disc.get('note', '')}")
        for item in disc.get("suppressed", []):
            lines.append(f"  .. {item['cell']}: {item['reason']}")
    return "\n".join(lines) + "\n"
