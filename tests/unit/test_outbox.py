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


class Socket:
    """What ``Outbox.direct`` writes to: takes frames while ``open``."""

    def __init__(self) -> None:
        self.open = True
        self.written: list[str] = []

    def write_text_now(self, text: str) -> bool:
        if self.open:
            self.written.append(text)
        return self.open


async def test_a_frame_is_written_at_once_when_nothing_waits_before_it() -> None:
    box, sock = Outbox("c3"), Socket()
    box.direct = sock
    box.send({"type": "ack", "id": 1, "seq": 1, "text": "hej å"})
    assert sock.written == ['{"type":"ack","id":1,"seq":1,"text":"hej å"}'] and box.pending() == 0


async def test_once_a_frame_waits_every_later_one_waits_behind_it() -> None:
    box, sock = Outbox("c4"), Socket()
    box.direct = sock
    sock.open = False                       # the transport is full
    box.send({"seq": 1})
    sock.open = True                        # room again, but seq 1 is still queued
    box.send({"seq": 2})
    assert sock.written == [] and [await box.next(), await box.next()] == [{"seq": 1}, {"seq": 2}]
    box.sending = True                      # the send loop is writing a frame it took out
    box.send({"seq": 3})
    assert sock.written == [] and await box.next() == {"seq": 3}
    box.sending = False
    box.send({"seq": 4})
    assert sock.written == ['{"seq":4}']


async def test_nothing_is_written_after_the_close() -> None:
    box, sock = Outbox("c5"), Socket()
    box.direct = sock
    box.close(1000)
    box.send({"seq": 1})
    assert sock.written == [] and await box.next() is None
