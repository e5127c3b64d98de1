"""Records that hold the worked example of domain.md (seed 001), as import lines.

January–May 2022: 612 conversations; 228 by residents of Stockholm (0180), of
whom 151 girls, 35 boys and 42 who did not say; of the 228, 152 about being
exposed, 13 about using violence, the rest friends (50) or other (13); mean age
of the 228 just over 17. Around them, records that must *not* change those
figures: 20 non-data conversations (volume only), 30 visitors who left the
queue (12 of them from Stockholm) and 9 chats turned away out of hours. And a
year earlier, January–May 2021: 400 conversations, 150 from Stockholm of whom 9
about using violence.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

AGES = [15, 16, 16, 17, 17, 17, 18, 18, 19, 18]   # mean 17.1


def _day(i: int, start: date, days: int) -> str:
    return (start + timedelta(days=(i * 7) % days)).isoformat()


def lines_2022() -> list[dict[str, Any]]:
    start, days = date(2022, 1, 1), 151                     # 1 January – 31 May
    out: list[dict[str, Any]] = []
    genders = ["girl"] * 151 + ["boy"] * 35 + ["not_stated"] * 42
    topics = ["exposed"] * 152 + ["uses_violence"] * 13 + ["friend_relative"] * 50 + ["other"] * 13
    for i in range(228):
        out.append({
            "day": _day(i, start, days), "channel": "web", "outcome": "completed",
            "wait_s": 30 + 10 * (i % 7), "duration_s": 1800, "age": None if i % 19 == 0 else AGES[i % 10],
            "gender": genders[i], "municipality": "0180",
            "district": ["sodermalm", "farsta", "bromma", None][i % 4],
            "topic": topics[(i * 37) % 228], "violence": ["psychological"] + (["physical"] if i % 3 == 0 else []),
            "first_contact": ["yes", "no", "not_stated"][i % 3],
            "referrals": [{"service": "stodcentrum", "redeemed_on": None}] if i % 10 == 0 else [],
        })
    others = ["0182", "0120", "0126", "other", None]
    for i in range(612 - 228 - 20):
        out.append({
            "day": _day(i + 3, start, days), "channel": "web", "outcome": ["completed", "visitor_left"][i % 2],
            "wait_s": 40, "duration_s": 1200, "age": 14 + i % 8, "gender": ["girl", "boy", "nonbinary"][i % 3],
            "municipality": others[i % 5], "topic": ["exposed", "friend_relative", "both"][i % 3],
            "first_contact": "yes",
            "referrals": [{"service": "rvc-sydvast", "redeemed_on": "2022-06-01"}] if i % 50 == 0 else [],
        })
    for i in range(20):
        out.append({"day": _day(i, start, days), "channel": "web", "outcome": "completed", "wait_s": 20,
                    "duration_s": 60, "non_data": ["silent", "prank", "test", "abusive"][i % 4]})
    for i in range(30):
        out.append({"day": _day(i, start, days), "channel": "web", "outcome": "left_queued", "wait_s": 600,
                     "gender": "girl", "age": 16, "municipality": "0180" if i < 12 else None})
    for i in range(9):
        out.append({"day": _day(i, start, days), "channel": "web", "outcome": "closed", "municipality": "0180"})
    return out


def lines_2021() -> list[dict[str, Any]]:
    start, days = date(2021, 1, 1), 151
    out = []
    for i in range(400):
        stockholm = i < 150
        out.append({
            "day": _day(i, start, days), "channel": "web", "outcome": "completed", "wait_s": 60,
            "duration_s": 1500, "age": 16 + i % 3, "gender": ["girl", "boy"][i % 2],
            "municipality": "0180" if stockholm else "0182",
            "topic": "uses_violence" if stockholm and i < 9 else "exposed",
        })
    return out


def jsonl() -> str:
    return "".join(json.dumps(x) + "\n" for x in lines_2022() + lines_2021())


def expected_mean_age() -> float:
    ages = [AGES[i % 10] for i in range(228) if i % 19 != 0]
    return sum(ages) / len(ages)
