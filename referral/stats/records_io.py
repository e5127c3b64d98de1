"""Records in and out of the store: historical import and retention purge.

``jourchatt records import FILE.jsonl`` takes records kept by hand before
jourchatt, one JSON object per line (docs/statistics.md lists the fields). Every
line is validated first: a line that is not JSON, names a field that does not
exist (no free text can slip in) or holds a value outside the vocabularies is
reported with its number, and then nothing at all is imported. A valid file is
written in one transaction, so an import is whole or absent.

``jourchatt records purge`` deletes the records (and their referral rows)
that started before the retention limit (default five years), with a dry run
that only counts.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from referral.record import ChatRecord

from ..survey import SurveyResponse
from .. import geography, vocab
from ..models import RecordReferral
from . import rollup
from .exceptions import ImportFailed
from .presets import parse_day, year_earlier

MAX_AGE = 120
FIELDS = {"day", "channel", "lang", "outcome", "ended_by", "wait_s", "duration_s", "age", "gender",
          "municipality", "district", "topic", "violence", "first_contact", "non_data", "time_band",
          "referrals", "intake_topic", "specialist"}
LEGACY_CHANNEL = "legacy"
UNKNOWN_BAND = "-"
BATCH = 5000


def _choice(obj: dict[str, Any], key: str, allowed: Iterable[str], default: str | None) -> str | None:
    value = obj.get(key, default)
    if value is None:
        return default
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{key} must be one of {', '.join(allowed)}")
    return str(value)


def _seconds(obj: dict[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86400:
        raise ValueError(f"{key} must be whole seconds from 0 to 86400")
    return int(round(value / 10)) * 10


def validate(obj: Any, *, today: date) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A record row and its referral rows from one line's object; ValueError says what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("each line must be a JSON object")
    unknown = sorted(set(obj) - FIELDS)
    if unknown:
        raise ValueError(f"unknown field {unknown[0][:40]!r}")
    if "day" not in obj:
        raise ValueError("day is required")
    day = parse_day(obj["day"], "day")
    if day > today:
        raise ValueError("day is in the future")
    age = obj.get("age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 1 <= age <= MAX_AGE):
        raise ValueError(f"age must be a whole number from 1 to {MAX_AGE}, or null")
    municipality = obj.get("municipality")
    if municipality is not None and (not isinstance(municipality, str)
                                     or not geography.valid_municipality(municipality)):
        raise ValueError("municipality must be an SCB code such as \"0180\", \"other\" or null")
    district = obj.get("district")
    if district is not None and (not isinstance(district, str) or not geography.valid_district(municipality, district)):
        raise ValueError("district is not a district of that municipality")
    channel = obj.get("channel", LEGACY_CHANNEL)
    if not isinstance(channel, str) or not channel.replace("-", "").replace("_", "").isalnum() \
            or len(channel) > 40 or channel != channel.lower():
        raise ValueError("channel must be a short lower-case id")
    band = obj.get("time_band", UNKNOWN_BAND)
    if band != UNKNOWN_BAND and not (isinstance(band, str) and len(band) == 5 and band[2] == "-"
                                     and band[:2].isdigit() and band[3:].isdigit()):
        raise ValueError("time_band must be like \"18-21\"")
    violence = obj.get("violence") or []
    if not isinstance(violence, list) or not all(v in vocab.VIOLENCE for v in violence):
        raise ValueError(f"violence must be a list of {', '.join(vocab.VIOLENCE)}")
    specialist = obj.get("specialist")
    if specialist is not None and not isinstance(specialist, bool):
        raise ValueError("specialist must be true, false or null")
    intake_topic = _choice(obj, "intake_topic", vocab.ROLES, None)
    row: dict[str, Any] = {
        "intake_topic": intake_topic, "specialist": specialist if intake_topic else None,
        "id": secrets.token_hex(16), "day": day, "time_band": band, "channel": channel,
        "lang": _choice(obj, "lang", vocab.LANGUAGES, "sv"),
        "outcome": _choice(obj, "outcome", vocab.OUTCOMES, "completed"),
        "ended_by": _choice(obj, "ended_by", vocab.ENDED_BY, None),
        "wait_s": _seconds(obj, "wait_s"), "duration_s": _seconds(obj, "duration_s"),
        "age": age, "gender": _choice(obj, "gender", vocab.GENDERS, "not_stated"),
        "municipality": municipality, "district": district,
        "topic": _choice(obj, "topic", vocab.ROLES, None),
        "first_contact": _choice(obj, "first_contact", vocab.FIRST_CONTACT, "not_stated"),
        "volunteer": None, "non_data": _choice(obj, "non_data", vocab.NON_DATA, None),
        "wrapup_filed": True,
    }
    for form in vocab.VIOLENCE:
        row[f"v_{form}"] = form in violence
    refs = []
    raw_refs = obj.get("referrals") or []
    if not isinstance(raw_refs, list):
        raise ValueError("referrals must be a list of {\"service\", \"redeemed_on\"}")
    for ref in raw_refs:
        if not isinstance(ref, dict) or set(ref) - {"service", "redeemed_on"}:
            raise ValueError("each referral is {\"service\": id, \"redeemed_on\": date or null}")
        service = ref.get("service")
        if not isinstance(service, str) or not 0 < len(service) <= 40 \
                or not service.replace("-", "").replace("_", "").isalnum() or service != service.lower():
            raise ValueError("a referral's service must be a service id such as \"rvc-sydvast\"")
        redeemed = ref.get("redeemed_on")
        redeemed_on = parse_day(redeemed, "redeemed_on") if redeemed is not None else None
        if redeemed_on is not None and redeemed_on < day:
            raise ValueError("redeemed_on is before the chat's day")
        refs.append({"record_id": row["id"], "service_id": service, "redeemed_on": redeemed_on})
    return row, refs


def parse(lines: Iterable[str], *, today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every record and referral of a JSONL text; ImportFailed lists every bad line."""
    records: list[dict[str, Any]] = []
    referrals: list[dict[str, Any]] = []
    errors: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row, refs = validate(json.loads(line), today=today)
        except (ValueError, RecursionError) as exc:
            reason = str(exc) if not isinstance(exc, json.JSONDecodeError) else f"not JSON ({exc.msg})"
            errors.append((number, reason))
            continue
        records.append(row)
        referrals.extend(refs)
    if errors:
        raise ImportFailed(errors)
    return records, referrals


async def write(engine: AsyncEngine, records: list[dict[str, Any]], referrals: list[dict[str, Any]]) -> None:
    """Insert in one transaction (all or nothing), in batches of executemany."""
    async with engine.begin() as conn:
        for i in range(0, len(records), BATCH):
            await conn.execute(insert(ChatRecord), records[i:i + BATCH])
        for i in range(0, len(referrals), BATCH):
            await conn.execute(insert(RecordReferral), referrals[i:i + BATCH])
        await rollup.sync(conn)


async def import_file(engine: AsyncEngine, path: Path, *, today: date) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ImportFailed([(0, "the file is not UTF-8 text")]) from None
    records, referrals = parse(text.splitlines(), today=today)
    await write(engine, records, referrals)
    return len(records)


def retention_limit(today: date, years: int) -> date:
    """Records that started before this day are past retention."""
    limit = today
    for _ in range(years):
        limit = year_earlier(limit)
    return limit


async def purge(engine: AsyncEngine, *, today: date, years: int, dry_run: bool) -> tuple[int, date]:
    """Delete (or, dry, count) the records older than ``years``; returns (count, limit)."""
    limit = retention_limit(today, years)
    cr, rr = ChatRecord, RecordReferral
    async with engine.begin() as conn:
        n = (await conn.execute(select(func.count()).select_from(cr).where(cr.day < limit))).scalar_one()
        if not dry_run and n:
            old = select(cr.id).where(cr.day < limit)
            await conn.execute(delete(rr).where(rr.record_id.in_(old)))
            await conn.execute(delete(SurveyResponse).where(SurveyResponse.record_id.in_(old)))
            await conn.execute(delete(cr).where(cr.day < limit))
            await rollup.sync(conn)
    return int(n), limit
