"""The printable half-year report (``/stats/report``): what a partnership's interim report
(delrapportering) to the social committee shows, on A4.

The partnership and its parties, target group and goals; the reporting period beside the
same period a year earlier; conversations and contacts, who got in touch (gender, who
the conversation was about, age, where they live), forms of violence, first contact,
referrals per service, and availability (queue, waiting time, volunteer hours). The
figures are the publication-safe ones (small numbers withheld, ``disclosure``), since the
report leaves the foundation: fetching it is audited as an export. ``report.css`` holds
the A4 print stylesheet; the page prints as it looks, without the staff header.
"""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from . import panels, words
from .dashboard import describe, explain_empty, head
from .partnerships import Partnership
from .words import t


def page(out: dict[str, Any], partnership: Partnership | None, *, lang: str = "sv",
         services: dict[str, str] | None = None, back: str = "/stats", today: date | None = None) -> str:
    today = today or date.today()
    p = out["period"]
    before = (out.get("year_earlier") or {}).get("period")
    title = t(lang, "report_title")
    facts = [(t(lang, "report_period"), f"{words.span(lang, p['from'], p['to'])}")]
    if before:
        facts.append((t(lang, "report_compared"), words.span(lang, before["from"], before["to"])))
    if partnership is not None:
        if partnership.parties:
            facts.append((t(lang, "report_parties"), "; ".join(x.name for x in partnership.parties)))
        if partnership.age_min is not None and partnership.age_max is not None:
            target = t(lang, "report_target_text", a=partnership.age_min, b=partnership.age_max)
            if partnership.municipalities:
                target += ", " + ", ".join(words.label(lang, "municipality", m) for m in partnership.municipalities)
            facts.append((t(lang, "report_target"), target))
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    goals = ""
    if partnership is not None and partnership.goals:
        goals = (f'<section class="goals"><h2>{escape(t(lang, "report_goals"))}</h2><ul>'
                 + "".join(f"<li>{escape(g)}</li>" for g in partnership.goals) + "</ul></section>")
    threshold = (out.get("disclosure") or {}).get("threshold", 5)
    ctx = panels.Ctx(out=out, lang=lang, services=services or {}, printing=True)
    name = partnership.name if partnership else t(lang, "all_chats")
    body = (
        '<main class="report">'
        f'<nav class="screen-only" aria-label="{escape(title)}"><a href="{escape(back)}">{escape(t(lang, "report_back"))}</a>'
        f' <button type="button" id="print">{escape(t(lang, "report_print"))}</button></nav>'
        f'<header class="report-head"><p class="kicker">{escape(t(lang, "report_for"))}</p>'
        f'<h1 id="report-title">{escape(title)}: {escape(name)}</h1>'
        f'<p class="period" id="period">{escape(describe(out, lang))}</p>'
        f'<dl class="facts">{dl}</dl></header>'
        f"{goals}{explain_empty(out, lang, today)}"
        f'<div class="panels">{panels.render(ctx, panels.REPORT_PANELS)}</div>'
        f'<footer class="report-foot"><p>{escape(t(lang, "report_disclosure", t=threshold - 1))}</p>'
        f'<p>{escape(t(lang, "report_made", d=words.day(lang, today)))}</p></footer></main>'
        '<script type="module" src="/static/report.js"></script>')
    return head(f"{title} – {name}", lang, "/static/report.css") + f"<body>{body}</body></html>"
