"""The grouped statements of each split, and the record key the cell key method sums.

A split (``volume``, ``gender_topic``, ``referrals``, …) is one or a few
``Part``s: what a GROUP BY over the records in a scope groups by (``k1``,
``k2``) and sums (``n``, the record-key sum ``key``, an ``extra`` such as
durations and its key ``extra_key``). The report's queries run them over the
records; the roll-up stores exactly what they return, per day, so both read
the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal

from .. import vocab
from .scope import CR, RR

HEX = "0123456789abcdef"
RECORD_KEY_DIGITS = 6
# Every split ``parts`` knows; the roll-up keeps each of them.
ROLLUP_SPLITS = ("volume", "wait", "gender_topic", "first_contact", "age", "residence", "violence",
                 "volunteers", "week", "referrals")


def record_key(record_id: str) -> int:
    """A record's key: its id's first hex digits as a number (the same as ``record_key_sql``)."""
    value = 0
    for i in range(RECORD_KEY_DIGITS):
        ch = record_id[i:i + 1].lower()
        value = value * 16 + ((HEX.find(ch) + 1 if ch else 1) - 1)
    return value


def record_key_sql(dialect: str) -> ColumnElement[Any]:
    """``record_key`` of ``chat_records.id`` in SQL, for the ``dialect`` (postgresql or sqlite)."""
    expr: ColumnElement[Any] = literal(0)
    for i in range(RECORD_KEY_DIGITS):
        ch = func.lower(func.substr(CR.c.id, i + 1, 1))
        pos = func.strpos(HEX, ch) if dialect == "postgresql" else func.instr(HEX, ch)
        expr = expr * 16 + (pos - 1)
    return expr


@dataclass(frozen=True)
class Part:
    """One grouped statement of a split: what it groups by and what it sums."""

    kind: str
    k1: ColumnElement[Any]
    k2: ColumnElement[Any]
    n: ColumnElement[Any]
    key: ColumnElement[Any]
    extra: ColumnElement[Any]
    extra_key: ColumnElement[Any]
    cond: tuple[ColumnElement[bool], ...] = ()
    referrals: bool = False


def parts(split: str, rk: ColumnElement[Any]) -> list[Part]:
    """The statements of a split; the roll-up stores exactly what these group and sum."""
    empty: ColumnElement[Any] = literal("")
    zero: ColumnElement[Any] = literal(0)
    count, keysum = func.count(), func.coalesce(func.sum(rk), 0)

    def part(kind: str, k1: Any = empty, k2: Any = empty, **kw: Any) -> Part:
        return Part(kind=kind, k1=k1, k2=k2, n=kw.pop("n", count), key=kw.pop("key", keysum),
                    extra=kw.pop("extra", zero), extra_key=kw.pop("extra_key", zero), **kw)

    if split == "volume":
        return [part("contacts", CR.c.outcome, func.coalesce(CR.c.non_data, ""))]
    if split == "wait":
        return [part("answered", cast(CR.c.wait_s, String))]
    if split == "gender_topic":
        return [part("data", CR.c.gender, func.coalesce(CR.c.topic, "not_stated"))]
    if split == "first_contact":
        return [part("data", CR.c.first_contact)]
    if split == "age":
        return [part("data", func.coalesce(cast(CR.c.age, String), ""))]
    if split == "residence":
        return [part("data", func.coalesce(CR.c.municipality, ""), func.coalesce(CR.c.district, ""))]
    if split == "violence":
        flags = [getattr(CR.c, f"v_{form}") for form in vocab.VIOLENCE]
        out = [part("data", literal(form), cond=(flag.is_(True),)) for form, flag in zip(vocab.VIOLENCE, flags)]
        return out + [part("data", literal("none_recorded"), cond=tuple(f.is_(False) for f in flags))]
    if split == "volunteers":
        return [part("answered", func.coalesce(CR.c.volunteer, ""), extra=func.sum(CR.c.duration_s))]
    if split == "week":
        return [part("answered")]
    if split == "referrals":
        redeemed = RR.c.redeemed_on.is_not(None)
        return [part("data", RR.c.service_id, extra=func.count(RR.c.redeemed_on),
                     extra_key=func.coalesce(func.sum(case((redeemed, rk), else_=0)), 0), referrals=True)]
    raise KeyError(split)
