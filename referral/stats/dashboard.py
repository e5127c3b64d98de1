"""The coordinators' dashboard: one server-rendered page, charts drawn here as SVG.

No script and no chart library: the page is a GET form (period, partnership,
municipality) and the figures of ``report.build`` as tables and inline SVG, so
it works under the strict Content-Security-Policy and prints as it looks. Text
is Swedish first, English second.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any, Iterable
from urllib.parse import urlencode

from .. import geography
from . import report, survey
from .partnerships import Partnership

COLOURS = ("#2f5d8a", "#c06c2b", "#6b8f3a", "#8a3b6b", "#3b8a86", "#7a6a2f", "#555555")
NOW, BEFORE = "#2f5d8a", "#b9c7d6"
LABELS = {
    "girl": "Tjej / Girl", "boy": "Kille / Boy", "nonbinary": "Icke-binär / Non-binary",
    "not_stated": "Ej angivet / Not stated", "exposed": "Utsatt / Exposed",
    "uses_violence": "Utövar våld / Uses violence", "both": "Båda / Both",
    "friend_relative": "Kompis, anhörig / Friend, relative", "professional": "Yrkesverksam / Professional",
    "other": "Annat / Other", "yes": "Ja / Yes", "no": "Nej / No",
}


def _label(key: str) -> str:
    return LABELS.get(key) or geography.MUNICIPALITIES.get(key) or key


def default_preset(today: date | None = None) -> str:
    """The half year before the current one: what the steering group asks for next."""
    today = today or date.today()
    return f"{today.year}H1" if today.month > 6 else f"{today.year - 1}H2"


def preset_choices(today: date | None = None) -> list[str]:
    today = today or date.today()
    out = []
    for year in range(today.year, today.year - 4, -1):
        out += [f"{year}", f"{year}H1", f"{year}H2", f"{year}T1", f"{year}T2", f"{year}T3"]
    return out


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if value == report.SUPPRESSED:
        return ".."
    return str(value)


def _n(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def bar_chart(title: str, items: list[tuple[str, Any]], *, chart_id: str) -> str:
    """Horizontal bars, one per item (label, count)."""
    width, row, left = 520, 24, 210
    height = 34 + row * len(items)
    top = max([_n(v) for _, v in items] + [1])
    parts = [f'<svg id="{chart_id}" class="chart" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 28 + i * row
        w = (width - left - 60) * _n(value) / top
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end" fill="#222">'
                     f'{escape(_label(label))}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" '
                     f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12" fill="#222">{_num(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def week_chart(title: str, weeks: dict[str, Any], *, chart_id: str) -> str:
    """Columns, one per week (keyed by the week's Monday)."""
    width, height, bottom = 720, 200, 30
    keys = list(weeks)
    top = max([_n(v) for v in weeks.values()] + [1])
    step = (width - 40) / max(1, len(keys))
    parts = [f'<svg id="{chart_id}" class="chart" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
             f'<text x="0" y="36" font-size="11" fill="#555">max {int(top)}</text>']
    for i, key in enumerate(keys):
        h = (height - bottom - 44) * _n(weeks[key]) / top
        x = 30 + i * step
        parts.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{max(1.0, step - 2):.1f}" '
                     f'height="{h:.1f}" fill="{NOW}"><title>{escape(key)}: {_num(weeks[key])}</title></rect>')
        if i % max(1, len(keys) // 6) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="10" fill="#555">{escape(key[5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def compare_chart(title: str, items: list[tuple[str, Any, Any]], *, chart_id: str) -> str:
    """Pairs of bars: this period (dark) beside the same period a year earlier (light)."""
    width, row, left = 520, 34, 210
    height = 50 + row * len(items)
    top = max([_n(a) for _, a, _ in items] + [_n(b) for _, _, b in items] + [1])
    parts = [f'<svg id="{chart_id}" class="chart" role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold" fill="#222">{escape(title)}</text>',
             f'<rect x="{left}" y="24" width="10" height="10" fill="{NOW}"/>'
             f'<text x="{left + 14}" y="33" font-size="11" fill="#222">i år / this period</text>',
             f'<rect x="{left + 130}" y="24" width="10" height="10" fill="{BEFORE}"/>'
             f'<text x="{left + 144}" y="33" font-size="11" fill="#222">året före / a year earlier</text>']
    for i, (label, now, before) in enumerate(items):
        y = 42 + i * row
        for j, (value, colour) in enumerate(((now, NOW), (before, BEFORE))):
            w = (width - left - 60) * _n(value) / top
            parts.append(f'<rect x="{left}" y="{y + 2 + j * 13}" width="{w:.1f}" height="11" fill="{colour}"/>')
            parts.append(f'<text x="{left + w + 4:.1f}" y="{y + 12 + j * 13}" font-size="11" fill="#222">'
                         f'{_num(value)}</text>')
        parts.append(f'<text x="{left - 6}" y="{y + 18}" font-size="12" text-anchor="end" fill="#222">'
                     f'{escape(_label(label))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(caption: str, rows: Iterable[tuple[str, Any, Any]], table_id: str) -> str:
    body = "".join(f"<tr><th scope=\"row\">{escape(_label(k))}</th><td>{_num(a)}</td><td>{_num(b)}</td></tr>"
                   for k, a, b in rows)
    return (f'<table id="{table_id}"><caption>{escape(caption)}</caption><thead><tr><th></th>'
            f'<th scope="col">Perioden / Period</th><th scope="col">Året före / Year earlier</th></tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _pairs(out: dict[str, Any], key: str) -> list[tuple[str, Any, Any]]:
    now, before = out.get(key) or {}, (out.get("year_earlier") or {}).get(key) or {}
    return [(k, now.get(k), before.get(k)) for k in [*now, *(k for k in before if k not in now)]]


def _shell(body: str, title: str = "Statistik / Statistics") -> str:
    return ('<!doctype html><html lang="sv"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} – jourchatt</title><link rel="stylesheet" href="/static/stats.css">'
            f"</head><body>{body}</body></html>")


def message_page(sv: str, en: str) -> str:
    return _shell(f'<main><h1>Statistik / Statistics</h1><p class="problem">{escape(sv)} / {escape(en)}</p></main>')


def _form(found: list[Partnership], query: dict[str, Any]) -> str:
    def option(value: str, label: str, current: Any) -> str:
        sel = " selected" if value == (current or "") else ""
        return f'<option value="{escape(value)}"{sel}>{escape(label)}</option>'

    presets = "".join(option(p, p, query.get("preset")) for p in ["", *preset_choices()])
    parts = option("", "Alla chattar / All chats", query.get("partnership")) + "".join(
        option(p.id, p.name, query.get("partnership")) for p in found)
    munis = option("", "Alla kommuner / All", query.get("municipality")) + "".join(
        option(code, f"{name} ({code})", query.get("municipality"))
        for code, name in sorted(geography.MUNICIPALITIES.items(), key=lambda x: x[1]))
    return (
        '<form id="picker" method="get" action="/stats">'
        f'<label>Period <select name="preset" id="preset">{presets}</select></label>'
        f'<label>eller från / or from <input type="date" name="from" id="from" value="{escape(query.get("from", ""))}"></label>'
        f'<label>till / to <input type="date" name="to" id="to" value="{escape(query.get("to", ""))}"></label>'
        f'<label>Partnerskap / Partnership <select name="partnership" id="partnership">{parts}</select></label>'
        f'<label>Kommun / Municipality <select name="municipality" id="municipality">{munis}</select></label>'
        '<button type="submit">Visa / Show</button></form>')


def outcomes_panel(out: dict[str, Any]) -> list[str]:
    """What the chats achieved: the anonymous survey beside the referrals suggested and redeemed."""
    return [_table("Effekter: enkäten och hänvisningarna / Outcomes: the survey and the referrals",
                   survey.outcomes(out), "t-outcomes"),
            _table("Enkät efter chatten / Post-chat survey", survey.answers(out), "t-survey")]


def page(out: dict[str, Any] | None, found: list[Partnership], query: dict[str, Any],
         problem: str | None = None) -> str:
    head = "<h1>Statistik för partnerskapen / Partnership statistics</h1>" + _form(found, query)
    if out is None:
        return _shell(f'<main>{head}<p class="problem" id="problem">{escape(problem or "")}</p></main>')
    p = out["period"]
    before = (out.get("year_earlier") or {}).get("period", {})
    params = {k: v for k, v in query.items() if k in ("from", "to", "preset", "partnership", "municipality") and v}
    csv_link = "/api/stats?" + urlencode({**params, "format": "csv"})
    public_link = "/api/stats?" + urlencode({**params, "format": "csv", "publish": "true"})
    yb = out.get("year_earlier") or {}
    summary = [
        ("Samtal / Conversations", out.get("total"), yb.get("total")),
        ("Räknade samtal / Counted", out.get("counted"), yb.get("counted")),
        ("Kontakter / Contacts", out.get("contacts"), yb.get("contacts")),
        ("Medelålder / Mean age", out.get("mean_age"), yb.get("mean_age")),
        ("Lämnade kön / Left the queue", (out.get("queue") or {}).get("left_queue_share"),
         (yb.get("queue") or {}).get("left_queue_share")),
        ("Väntetid median (s) / Median wait", (out.get("queue") or {}).get("median_wait_s"),
         (yb.get("queue") or {}).get("median_wait_s")),
        ("Väntetid p90 (s) / p90 wait", (out.get("queue") or {}).get("p90_wait_s"),
         (yb.get("queue") or {}).get("p90_wait_s")),
        ("Volontärtimmar / Volunteer hours", (out.get("volunteers") or {}).get("hours"),
         (yb.get("volunteers") or {}).get("hours")),
    ]
    referrals = [(f"{svc} föreslagna / suggested", v.get("suggested"),
                  ((yb.get("referrals") or {}).get(svc) or {}).get("suggested"))
                 for svc, v in (out.get("referrals") or {}).items()]
    referrals += [(f"{svc} inlösta / redeemed", v.get("redeemed"),
                   ((yb.get("referrals") or {}).get(svc) or {}).get("redeemed"))
                  for svc, v in (out.get("referrals") or {}).items()]
    charts = [
        week_chart("Samtal per vecka / Conversations per week", out.get("by_week") or {}, chart_id="chart-weeks"),
        bar_chart("Kön / Gender", list((out.get("by_gender") or {}).items()), chart_id="chart-gender"),
        bar_chart("Ämne / Topic", list((out.get("by_topic") or {}).items()), chart_id="chart-topic"),
        compare_chart("Jämfört med året före / Year on year",
                      [(k, a, b) for k, a, b in _pairs(out, "by_topic") if _n(a) or _n(b)]
                      + [(k, a, b) for k, a, b in _pairs(out, "by_gender") if _n(a) or _n(b)],
                      chart_id="chart-yoy"),
    ]
    tables = [
        _table("Översikt / Summary", summary, "t-summary"),
        _table("Kön / Gender", _pairs(out, "by_gender"), "t-gender"),
        _table("Ämne / Topic", _pairs(out, "by_topic"), "t-topic"),
        _table("Kommun / Municipality", _pairs(out, "by_residence"), "t-residence"),
        _table("Ålder / Age band", _pairs(out, "by_age_band"), "t-age"),
        _table("Våldsformer / Forms of violence", _pairs(out, "by_violence"), "t-violence"),
        _table("Första kontakt / First contact", _pairs(out, "by_first_contact"), "t-first-contact"),
        _table("Utfall / Outcome", _pairs(out, "by_outcome"), "t-outcome"),
        _table("Ej data / Non-data (volym / volume only)", _pairs(out, "non_data"), "t-non-data"),
        _table("Hänvisningar / Referrals", referrals, "t-referrals"),
        *outcomes_panel(out),
    ]
    scope = out["scope"]
    who = scope.get("partnership_name") or "Alla chattar / All chats"
    if scope.get("municipality"):
        who += f" · {_label(scope['municipality'])}"
    body = (f"<main>{head}"
            f'<p class="period" id="period">{escape(who)}: {escape(p["from"])} – {escape(p["to"])}'
            f' (året före / a year earlier {escape(before.get("from", ""))} – {escape(before.get("to", ""))})</p>'
            f'<p class="downloads"><a id="csv" href="{escape(csv_link)}">Ladda ner CSV (exakt, internt) / '
            f'Download CSV (exact, internal)</a> · <a id="csv-public" href="{escape(public_link)}">'
            f'CSV för publicering / CSV for publication</a></p>'
            f'<section class="charts">{"".join(charts)}</section>'
            f'<section class="tables">{"".join(tables)}</section></main>')
    return _shell(body)
