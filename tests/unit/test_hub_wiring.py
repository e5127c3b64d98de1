"""The hub wires every part once: each frame of the console vocabulary has its owner, each
notice kind the parts send has its handler, and the live chat imports no circle."""

from __future__ import annotations

import ast
from dataclasses import fields
from typing import Awaitable, Callable
from pathlib import Path

import pytest

from chat.kernel.broker import create_broker
from chat.frames import SUPERVISION_TYPES, SUPERVISOR_TYPES
from chat.hub import Hub
from chat.live.consoles import SupervisionFrames
from chat.kernel.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def make_hub(tmp_path: Path) -> Hub:
    settings = Settings.from_env(environ={"JOURCHATT_VAR_DIR": str(tmp_path)}, dotenv=False)
    return Hub(settings, create_broker("memory://"), None)  # type: ignore[arg-type]


def test_every_supervision_frame_has_exactly_one_owner(tmp_path: Path) -> None:
    hub = make_hub(tmp_path)
    owners = {f.name: getattr(hub.console_side.frames, f.name) for f in fields(SupervisionFrames)}
    assert sorted(owners) == sorted(SUPERVISION_TYPES)
    assert set(SUPERVISOR_TYPES) <= set(owners)
    assert len({id(o) for o in owners.values()}) == len(owners)


@pytest.mark.parametrize("kind", SUPERVISION_TYPES)
async def test_each_supervision_frame_reaches_its_own_handler(kind: str) -> None:
    seen: list[tuple[str, object]] = []

    def handler(name: str) -> Callable[[object, object], Awaitable[None]]:
        async def handle(con: object, frame: object) -> None:
            seen.append((name, frame))
        return handle

    frames = SupervisionFrames(**{f.name: handler(f.name) for f in fields(SupervisionFrames)})
    frame = {"type": kind}
    await frames.handle(None, frame)  # type: ignore[arg-type]
    assert seen == [(kind, frame)]


def test_every_notice_the_parts_send_has_a_handler(tmp_path: Path) -> None:
    table = make_hub(tmp_path).live.notices._table
    sent = {("visitor", k) for k in ("line", "assigned", "requeued", "ended", "frame")}
    sent |= {("volunteer", k) for k in ("line", "assigned", "ended", "frame")}
    sent |= {("observer", "line"), ("observer", "ended"), ("sup", "released"), ("trainee", "shadow")}
    sent |= {("offer", "offer"), ("offer", "offer_ended")}   # chat.offers: warm transfer
    assert set(table) == sent


def _modules() -> dict[str, Path]:
    out = {}
    for path in [*ROOT.glob("chat/*.py"), *ROOT.glob("chat/live/*.py")]:
        package = "chat.live" if path.parent.name == "live" else "chat"
        out[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return out


def _imports(path: Path, package: str, modules: dict[str, Path]) -> set[str]:
    """The modules that ``path`` (in ``package``) imports, anywhere in it (inside functions too):
    ``from . import state`` is chat.state, not the package chat."""
    found: set[str] = set()
    base = package.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[: len(base) - node.level + 1] + (node.module.split(".") if node.module else [])
                module = ".".join(parts)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in modules or not module.startswith("chat") else module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def test_the_live_chat_imports_neither_the_hub_nor_supervision_nor_the_referral_store() -> None:
    modules = _modules()
    for path in sorted((ROOT / "chat" / "live").glob("*.py")):
        imported = _imports(path, "chat.live", modules)
        assert not imported & {"chat.hub", "chat.supervision", "chat.overview", "chat.blocks", "chat.handover",
                               "chat.alerts", "chat.followup_frames", "chat.referral_port"}, path.name
        assert not {m for m in imported if m.startswith("referral.store")}, path.name


def test_no_module_of_the_chat_imports_one_that_imports_it_back() -> None:
    modules = _modules()
    graph = {name: {m for m in _imports(path, name if path.stem == "__init__" else name.rpartition(".")[0], modules)
                    if m in modules and m != name}
             for name, path in modules.items()}
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            current = todo.pop()
            if current == start:
                pytest.fail(f"{start} imports itself back through {sorted(seen)}")
            if current not in seen:
                seen.add(current)
                todo.extend(graph[current])


async def test_a_resync_that_meets_the_broker_gone_again_hands_the_error_to_the_broker(tmp_path: Path) -> None:
    """The reconnect callback's broker error goes back to the broker's subscription, which
    retries it after a back-off (tests/integration/test_redis_restart.py shows the retry)."""
    from chat.kernel.broker import BrokerError

    hub = make_hub(tmp_path)
    hub.reconcile.epoch = await hub.broker.epoch()

    async def gone() -> str | None:
        raise BrokerError("redis unreachable: ConnectionError")

    hub.broker.epoch = gone  # type: ignore[method-assign]
    with pytest.raises(BrokerError):
        await hub.reconcile.resync()
