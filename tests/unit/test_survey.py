"""The survey's pure parts: the answer's validation, the response rate and the outcomes panel."""

from __future__ import annotations

from typing import Any

import pytest

from referral.stats import survey as stats
from referral.survey import QUESTIONS, SurveyError, new_token, token_hash, token_key, validate


def test_a_valid_answer_keeps_only_given_choices() -> None:
    token = new_token()
    assert validate({"token": token, "answers": {"helped": "partly", "would_return": None}}) == (
        token, {"helped": "partly"})
    assert validate({"token": token}) == (token, {})
    assert validate({"token": token, "answers": None}) == (token, {})


@pytest.mark.parametrize("body, field", [
    ({}, "token"),
    ({"token": "short"}, "token"),
    ({"token": "x" * 30 + "!"}, "token"),
    ({"token": "x" * 32, "answers": "yes"}, "answers"),
    ({"token": "x" * 32, "answers": {"helped": "unsure"}}, "answers.helped"),
    ({"token": "x" * 32, "answers": {"knows_where_to_turn": "partly"}}, "answers.knows_where_to_turn"),
    ({"token": "x" * 32, "answers": {"would_return": True}}, "answers.would_return"),
    ({"token": "x" * 32, "answers": {"age": "15"}}, "answers.age"),
    ({"token": "x" * 32, "text": "hej"}, "text"),
])
def test_a_bad_answer_names_its_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(SurveyError) as caught:
        validate(body)
    assert caught.value.field == field


def test_the_vocabulary_is_the_contracts() -> None:
    assert QUESTIONS == {"helped": ("yes", "partly", "no"), "knows_where_to_turn": ("yes", "no", "unsure"),
                         "would_return": ("yes", "no", "unsure")}


def test_tokens_are_unguessable_and_kept_only_as_a_keyed_hash() -> None:
    tokens = {new_token() for _ in range(1000)}
    assert len(tokens) == 1000 and all(len(t) == 32 for t in tokens)
    key = token_key(b"s" * 32)
    t = new_token()
    assert token_hash(key, t) != token_hash(token_key(b"t" * 32), t) and t not in token_hash(key, t)


def test_the_rate_and_the_outcomes_never_compute_from_a_withheld_cell() -> None:
    hidden = {"suppressed": True}
    block: dict[str, Any] = {"counted": 40, "survey": {"offered": 20, "responses": 10,
                                                      "helped": {"yes": 6, "partly": 4, "no": hidden}},
                             "referrals_total": {"suggested": 12, "redeemed": hidden}}
    stats.rate(block)
    assert block["survey"]["response_rate"] == 0.5
    rows = {label.split(" / ")[1]: now for label, now, _ in stats.outcomes(block)}
    assert rows["Response rate"] == 0.5 and rows["The chat helped (yes, partly)"] == 10
    assert rows["Referrals redeemed: reached support"] == hidden and rows["Share redeemed"] == hidden
    block["survey"]["responses"] = hidden
    stats.rate(block)
    assert block["survey"]["response_rate"] == hidden
    empty = {"survey": {"offered": 0, "responses": 0}}
    stats.rate(empty)
    assert empty["survey"]["response_rate"] is None
