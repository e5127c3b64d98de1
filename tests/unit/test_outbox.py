"""The per-socket outbox is bounded: a socket that falls too far behind is closed (4408)."""

from __future__ import annotations

from chat.outbox import OUTBOX_FRAMES, Outbox


async def test_live_frames_beyond_the_bound_close_the_socket_with_4408_and_drop_the_backlog() -> None:
    box = Outbox("c1")
    for i in range(OUTBOX_FRAMES):
        box.send({"type": "message", "seq": i})
    assert box.close_code is None and box.pending() == OUTBOX_FRAMES
    box.send({"type": "message", "seq": OUTBOX_FRAMES})
    assert box.close_code == 4408
    assert await box.next() is None          # closed at once: the client resumes with last_seq
    box.send({"type": "message", "seq": 0})
    assert box.pending() == 0                # nothing is queued after the close


async def test_a_replay_may_go_beyond_the_bound_and_the_allowance_shrinks_as_it_drains() -> None:
    box = Outbox("c2", limit=3)
    for i in range(10):
        box.send({"seq": i}, replay=True)
    box.send({"seq": 10})
    assert box.close_code is None and box.pending() == 11
    for _ in range(11):
        assert await box.next() is not None
    for i in range(3):
        box.send({"seq": i})
    box.send({"seq": 99})
    assert box.close_code == 4408
