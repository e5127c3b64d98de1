"""The dashboard's panels: one function each, ``Ctx -> HTML``, listed in ``PANELS``.

A panel reads the report (``report.build``'s dict, with the year earlier) through
``Ctx`` and returns a ``<section class="panel">`` (or "" when it has nothing to show).
Another statistic joins the dashboard with one function and one line in ``PANELS``
(and the printed report with one line in ``REPORT_PANELS``). Words and units come from
``words``; charts from ``charts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any, Callable

from .. import geography
from ..vocab import GENDERS, ROLES
from . import charts, survey as survey_stats, words
from . import topics as topic_stats
from .words import t


@dataclass(frozen=True)
class Ctx:
    out: dict[str, Any]
    lang: str
    services: dict[str, str] = field(default_factory=dict)   # service id -> its name
    printing: bool = False

    @property
    def before(self) -> dict[str, Any]:
        return self.out.get("year_earlier") or {}

    def fig(self, path: str, *, earlier: bool = False) -> Any:
        return words.dig(self.before if earlier else self.out, path)

    def num(self, value: Any, unit: str = "") -> str:
        return words.number(self.lang, value, unit)

    def t(self, key: str, **values: Any) -> str:
        return t(self.lang, key, **values)

    def spans(self) -> tuple[str, str]:
        p, b = self.out["period"], self.before.get("period")
        now = words.span(self.lang, p["from"], p["to"])
        return now, words.span(self.lang, b["from"], b["to"]) if b else ""


Panel = Callable[[Ctx], str]


def section(panel_id: str, title: str, *body: str) -> str:
    return (f'<section class="panel" id="{panel_id}" aria-labelledby="{panel_id}-h">'
            f'<h2 id="{panel_id}-h">{escape(title)}</h2>{"".join(body)}</section>')


def table(ctx: Ctx, table_id: str, title: str, rows: list[tuple[str, Any, Any]], *, unit: str = "",
          share_of: Any = None, head: str = "", quiet: bool = False, units: list[str] | None = None) -> str:
    """Label, this period (with its share of ``share_of`` when given), the year earlier.

    ``units``: one unit a row, where the rows differ (else ``unit`` for all).
    """
    now, before = ctx.spans()
    share = isinstance(share_of, int) and share_of > 0
    cols = [f'<th scope="col">{escape(head)}</th>', f'<th scope="col">{escape(ctx.t("this_period").capitalize())}'
            f'<span class="span">{escape(now)}</span></th>']
    if share:
        cols.append(f'<th scope="col">{escape("Andel" if ctx.lang == "sv" else "Share")}</th>')
    if before:
        cols.append(f'<th scope="col">{escape(ctx.t("year_earlier").capitalize())}<span class="span">{escape(before)}</span></th>')
    body = []
    for i, (label, a, b) in enumerate(rows):
        u = units[i] if units else unit
        cells = [f'<th scope="row">{escape(label)}</th>', f"<td>{escape(ctx.num(a, u))}</td>"]
        if share:
            cells.append(f"<td>{escape(ctx.num(a / share_of, '%') if isinstance(a, int) else ctx.num(a))}</td>")
        if before:
            cells.append(f"<td>{escape(ctx.num(b, u))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    cap = ' class="visually-hidden"' if quiet else ""
    return (f'<table id="{table_id}"><caption{cap}>{escape(title)}</caption><thead><tr>{"".join(cols)}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def split_rows(ctx: Ctx, key: str, family: str) -> list[tuple[str, Any, Any]]:
    """One row per value of a split (this period's order, then any only the year earlier had)."""
    now = ctx.out.get(key) or {}
    before = ctx.before.get(key) or {}
    keys = [*now, *(k for k in before if k not in now)]
    return [(words.label(ctx.lang, family, k), now.get(k), before.get(k)) for k in keys]


def _items(rows: list[tuple[str, Any, Any]], ctx: Ctx) -> list[tuple[str, Any, str]]:
    return [(label, a, ctx.num(a)) for label, a, _ in rows]


def _cap(label: str) -> str:
    """A label heading its row: first letter capital, the rest as written (Enskede-Årsta-Vantör)."""
    return label[:1].upper() + label[1:]


def _counted(ctx: Ctx) -> Any:
    return ctx.fig("counted")


# -- the panels ------------------------------------------------------------------------

def summary(ctx: Ctx) -> str:
    rows = [(ctx.t(label), ctx.fig(path), ctx.fig(path, earlier=True), unit) for path, label, unit in words.SUMMARY]
    now, before = ctx.spans()
    head = [f'<th scope="col"></th><th scope="col">{escape(ctx.t("this_period").capitalize())}'
            f'<span class="span">{escape(now)}</span></th>']
    if before:
        head.append(f'<th scope="col">{escape(ctx.t("year_earlier").capitalize())}<span class="span">{escape(before)}</span></th>')
    body = "".join(f'<tr><th scope="row">{escape(label)}</th><td>{escape(ctx.num(a, unit))}</td>'
                   + (f"<td>{escape(ctx.num(b, unit))}</td>" if before else "") + "</tr>"
                   for label, a, b, unit in rows)
    tab = (f'<table id="t-summary"><caption class="visually-hidden">{escape(ctx.t("summary"))}</caption><thead><tr>{"".join(head)}</tr>'
           f"</thead><tbody>{body}</tbody></table>")
    chart = ""
    if before:
        items = [(ctx.t(label), ctx.fig(path), ctx.num(ctx.fig(path)), ctx.fig(path, earlier=True),
                  ctx.num(ctx.fig(path, earlier=True)))
                 for path, label in (("total", "short_conversations"), ("counted", "short_counted"),
                                     ("contacts", "short_contacts"))]
        chart = charts.pairs("chart-yoy-summary", ctx.t("yoy_summary"), items,
                             (ctx.t("this_period"), ctx.t("year_earlier")))
    return section("p-summary", ctx.t("summary"), tab, chart)


def weeks(ctx: Ctx) -> str:
    by_week = ctx.out.get("by_week") or {}
    if not by_week:
        return ""
    top = max([v for v in by_week.values() if isinstance(v, int)] + [0])
    items = [(words.day(ctx.lang, k)[:-5], v, f"{ctx.t('week_of', d=words.day(ctx.lang, k))}: {ctx.num(v)}")
             for k, v in by_week.items()]
    most = (f"Flest på en vecka: {top}" if ctx.lang == "sv" else f"Most in one week: {top}")
    return section("p-weeks", ctx.t("weeks"), charts.columns("chart-weeks", ctx.t("weeks"), items, most=most))


def _split_panel(ctx: Ctx, panel_id: str, key: str, family: str, title_key: str, table_id: str,
                 chart_id: str = "") -> str:
    rows = split_rows(ctx, key, family)
    if not rows:
        return ""
    chart = (charts.bars(chart_id, ctx.t(title_key), _items(rows, ctx), heading=False)
             if chart_id and not ctx.printing else "")
    return section(panel_id, ctx.t(title_key), chart,
                   table(ctx, table_id, ctx.t(title_key), rows, share_of=_counted(ctx), quiet=True))


def gender(ctx: Ctx) -> str:
    return _split_panel(ctx, "p-gender", "by_gender", "gender", "gender", "t-gender", "chart-gender")


def topic(ctx: Ctx) -> str:
    return _split_panel(ctx, "p-topic", "by_topic", "role", "topic", "t-topic", "chart-topic")


def year_on_year(ctx: Ctx) -> str:
    if not ctx.before:
        return ""
    legend = (ctx.t("this_period"), ctx.t("year_earlier"))
    out = []
    for key, family, title_key, chart_id in (("by_topic", "role", "yoy_topic", "chart-yoy"),
                                             ("by_gender", "gender", "yoy_gender", "chart-yoy-gender")):
        items = [(label, a, ctx.num(a), b, ctx.num(b)) for label, a, b in split_rows(ctx, key, family)
                 if charts._n(a) or charts._n(b)]
        if items:
            out.append(charts.pairs(chart_id, ctx.t(title_key), items, legend))
    return section("p-yoy", ctx.t("yoy"), *out) if out else ""


def residence(ctx: Ctx) -> str:
    return _split_panel(ctx, "p-residence", "by_residence", "municipality", "residence", "t-residence")


def district(ctx: Ctx) -> str:
    """Where in the municipality they live (Stockholm's stadsdelsområden): one table per
    municipality with districts, each district's share of the municipality's residents."""
    now, before = ctx.out.get("by_district") or {}, ctx.before.get("by_district") or {}
    tables = []
    for code in geography.DISTRICTS:
        if code not in now and code not in before:
            continue
        a, b = now.get(code) or {}, before.get(code) or {}
        keys = [*a, *(k for k in b if k not in a)]
        rows = [(_cap(words.label(ctx.lang, "district", k)), a.get(k), b.get(k)) for k in keys]
        title = ctx.t("district_in", m=words.label(ctx.lang, "municipality", code))
        tables.append(table(ctx, f"t-district-{code}", title, rows, share_of=ctx.fig(f"by_residence.{code}"),
                            head=ctx.t("district")))
    return section("p-district", ctx.t("district_title"), *tables) if tables else ""


def topic_gender(ctx: Ctx) -> str:
    """Who the conversation was about, by gender: the cross table of the counted conversations
    (as the partnership's interim report reads it: most who are exposed are girls, most who
    use violence are boys), this period and, below it, the year earlier."""
    if not isinstance(ctx.out.get("by_topic_gender"), dict):
        return ""
    topics = (*ROLES, "not_stated")
    now, before = ctx.spans()

    def cross(block: dict[str, Any], table_id: str, caption: str) -> str:
        cells = block.get("by_topic_gender") or {}
        head = "".join(f'<th scope="col">{escape(_cap(words.label(ctx.lang, "gender", g)))}</th>'
                       for g in GENDERS)
        body = []
        for t in topics:
            row = cells.get(t) or {}
            body.append(f'<tr><th scope="row">{escape(_cap(words.label(ctx.lang, "role", t)))}</th>'
                        + "".join(f"<td>{escape(ctx.num(row.get(g)))}</td>" for g in GENDERS)
                        + f'<td>{escape(ctx.num(words.dig(block, f"by_topic.{t}")))}</td></tr>')
        body.append(f'<tr class="sum"><th scope="row">{escape(ctx.t("in_all"))}</th>'
                    + "".join(f'<td>{escape(ctx.num(words.dig(block, f"by_gender.{g}")))}</td>' for g in GENDERS)
                    + f'<td>{escape(ctx.num(block.get("counted")))}</td></tr>')
        return (f'<table id="{table_id}" class="cross"><caption>{escape(caption)}</caption><thead><tr>'
                f'<th scope="col">{escape(ctx.t("topic"))}</th>{head}'
                f'<th scope="col">{escape(ctx.t("in_all"))}</th></tr></thead><tbody>{"".join(body)}</tbody></table>')

    out = [cross(ctx.out, "t-topic-gender", f'{ctx.t("this_period").capitalize()}: {now}')]
    if ctx.before.get("by_topic_gender"):
        out.append(cross(ctx.before, "t-topic-gender-before", f'{ctx.t("year_earlier").capitalize()}: {before}'))
    return section("p-topic-gender", ctx.t("topic_gender"), *out)


def age(ctx: Ctx) -> str:
    rows = split_rows(ctx, "by_age_band", "age")
    rows.append((ctx.t("mean_age"), ctx.fig("mean_age"), ctx.fig("mean_age", earlier=True)))
    body = table(ctx, "t-age", ctx.t("age"), rows[:-1], share_of=ctx.fig("age_stated"), quiet=True)
    mean = (f'<p class="note">{escape(ctx.t("mean_age"))}: {escape(ctx.num(rows[-1][1], "years"))}'
            + (f' ({escape(ctx.t("year_earlier"))}: {escape(ctx.num(rows[-1][2], "years"))})' if ctx.before else "")
            + "</p>")
    return section("p-age", ctx.t("age"), body, mean)


def violence(ctx: Ctx) -> str:
    return _split_panel(ctx, "p-violence", "by_violence", "violence", "violence", "t-violence")


def first_contact(ctx: Ctx) -> str:
    return _split_panel(ctx, "p-first-contact", "by_first_contact", "first_contact", "first_contact", "t-first-contact")


def outcome(ctx: Ctx) -> str:
    rows = split_rows(ctx, "by_outcome", "outcome")
    non_data = split_rows(ctx, "non_data", "non_data")
    return section("p-outcome", ctx.t("outcome"),
                   table(ctx, "t-outcome", ctx.t("outcome"), rows, share_of=ctx.fig("contacts")),
                   table(ctx, "t-non-data", ctx.t("non_data"), non_data))


def referrals(ctx: Ctx) -> str:
    now, before = ctx.out.get("referrals") or {}, ctx.before.get("referrals") or {}
    ids = [*now, *(k for k in before if k not in now)]
    rows = []
    for sid in ids:
        name = ctx.services.get(sid, sid.replace("-", " ").replace("_", " "))
        a, b = now.get(sid) or {}, before.get(sid) or {}
        rows.append((f"{name}: {ctx.t('suggested').lower()}", a.get("suggested"), b.get("suggested")))
        rows.append((f"{name}: {ctx.t('redeemed').lower()}", a.get("redeemed"), b.get("redeemed")))
    rows.append((f"{ctx.t('in_all')}: {ctx.t('suggested').lower()}", ctx.fig("referrals_total.suggested"),
                 ctx.fig("referrals_total.suggested", earlier=True)))
    rows.append((f"{ctx.t('in_all')}: {ctx.t('redeemed').lower()}", ctx.fig("referrals_total.redeemed"),
                 ctx.fig("referrals_total.redeemed", earlier=True)))
    return section("p-referrals", ctx.t("referrals"), table(ctx, "t-referrals", ctx.t("referrals"), rows, quiet=True))


def volunteer_time(ctx: Ctx) -> str:
    """Hours on duty, in chats and booked; with an hour value, what they are worth; per volunteer for a coordinator."""
    now, before = ctx.out.get("volunteer_time") or {}, ctx.before.get("volunteer_time") or {}
    if not now:
        return ""
    rows: list[tuple[str, Any, Any]] = [
        (ctx.t("vt_on_duty"), now.get("on_duty_hours"), before.get("on_duty_hours")),
        (ctx.t("vt_in_chat"), now.get("in_chat_hours"), before.get("in_chat_hours")),
        (ctx.t("vt_booked"), now.get("booked_hours"), before.get("booked_hours")),
    ]
    body = [table(ctx, "t-volunteer-time", ctx.t("volunteer_time"), rows, unit="h", quiet=True),
            table(ctx, "t-volunteer-count", ctx.t("vt_volunteers"),
                  [(ctx.t("vt_volunteers"), now.get("volunteers_on_duty"), before.get("volunteers_on_duty")),
                   (ctx.t("vt_worked_of_booked"), now.get("worked_of_booked"), before.get("worked_of_booked"))],
                  quiet=True)]
    if now.get("value_sek") is not None:
        value = ctx.t("vt_value", v=ctx.num(now.get("hour_value_sek")))
        body.append(f'<p class="value">{escape(value)}: '
                    f'{escape(ctx.t("kronor", n=ctx.num(now.get("value_sek"))))}</p>')
    people = ctx.out.get("volunteer_hours")
    if people:
        body.append(table(ctx, "t-volunteer-hours", ctx.t("vt_people"),
                          [(str(v["volunteer"]), v.get("on_duty_hours"), None) for v in people],
                          unit="h", head=ctx.t("vt_volunteer")))
    return section("p-volunteer-time", ctx.t("volunteer_time"), *body)


def care(ctx: Ctx) -> str:
    """Escalations, debriefs and heavy conversations: counts only, never a reason."""
    now, before = ctx.out.get("care") or {}, ctx.before.get("care") or {}
    if not now:
        return ""
    keys = ("chats", "escalations_help", "escalations_acute", "chats_escalated", "debriefs", "heavy")
    rows = [(ctx.t(f"care_{k}"), now.get(k), before.get(k)) for k in keys]
    return section("p-care", ctx.t("care"), table(ctx, "t-care", ctx.t("care"), rows, quiet=True))


def language(ctx: Ctx) -> str:
    """The chat's language: conversations (answered) and every contact, each language by its name."""
    if not ctx.out.get("by_language") and not ctx.out.get("by_language_contacts"):
        return ""

    def named(key: str) -> list[tuple[str, Any, Any]]:      # "arabiska" heads its row as "Arabiska"
        return [(label[:1].upper() + label[1:], a, b) for label, a, b in split_rows(ctx, key, "language")]
    return section("p-language", ctx.t("languages"),
                   table(ctx, "t-language", ctx.t("by_language"), named("by_language"),
                         share_of=ctx.fig("total")),
                   table(ctx, "t-language-contacts", ctx.t("by_language_contacts"),
                         named("by_language_contacts"), share_of=ctx.fig("contacts")))


def intake_topic(ctx: Ctx) -> str:
    """The topic chosen in the widget; per topic, how many reached a volunteer trained for it, and the waits."""
    now, before = ctx.out.get("topic_routing"), ctx.before.get("topic_routing")
    if not now:
        return ""
    cell = topic_stats.cell
    chosen = [(words.label(ctx.lang, "role", t), cell(now, "by_intake_topic", t), cell(before, "by_intake_topic", t))
              for t in (*ROLES, topic_stats.NOT_STATED)]
    counts: list[tuple[str, Any, Any]] = []
    waits: list[tuple[str, Any, Any]] = []
    for t in ROLES:
        if not cell(now, t, "answered") and not cell(before, t, "answered"):
            continue
        name = words.label(ctx.lang, "role", t)
        counts += [(ctx.t("topic_answered", name=name), cell(now, t, "answered"), cell(before, t, "answered")),
                   (ctx.t("topic_specialist", name=name), cell(now, t, "reached_specialist"),
                    cell(before, t, "reached_specialist"))]
        waits += [(ctx.t("topic_wait", name=name), cell(now, t, "median_wait_s"), cell(before, t, "median_wait_s")),
                  (ctx.t("topic_wait_specialist", name=name), cell(now, t, "median_wait_specialist_s"),
                   cell(before, t, "median_wait_specialist_s"))]
    body = [table(ctx, "t-intake-topic", ctx.t("intake_topic_chosen"), chosen + counts)]
    if waits:
        body.append(table(ctx, "t-intake-topic-waits", ctx.t("topic_waits"), waits, unit="min"))
    return section("p-intake-topic", ctx.t("intake_topic"), *body)


def outcomes(ctx: Ctx) -> str:
    """What the chats achieved: the anonymous survey beside the referrals suggested and redeemed."""
    if "survey" not in ctx.out:
        return ""
    keys = survey_stats.outcome_keys(ctx.out)
    rows = [(ctx.t(f"oc_{key}"), a, b) for key, a, b in keys]
    units = ["%" if key in survey_stats.RATIOS else "" for key, _, _ in keys]
    return section("p-outcomes", ctx.t("outcomes"),
                   table(ctx, "t-outcomes", ctx.t("outcomes"), rows, units=units, quiet=True))


def survey(ctx: Ctx) -> str:
    """The post-chat survey's answers, question by question (no answer counted too)."""
    if "survey" not in ctx.out:
        return ""
    rows = [(f"{ctx.t(f'sq_{q}')} {ctx.t(f'sa_{a}')}", now, before)
            for q, a, now, before in survey_stats.answer_keys(ctx.out)]
    return section("p-survey", ctx.t("survey"),
                   table(ctx, "t-survey", ctx.t("survey"), rows, share_of=ctx.fig("survey.responses"), quiet=True))


# The dashboard's panels, in order. Add a statistic with one function and one line here.
PANELS: list[Panel] = [summary, weeks, year_on_year, gender, topic, topic_gender, residence, district, age,
                       violence, first_contact, outcome, referrals, outcomes, survey, intake_topic, language,
                       volunteer_time, care]
# The printed half-year report's panels: the tables of the partnership's interim report (seed 001:
# conversations, residents, gender, who it was about and by gender, district, mean age, referrals).
REPORT_PANELS: list[Panel] = [summary, year_on_year, gender, topic, topic_gender, residence, district, age,
                              violence, first_contact, referrals, outcomes]


def render(ctx: Ctx, panels: list[Panel] | None = None) -> str:
    return "".join(panel(ctx) for panel in (PANELS if panels is None else panels))
