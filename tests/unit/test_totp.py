"""TOTP: RFC 6238 vectors, the ±1 step window, replay refusal, sealed storage, the QR code."""

from __future__ import annotations

import chat  # noqa: F401  (import order: chat before volunteer)
from volunteer import totp

# RFC 6238 appendix B, SHA1, with the 20-byte ASCII secret "12345678901234567890" (last 6 digits).
RFC_SECRET = b"12345678901234567890"
RFC_VECTORS = {59: "287082", 1111111109: "081804", 1111111111: "050471",
               1234567890: "005924", 2000000000: "279037"}
NOW = 1_800_000_015.0      # 15 s into a step


def test_rfc6238_vectors() -> None:
    for t, code in RFC_VECTORS.items():
        assert totp.code_at(RFC_SECRET, t) == code
        assert totp.check(RFC_SECRET, code, now=t) == totp.step_at(t)


def test_current_and_one_step_either_side_are_accepted() -> None:
    secret = totp.new_secret()
    step = totp.step_at(NOW)
    for delta in (-1, 0, 1):
        code = totp.code_for_step(secret, step + delta)
        assert totp.check(secret, code, now=NOW) == step + delta


def test_two_steps_away_is_refused() -> None:
    secret = totp.new_secret()
    step = totp.step_at(NOW)
    for delta in (-2, 2, -3, 3):
        code = totp.code_for_step(secret, step + delta)
        if code in {totp.code_for_step(secret, step + d) for d in (-1, 0, 1)}:
            continue  # a one-in-a-million collision with an accepted code
        assert totp.check(secret, code, now=NOW) is None


def test_a_used_code_and_earlier_steps_are_refused() -> None:
    secret = totp.new_secret()
    step = totp.step_at(NOW)
    code = totp.code_for_step(secret, step)
    assert totp.check(secret, code, now=NOW, last_step=None) == step
    assert totp.check(secret, code, now=NOW, last_step=step) is None
    earlier = totp.code_for_step(secret, step - 1)
    assert totp.check(secret, earlier, now=NOW, last_step=step) is None
    later = totp.code_for_step(secret, step + 1)
    assert totp.check(secret, later, now=NOW, last_step=step) == step + 1


def test_malformed_codes_are_refused() -> None:
    secret = totp.new_secret()
    good = totp.code_at(secret, NOW)
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６", None, 123456, good + "0"):
        assert totp.check(secret, bad, now=NOW) is None  # type: ignore[arg-type]
    assert totp.check(secret, f" {good[:3]} {good[3:]} ", now=NOW) == totp.step_at(NOW)


def test_provisioning_uri_and_qr() -> None:
    secret = totp.new_secret()
    uri = totp.otpauth_uri(secret, "anna")
    assert uri.startswith("otpauth://totp/jourchatt:anna?")
    assert f"secret={totp.base32(secret)}" in uri and "issuer=jourchatt" in uri
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg ") and "<script" not in svg and "style=" not in svg
    assert 'role="img"' in svg


def test_sealed_secret_opens_only_for_its_account_and_key() -> None:
    box = totp.SecretBox(b"s" * 40)
    secret = totp.new_secret()
    sealed = box.seal("acct1", secret)
    assert secret not in sealed.encode() and totp.base32(secret) not in sealed
    assert box.open("acct1", sealed) == secret
    assert box.open("acct2", sealed) is None
    assert totp.SecretBox(b"t" * 40).open("acct1", sealed) is None
    assert box.open("acct1", "not base64!") is None
    assert box.seal("acct1", secret) != sealed          # a fresh nonce each time
