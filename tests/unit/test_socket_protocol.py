"""chat.server.SocketProtocol reads a few frames ahead before it pauses reading.

uvicorn's protocol paused reading after every frame and resumed once the app had
taken it. The transport here stands in for the socket (it records pause and
resume): what is tested is when our subclass asks for them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from chat import server as server_module
from chat.server import READ_AHEAD, SocketProtocol


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.paused = 0
        self.resumed = 0
        self.out = b""

    def pause_reading(self) -> None:
        self.paused += 1

    def resume_reading(self) -> None:
        self.resumed += 1

    def write(self, data: Any) -> None:
        self.out += bytes(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)


async def app(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.Future()


async def test_reading_pauses_after_read_ahead_frames_and_resumes_when_half_are_taken() -> None:
    config = uvicorn.Config(app, ws=SocketProtocol)
    config.load()
    proto = SocketProtocol(config, ServerState(), {})
    proto.connection_made(Transport())
    transport: Transport = proto.transport  # type: ignore[assignment]
    proto.curr_msg_data_type = "text"
    for i in range(READ_AHEAD - 1):
        proto.frames = [f"frame {i}".encode()]
        proto.send_receive_event_to_app()
    assert transport.paused == 0                      # uvicorn alone would have paused 15 times
    proto.frames = [b"one more"]
    proto.send_receive_event_to_app()
    assert transport.paused == 1 and proto.read_paused
    taken = [await proto.receive() for _ in range(READ_AHEAD // 2)]
    assert [m["text"] for m in taken] == [f"frame {i}" for i in range(READ_AHEAD // 2)]
    assert transport.resumed == 1 and not proto.read_paused
    assert server_module.SOCKET                       # the scope key the app looks for


async def test_write_text_now_says_no_until_the_socket_is_open() -> None:
    config = uvicorn.Config(app, ws=SocketProtocol)
    config.load()
    proto = SocketProtocol(config, ServerState(), {})
    proto.connection_made(Transport())
    assert proto.write_text_now("hej") is False       # no handshake yet
