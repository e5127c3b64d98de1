"""The coordinators' dashboard (``/stats``): one server-rendered page, charts drawn as SVG.

The page is a GET form (period, partnership, municipality) and the report's panels
(``panels.PANELS``: one function each, so another statistic joins with one line). It
opens on the current half year, says why when a period has no data, speaks words and
units (``words``), one language at a time (the staff shell's choice), and links to the
printable half-year report (``print_report``). Its only script is the staff shell's
header; the figures need none, so it works under the strict Content-Security-Policy.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from .. import geography
from . import panels, words
from .partnerships import Partnership
from .words import t

QUERY_KEYS = ("from", "to", "preset", "partnership", "municipality")


def default_preset(today: date | None = None) -> str:
    """The half year containing today: what a coordinator opening the page wants to see."""
    today = today or date.today()
    return f"{today.year}H2" if today.month > 6 else f"{today.year}H1"


def preset_choices(today: date | None = None) -> list[str]:
    today = today or date.today()
    out = []
    for year in range(today.year, today.year - 4, -1):
        out += [f"{year}H2", f"{year}H1", f"{year}", f"{year}T3", f"{year}T2", f"{year}T1"]
    return out


def head(title: str, lang: str, stylesheet: str = "/static/stats.css") -> str:
    """The document head of a statistics page: the staff shell, then the page's own style."""
    return (f'<!doctype html><html lang="{lang}" data-rendered="server"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{escape(title)} – jourchatt</title>'
            '<link rel="stylesheet" href="/static/shell.css">'
            f'<link rel="stylesheet" href="{stylesheet}">'
            '<script type="module" src="/static/shell.js"></script></head>')


def _page(body: str, lang: str) -> str:
    return head(t(lang, "title"), lang) + f"<body>{body}</body></html>"


def message_page(key: str, lang: str = "sv", *, sign_in: bool = False, back_to: str = "/stats") -> str:
    """A page that only says why (``sign_in``: with a link to /login that comes back to ``back_to``)."""
    link = f' <a href="/login?next={quote(back_to, safe="")}">{escape(t(lang, "sign_in"))}</a>' if sign_in else ""
    return _page(f'<main><h1>{escape(t(lang, "title"))}</h1><p class="problem">{escape(t(lang, key))}{link}</p></main>',
                 lang)


def _option(value: str, label: str, current: Any) -> str:
    sel = " selected" if value == (current or "") else ""
    return f'<option value="{escape(value)}"{sel}>{escape(label)}</option>'


def _form(found: list[Partnership], query: dict[str, Any], lang: str) -> str:
    now = default_preset()
    presets = _option("", t(lang, "own_dates"), query.get("preset")) + "".join(
        _option(p, words.preset_name(lang, p).capitalize() + (f" ({t(lang, 'current')})" if p == now else ""),
                query.get("preset")) for p in preset_choices())
    parts = _option("", t(lang, "all_chats"), query.get("partnership")) + "".join(
        _option(p.id, p.name, query.get("partnership")) for p in found)
    munis = _option("", t(lang, "all_municipalities"), query.get("municipality")) + "".join(
        _option(code, name, query.get("municipality")) for code, name in geography.by_name(geography.MUNICIPALITIES))
    return (
        '<form id="picker" method="get" action="/stats">'
        f'<div class="field"><label for="preset">{escape(t(lang, "period"))}</label>'
        f'<select name="preset" id="preset">{presets}</select></div>'
        f'<fieldset class="dates"><legend>{escape(t(lang, "own_dates"))}</legend>'
        f'<div class="field"><label for="from">{escape(t(lang, "from"))}</label>'
        f'<input type="date" name="from" id="from" value="{escape(query.get("from", ""))}" aria-describedby="dates-hint"></div>'
        f'<div class="field"><label for="to">{escape(t(lang, "to"))}</label>'
        f'<input type="date" name="to" id="to" value="{escape(query.get("to", ""))}" aria-describedby="dates-hint"></div>'
        f'<p class="hint" id="dates-hint">{escape(t(lang, "own_dates_hint"))}</p></fieldset>'
        f'<div class="field"><label for="partnership">{escape(t(lang, "partnership"))}</label>'
        f'<select name="partnership" id="partnership">{parts}</select></div>'
        f'<div class="field"><label for="municipality">{escape(t(lang, "municipality"))}</label>'
        f'<select name="municipality" id="municipality">{munis}</select></div>'
        f'<button type="submit">{escape(t(lang, "show"))}</button></form>')


def explain_empty(out: dict[str, Any], lang: str, today: date | None = None) -> str:
    """Why a period shows nothing: not started, a selection with no chats, or no chat ended in it yet."""
    if words.dig(out, "contacts") or words.is_withheld(words.dig(out, "contacts")):
        return ""
    today = today or date.today()
    p = out["period"]
    why = [t(lang, "no_data", p=words.span(lang, p["from"], p["to"]))]
    if date.fromisoformat(p["from"]) > today:
        why.append(t(lang, "no_data_future"))
    elif out["scope"].get("partnership") or out["scope"].get("municipality"):
        why.append(t(lang, "no_data_scope"))
    else:
        why.append(t(lang, "no_data_none"))
    return f'<p class="empty" id="empty">{escape(" ".join(why))}</p>'


def describe(out: dict[str, Any], lang: str) -> str:
    """Who and when: the partnership (or all chats), the municipality, the period and the year earlier."""
    scope, p = out["scope"], out["period"]
    who = scope.get("partnership_name") or t(lang, "all_chats")
    if scope.get("municipality"):
        who += " · " + words.label(lang, "municipality", scope["municipality"])
    name = words.preset_name(lang, p["preset"]).capitalize() + ": " if p.get("preset") else ""
    text = f"{who} · {name}{words.span(lang, p['from'], p['to'])} ({p['from']} – {p['to']})"
    before = (out.get("year_earlier") or {}).get("period")
    if before:
        text += f" · {t(lang, 'same_period_before').lower()}: {before['from']} – {before['to']}"
    return text


def page(out: dict[str, Any] | None, found: list[Partnership], query: dict[str, Any], *, lang: str = "sv",
         problem: str | None = None, services: dict[str, str] | None = None) -> str:
    top = f'<h1>{escape(t(lang, "heading"))}</h1>' + _form(found, query, lang)
    if out is None:
        return _page(f'<main>{top}<p class="problem" id="problem" role="alert">'
                     f'{escape(t(lang, "problem", d=problem or ""))}</p></main>', lang)
    params = {k: v for k, v in query.items() if k in QUERY_KEYS and v}
    links = [("csv", "/api/stats?" + urlencode({**params, "format": "csv"}), t(lang, "csv")),
             ("csv-public", "/api/stats?" + urlencode({**params, "format": "csv", "publish": "true"}),
              t(lang, "csv_public")),
             ("print-report", "/stats/report?" + urlencode(params), t(lang, "print"))]
    running = ""
    p = out["period"]
    if date.fromisoformat(p["from"]) <= date.today() <= date.fromisoformat(p["to"]):
        running = f'<p class="note" id="running">{escape(t(lang, "running"))}</p>'
    ctx = panels.Ctx(out=out, lang=lang, services=services or {})
    body = (f"<main>{top}"
            f'<p class="period" id="period">{escape(describe(out, lang))}</p>{running}'
            f"{explain_empty(out, lang)}"
            '<ul class="downloads">' + "".join(f'<li><a id="{i}" href="{escape(h)}">{escape(x)}</a></li>'
                                               for i, h, x in links) + "</ul>"
            f'<div class="panels">{panels.render(ctx)}</div></main>')
    return _page(body, lang)
