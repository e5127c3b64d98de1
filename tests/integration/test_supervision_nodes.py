"""Supervision across real nodes sharing Redis and PostgreSQL: the supervisor, the
volunteer and the visitor each on a node of their own where it matters."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..conftest import jourchatt_command
from .test_many_nodes import PASSWORD, cluster, lines, recv

pytestmark = pytest.mark.slow


async def test_observe_whisper_join_and_takeover_across_nodes(tmp_path: Path) -> None:
    async with cluster(tmp_path) as c:
        done = subprocess.run([*jourchatt_command(), "volunteer", "add", "sara", "--display-name", "Sara",
                               "--role", "supervisor", "--trained", "--password-stdin"],
                              input=PASSWORD.encode(), cwd=tmp_path, env=c.env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        a, b = await c.node(), await c.node()
        vol = await a.volunteer("anna")
        vis = await b.visitor({"lang": "sv"})
        await recv(vis, "assigned")
        chat = (await recv(vol, "assigned"))["chat"]
        sup = await b.volunteer("sara")
        await sup.send(json.dumps({"type": "status", "state": "paused"}))
        await recv(sup, "status")

        await sup.send(json.dumps({"type": "supervise", "active": True}))
        overview = await recv(sup, "overview")
        assert [x["volunteer"] for x in overview["chats"] if x["chat"] == chat] == ["Anna"]

        await sup.send(json.dumps({"type": "observe", "chat": chat, "active": True}))
        await recv(sup, "observing")
        assert (await recv(vol, "observed"))["supervisors"] == ["Sara"]
        await vol.send(json.dumps({"type": "message", "chat": chat, "id": 1, "text": "hej från nod A"}))
        assert (await lines(sup, 1, "volunteer"))[0]["text"] == "hej från nod A"
        await sup.send(json.dumps({"type": "whisper", "chat": chat, "id": 1, "text": "WHISPER-NODES"}))
        assert (await lines(vol, 1, "whisper"))[0]["text"] == "WHISPER-NODES"

        await sup.send(json.dumps({"type": "join", "chat": chat}))
        seen = []
        while not seen or seen[-1].get("key") != "supervisor_joined":
            seen.append(await recv(vis, "message"))
        await sup.send(json.dumps({"type": "message", "chat": chat, "id": 2, "text": "Sara här"}))
        seen += await lines(vis, 1, "volunteer")
        assert [x["text"] for x in seen if x["from"] == "volunteer"] == ["hej från nod A", "Sara här"]
        assert seen[-1]["name"] == "Sara"
        assert "WHISPER-NODES" not in json.dumps(seen)

        await sup.send(json.dumps({"type": "takeover", "chat": chat}))
        assert (await recv(vol, "released"))["reason"] == "takeover"
        assert (await recv(sup, "assigned"))["chat"] == chat
        assert (await recv(vis, "assigned"))["volunteer"] == "Sara"
        for ws in (vol, vis, sup):
            await ws.close()
