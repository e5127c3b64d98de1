"""volunteer/passwords.py: Argon2id hashes with OWASP parameters, and the password policy."""

from __future__ import annotations

import pytest

from volunteer.passwords import (
    MAX_LENGTH, MIN_LENGTH, check_policy, hash_password, hash_password_async, verify_dummy,
    verify_password, verify_password_async,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def encoded() -> str:
    return hash_password(PASSWORD)


def test_hash_is_a_phc_string_with_owasp_argon2id_parameters(encoded: str) -> None:
    assert encoded.startswith("$argon2id$v=19$")
    assert "$m=19456,t=2,p=1$" in encoded
    assert PASSWORD not in encoded


def test_two_hashes_of_the_same_password_differ_by_salt(encoded: str) -> None:
    again = hash_password(PASSWORD)
    assert again != encoded
    assert again.split("$")[4] != encoded.split("$")[4]   # the salt field
    assert verify_password(PASSWORD, again)


def test_right_password_verifies(encoded: str) -> None:
    assert verify_password(PASSWORD, encoded) is True


@pytest.mark.parametrize("attempt", ["correct horse battery stapl", "Correct horse battery staple", "", PASSWORD + " "])
def test_wrong_password_does_not_verify(encoded: str, attempt: str) -> None:
    assert verify_password(attempt, encoded) is False


def test_non_ascii_password_roundtrips() -> None:
    encoded = hash_password("lösenord på svenska ✓")
    assert verify_password("lösenord på svenska ✓", encoded)
    assert not verify_password("losenord pa svenska ✓", encoded)


@pytest.mark.parametrize("malformed", [
    "", "not-a-hash", "$argon2id$", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$!!!!",
    "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
    "$2b$12$abcdefghijklmnopqrstuuvwxyzabcdefghijklmnopqrstuvwxyz12",
])
def test_malformed_hash_returns_false(malformed: str) -> None:
    assert verify_password(PASSWORD, malformed) is False


def test_truncated_hash_returns_false(encoded: str) -> None:
    assert verify_password(PASSWORD, encoded[:-6]) is False


def test_dummy_verification_is_always_false() -> None:
    assert verify_dummy(PASSWORD) is False


async def test_async_variants_hash_and_verify(encoded: str) -> None:
    assert await verify_password_async(PASSWORD, encoded) is True
    assert await verify_password_async("wrong password", encoded) is False
    assert await verify_password_async(PASSWORD, None) is False     # unknown user
    assert verify_password(PASSWORD, await hash_password_async(PASSWORD))


def test_policy_accepts_lengths_from_min_to_max() -> None:
    check_policy("a" * MIN_LENGTH)
    check_policy("a" * MAX_LENGTH)


@pytest.mark.parametrize("length", [0, MIN_LENGTH - 1, MAX_LENGTH + 1])
def test_policy_refuses_too_short_or_too_long(length: int) -> None:
    with pytest.raises(ValueError):
        check_policy("a" * length)


def test_policy_bounds_are_nist_minimum_and_a_work_cap() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (8, 1024)
