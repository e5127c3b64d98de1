"""Referral codes: unique, typeable, and every single typo is caught by the check symbol."""

from __future__ import annotations

import itertools
import math

import pytest

from referral import codes

EXTRA = "IUOL-*a"        # outside the alphabet or folded onto it (O->0, I/L->1)


def test_codes_carry_at_least_40_bits_from_an_alphabet_without_look_alikes() -> None:
    assert len(codes.ALPHABET) == 32 and len(set(codes.ALPHABET)) == 32
    assert not set("ILOU") & set(codes.ALPHABET)
    assert codes.DATA_SYMBOLS * math.log2(len(codes.ALPHABET)) >= 40


def test_100k_codes_are_all_different_and_well_formed() -> None:
    drawn = [codes.generate() for _ in range(100_000)]
    assert len(set(drawn)) == len(drawn)
    assert all(len(c) == codes.CODE_LENGTH and set(c) <= set(codes.ALPHABET) for c in drawn)
    # every symbol shows up in every random position (a broken draw would not)
    for pos in range(codes.DATA_SYMBOLS):
        assert {c[pos] for c in drawn[:5000]} == set(codes.ALPHABET)


def test_a_code_is_accepted_in_any_case_with_or_without_separators() -> None:
    code = codes.generate()
    shown = codes.display(code)
    assert shown == f"{code[:5]}-{code[5:]}"
    for typed in (code, shown, shown.lower(), f" {code[:3]} {code[3:7]}-{code[7:]} "):
        assert codes.normalise(typed) == code


def test_o_i_and_l_are_read_as_the_digits_they_look_like() -> None:
    for _ in range(200):
        code = codes.generate()
        if "0" in code or "1" in code:
            typed = code.replace("0", "O").replace("1", "l")
            assert codes.normalise(typed) == code
            return
    raise AssertionError("no sample code held a 0 or a 1")


def test_every_single_substitution_and_every_swap_is_caught() -> None:
    for _ in range(150):
        code = codes.generate()
        for i in range(len(code)):
            for other in codes.ALPHABET + EXTRA:
                if other == code[i] or codes._VALUE.get(other.upper()) == codes._VALUE[code[i]]:
                    continue
                with pytest.raises(codes.MalformedCode):
                    codes.normalise(code[:i] + other + code[i + 1:])
        for i, j in itertools.combinations(range(len(code)), 2):
            if code[i] != code[j]:
                swapped = list(code)
                swapped[i], swapped[j] = swapped[j], swapped[i]
                with pytest.raises(codes.MalformedCode):
                    codes.normalise("".join(swapped))


@pytest.mark.parametrize("typed", ["", "K7QM3", "K7QM3-XRT9C-X", "ÅÄÖ12-34567", None, "x" * 100])
def test_malformed_input_is_refused_with_a_reason(typed: object) -> None:
    with pytest.raises(codes.MalformedCode, match="ten letters"):
        codes.normalise(typed)  # type: ignore[arg-type]


def test_a_mistyped_code_is_told_apart_from_a_malformed_one() -> None:
    code = codes.generate()
    wrong = code[:-1] + next(c for c in codes.ALPHABET if c != code[-1])
    with pytest.raises(codes.MalformedCode, match="mistyped"):
        codes.normalise(wrong)


def test_the_stored_hash_is_keyed_by_the_server_secret() -> None:
    code = codes.generate()
    a, b = codes.code_key(b"a" * 40), codes.code_key(b"b" * 40)
    assert codes.code_hash(a, code) != codes.code_hash(b, code)
    assert len(codes.code_hash(a, code)) == 64 and code not in codes.code_hash(a, code)
