"""Care for volunteers, the pure parts: what makes a chat heavy, and the two settings."""

from __future__ import annotations

import pytest

from chat import state as S
from chat.kernel.exceptions import ConfigurationError
from chat.kernel.settings import Settings
from chat.live.ending import heavy


def report(**kw: object) -> dict[str, object]:
    return {"non_data": None, "topic": "exposed", "violence": [], "corrections": {}, **kw}


def test_a_chat_is_heavy_for_acute_danger_uses_violence_or_the_volunteers_mark() -> None:
    plain, acute = S.ChatState(id="c1"), S.ChatState(id="c2", esc_acute=1)
    assert not heavy(plain, report())                                   # type: ignore[arg-type]
    assert not heavy(plain, None) and not heavy(S.ChatState(id="c3", esc_help=3), None)
    assert heavy(acute, None) and heavy(acute, report())               # type: ignore[arg-type]
    assert heavy(plain, report(topic="uses_violence"))                 # type: ignore[arg-type]
    assert heavy(plain, report(heavy=True))                            # type: ignore[arg-type]
    assert not heavy(plain, report(heavy=False))                       # type: ignore[arg-type]


def test_care_fields_round_trip_through_the_chat_hash() -> None:
    st = S.ChatState(id="c1", state="active", esc_help=2, esc_acute=1, debrief=True, offer="0123456789ab")
    again = S.ChatState.load("c1", st.dump())
    assert again is not None
    assert (again.esc_help, again.esc_acute, again.debrief, again.offer) == (2, 1, True, "0123456789ab")
    assert "esc_help" not in S.ChatState(id="c2").dump_new()          # defaults are not stored


def test_the_offer_time_limit_and_the_heavy_streak_are_settings(tmp_path: object) -> None:
    base = {"JOURCHATT_VAR_DIR": str(tmp_path)}
    s = Settings.from_env(environ=base, dotenv=False)
    assert (s.transfer_offer_s, s.care_heavy_streak) == (60.0, 3)
    s = Settings.from_env(environ={**base, "JOURCHATT_TRANSFER_OFFER_S": "90", "JOURCHATT_CARE_HEAVY_STREAK": "5"},
                          dotenv=False)
    assert (s.transfer_offer_s, s.care_heavy_streak) == (90.0, 5)
    for name, bad in (("JOURCHATT_TRANSFER_OFFER_S", "0"), ("JOURCHATT_CARE_HEAVY_STREAK", "1.5"),
                      ("JOURCHATT_CARE_HEAVY_STREAK", "många")):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env(environ={**base, name: bad}, dotenv=False)
