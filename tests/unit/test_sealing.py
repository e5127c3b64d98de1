"""chat/sealing.py: per-chat AES-GCM sealing of replay lines, bound to chat and seq."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from chat.sealing import NONCE_BATCH, NONCE_BYTES, Sealer

SECRET = b"k" * 48
LINE = '{"text": "jag vill prata med n\u00e5gon"}'.encode()


def test_sealed_line_opens_to_the_same_plaintext() -> None:
    sealer = Sealer(SECRET, "chat-one")
    assert sealer.open(1, sealer.seal(1, LINE)) == LINE


def test_another_sealer_with_the_same_secret_and_chat_can_open_it() -> None:
    sealed = Sealer(SECRET, "chat-one").seal(7, LINE)
    assert Sealer(SECRET, "chat-one").open(7, sealed) == LINE


def test_empty_line_roundtrips() -> None:
    sealer = Sealer(SECRET, "chat-one")
    assert sealer.open(1, sealer.seal(1, b"")) == b""


def test_ciphertext_does_not_contain_the_plaintext() -> None:
    sealed = Sealer(SECRET, "chat-one").seal(1, LINE)
    assert LINE not in sealed
    assert b"prata" not in sealed
    assert len(sealed) == NONCE_BYTES + len(LINE) + 16    # nonce + body + GCM tag


def test_sealing_the_same_line_twice_gives_different_ciphertexts() -> None:
    sealer = Sealer(SECRET, "chat-one")
    one, two = sealer.seal(1, LINE), sealer.seal(1, LINE)
    assert one != two
    assert one[:NONCE_BYTES] != two[:NONCE_BYTES]


def test_line_cannot_be_opened_under_another_chat_id() -> None:
    sealed = Sealer(SECRET, "chat-one").seal(1, LINE)
    with pytest.raises(InvalidTag):
        Sealer(SECRET, "chat-two").open(1, sealed)


@pytest.mark.parametrize("other_seq", [0, 2, 10, 11])
def test_line_cannot_be_opened_at_another_seq(other_seq: int) -> None:
    sealer = Sealer(SECRET, "chat-one")
    sealed = sealer.seal(1, LINE)
    with pytest.raises(InvalidTag):
        sealer.open(other_seq, sealed)


def test_line_cannot_be_opened_with_another_secret() -> None:
    sealed = Sealer(SECRET, "chat-one").seal(1, LINE)
    with pytest.raises(InvalidTag):
        Sealer(b"j" * 48, "chat-one").open(1, sealed)


@pytest.mark.parametrize("position", [0, NONCE_BYTES, -1])
def test_tampered_ciphertext_is_refused(position: int) -> None:
    sealer = Sealer(SECRET, "chat-one")
    sealed = bytearray(sealer.seal(1, LINE))
    sealed[position] ^= 0x01
    with pytest.raises(InvalidTag):
        sealer.open(1, bytes(sealed))


def test_truncated_ciphertext_is_refused() -> None:
    sealer = Sealer(SECRET, "chat-one")
    sealed = sealer.seal(1, LINE)
    with pytest.raises(InvalidTag):
        sealer.open(1, sealed[:-1])


def test_nonces_never_repeat_across_batches() -> None:
    sealer = Sealer(SECRET, "chat-one")
    nonces = {sealer.seal(1, LINE)[:NONCE_BYTES] for _ in range(3 * NONCE_BATCH + 5)}
    assert len(nonces) == 3 * NONCE_BATCH + 5


def test_a_forked_child_draws_its_own_nonces() -> None:
    import os
    import warnings

    sealer = Sealer(SECRET, "chat-one")
    sealer.seal(1, LINE)                        # the parent holds a pool now
    read, write = os.pipe()
    with warnings.catch_warnings():             # Python 3.12+ warns of fork() beside threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:                                # the child: send its next nonce, leave at once
        os.write(write, sealer.seal(1, LINE)[:NONCE_BYTES])
        os._exit(0)
    os.close(write)
    child = os.read(read, NONCE_BYTES)
    os.close(read)
    os.waitpid(pid, 0)
    assert child != sealer.seal(1, LINE)[:NONCE_BYTES]
