"""The post-chat survey in the statistics, and the outcomes it is read beside.

Over the counted conversations of a scope (``scope.where(…, "data")``), read from
the records and ``survey_responses`` directly: an answer can arrive after its
record was written, so the roll-up (kept by triggers on the records) would miss
it. Two grouped queries per period, a few dozen rows.

Cells (all counts, so disclosure control treats them like every other table):

    survey.offered                     conversations whose visitor was offered the survey
    survey.responses                   … who answered at least one question
    survey.no_response                 offered - responses
    survey.<question>.<answer>         e.g. survey.helped.partly; ``not_answered`` too
    survey.by_topic.<topic>.responses  and survey.by_topic.<topic>.<question>.<answer>

``rate`` adds ``survey.response_rate`` (responses / offered) from the published
cells. The outcomes put the survey beside the referrals suggested and redeemed:
``outcomes`` and ``answers`` are the tables of ``jourchatt report`` (Swedish / English);
the dashboard's ``outcomes`` and ``survey`` panels (``panels``) read ``outcome_keys``
and ``answer_keys`` and take their words from ``words``, one language at a time.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .. import vocab
from ..survey import QUESTIONS, SurveyResponse
from .scope import CR, Scope, where


class Runner(Protocol):
    """What ``queries._Runner`` offers a split (named here: ``queries`` imports this module)."""

    conn: AsyncConnection
    scope: Scope
    keys: bool
    rk: ColumnElement[Any]


class Cells(Protocol):
    """What ``queries.Figures`` offers a split."""

    counts: dict[str, int]
    keys: dict[str, int]

    def add(self, cell: str, n: int, key: int = 0) -> None: ...

    def line(self, total: str, parts: list[str]) -> None: ...

SR = SurveyResponse.__table__
TOPICS = (*vocab.ROLES, "not_stated")
SUPPRESSED = {"suppressed": True}


def _answers(question: str) -> tuple[str, ...]:
    return (*QUESTIONS[question], "not_answered")


async def figures(r: Runner, f: Cells) -> None:
    """The survey's cells and the lines between them (see the module docstring)."""
    f.add("survey.offered", 0)
    f.add("survey.responses", 0)
    f.add("survey.no_response", 0)
    for q in QUESTIONS:
        for a in _answers(q):
            f.add(f"survey.{q}.{a}", 0)
    for t in TOPICS:
        f.add(f"survey.by_topic.{t}.responses", 0)
        for q in QUESTIONS:
            for a in _answers(q):
                f.add(f"survey.by_topic.{t}.{q}.{a}", 0)
    key = func.coalesce(func.sum(r.rk), 0) if r.keys else literal(0)
    offered = (select(func.count(), key).select_from(CR)
               .where(*where(r.scope, "data"), CR.c.survey_offered.is_(True)))
    n, k = (await r.conn.execute(offered)).one()
    f.add("survey.offered", n, k)
    topic = func.coalesce(CR.c.topic, "not_stated")
    answered = (select(topic, SR.c.helped, SR.c.knows_where_to_turn, SR.c.would_return, func.count(), key)
                .select_from(CR.join(SR, SR.c.record_id == CR.c.id))
                .where(*where(r.scope, "data"))
                .group_by(topic, SR.c.helped, SR.c.knows_where_to_turn, SR.c.would_return))
    responses = responses_key = 0
    for t, helped, knows, would, n, k in (await r.conn.execute(answered)).all():
        t = t if t in TOPICS else "not_stated"
        responses, responses_key = responses + int(n), responses_key + int(k or 0)
        f.add(f"survey.by_topic.{t}.responses", n, k)
        for q, a in (("helped", helped), ("knows_where_to_turn", knows), ("would_return", would)):
            a = a if a in QUESTIONS[q] else "not_answered"
            f.add(f"survey.{q}.{a}", n, k)
            f.add(f"survey.by_topic.{t}.{q}.{a}", n, k)
    f.add("survey.responses", responses, responses_key)
    f.add("survey.no_response", max(0, f.counts["survey.offered"] - responses),
          max(0, f.keys["survey.offered"] - responses_key))
    f.line("survey.offered", ["survey.responses", "survey.no_response"])
    f.line("survey.responses", [f"survey.by_topic.{t}.responses" for t in TOPICS])
    for q in QUESTIONS:
        f.line("survey.responses", [f"survey.{q}.{a}" for a in _answers(q)])
        for a in _answers(q):
            f.line(f"survey.{q}.{a}", [f"survey.by_topic.{t}.{q}.{a}" for t in TOPICS])
        for t in TOPICS:
            f.line(f"survey.by_topic.{t}.responses", [f"survey.by_topic.{t}.{q}.{a}" for a in _answers(q)])


def _ratio(part: Any, whole: Any) -> Any:
    if isinstance(part, int) and isinstance(whole, int):
        return round(part / whole, 3) if whole else None
    return SUPPRESSED


def rate(block: dict[str, Any]) -> None:
    """``survey.response_rate`` of a report block, from its published (maybe withheld) cells."""
    s = block.get("survey")
    if isinstance(s, dict) and "offered" in s:
        s["response_rate"] = _ratio(s.get("responses"), s.get("offered"))


def _sum(*values: Any) -> Any:
    if all(isinstance(v, int) for v in values):
        return sum(values)
    return SUPPRESSED if any(v == SUPPRESSED for v in values) else None


# The outcomes panel's rows, in order: (key, Swedish / English label). The dashboard
# reads the words of a key from ``words.TEXTS["oc_<key>"]``, one language at a time.
OUTCOME_ROWS = (
    ("counted", "Räknade samtal / Counted conversations"),
    ("offered", "Fick enkäten / Offered the survey"),
    ("responses", "Svarade / Answered"),
    ("response_rate", "Svarsfrekvens / Response rate"),
    ("helped", "Samtalet hjälpte (ja, delvis) / The chat helped (yes, partly)"),
    ("knows_where_to_turn", "Vet var de kan vända sig / Know where to turn"),
    ("would_return", "Skulle chatta igen / Would chat again"),
    ("suggested", "Hänvisningar föreslagna / Referrals suggested"),
    ("redeemed", "Hänvisningar inlösta: nådde stöd / Referrals redeemed: reached support"),
    ("redeemed_share", "Andel inlösta / Share redeemed"),
)
RATIOS = ("response_rate", "redeemed_share")     # shares (0–1); the other rows are counts


def outcome_figures(block: dict[str, Any]) -> dict[str, Any]:
    """The outcomes of a report block by the keys of ``OUTCOME_ROWS``."""
    s = block.get("survey") or {}
    refs = block.get("referrals_total") or {}
    helped = s.get("helped") or {}
    return {
        "counted": block.get("counted"),
        "offered": s.get("offered"),
        "responses": s.get("responses"),
        "response_rate": s.get("response_rate"),
        "helped": _sum(helped.get("yes"), helped.get("partly")),
        "knows_where_to_turn": (s.get("knows_where_to_turn") or {}).get("yes"),
        "would_return": (s.get("would_return") or {}).get("yes"),
        "suggested": refs.get("suggested"),
        "redeemed": refs.get("redeemed"),
        "redeemed_share": _ratio(refs.get("redeemed"), refs.get("suggested")) if "suggested" in refs else None,
    }


def outcome_keys(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, this period, a year earlier) for each row of the outcomes panel."""
    now, before = outcome_figures(report), outcome_figures(report.get("year_earlier") or {})
    return [(key, now[key], before[key]) for key, _ in OUTCOME_ROWS]


def outcomes(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The outcomes table of ``jourchatt report``: (label, this period, a year earlier)."""
    labels = dict(OUTCOME_ROWS)
    return [(labels[key], a, b) for key, a, b in outcome_keys(report)]


QUESTION_LABELS = {
    "helped": "Kändes samtalet till hjälp? / Did the chat help?",
    "knows_where_to_turn": "Vet var hen kan vända sig nu? / Knows where to turn now?",
    "would_return": "Skulle chatta igen? / Would chat again?",
}
ANSWER_LABELS = {"yes": "ja / yes", "partly": "delvis / partly", "no": "nej / no", "unsure": "vet inte / not sure",
                 "not_answered": "inget svar / no answer"}


def answer_keys(report: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(question, answer, this period, a year earlier) for every answer, ``not_answered`` too."""
    now, before = report.get("survey") or {}, (report.get("year_earlier") or {}).get("survey") or {}
    return [(q, a, (now.get(q) or {}).get(a), (before.get(q) or {}).get(a)) for q in QUESTIONS for a in _answers(q)]


def answers(report: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """The survey's answers as table rows: (question: answer, this period, a year earlier)."""
    return [(f"{QUESTION_LABELS[q]} {ANSWER_LABELS[a]}", a_now, a_before)
            for q, a, a_now, a_before in answer_keys(report)]
