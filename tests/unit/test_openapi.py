"""The OpenAPI description (chat/openapi.json) matches the app's routes, both ways."""

from __future__ import annotations

import json
import re
from pathlib import Path

import schemathesis
from schemathesis.core.result import Ok
from starlette.routing import Mount, Route, WebSocketRoute

from chat.app import OPENAPI, create_app

from ..conftest import make_settings

METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")


def _described() -> tuple[set[tuple[str, str]], set[str]]:
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    # A path item may describe one value of a route's path parameter on its own
    # (x-route names the route): the admin's acts each take a different body.
    ops = {(item.get("x-route", path), method.upper())
           for path, item in doc["paths"].items() for method in item if method in METHODS}
    return ops, set(doc["x-websockets"])


def _served(tmp_path: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """Every (path, method) the app answers, in OpenAPI's path syntax; and its WebSocket paths."""
    app = create_app(make_settings(tmp_path))
    ops: set[tuple[str, str]] = set()
    sockets: set[str] = set()
    for route in app.routes:
        if isinstance(route, Route):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            # Starlette adds HEAD to every GET route; the description says so once, for all.
            ops |= {(path, m) for m in (route.methods or ()) if m != "HEAD"}
        elif isinstance(route, Mount):
            ops.add((route.path + "/{path}", "GET"))
        elif isinstance(route, WebSocketRoute):
            sockets.add(route.path)
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}; describe it in chat/openapi.json")
    return ops, sockets


def test_every_route_is_described_and_every_description_is_a_route(tmp_path: Path) -> None:
    served, served_sockets = _served(tmp_path)
    described, described_sockets = _described()
    assert served - described == set(), "routes without a description in chat/openapi.json"
    assert described - served == set(), "chat/openapi.json describes routes the app does not have"
    assert served_sockets == described_sockets, "x-websockets must list exactly the app's WebSocket routes"


def test_the_description_loads_and_every_operation_is_valid() -> None:
    schema = schemathesis.openapi.from_path(OPENAPI)
    results = list(schema.get_all_operations())
    bad = [r for r in results if not isinstance(r, Ok)]
    assert not bad, bad
    doc_ops = [m for item in json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"].values() for m in item
               if m in METHODS]
    assert len(results) == len(doc_ops)
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1")
    ids = [o["operationId"] for item in doc["paths"].values() for m, o in item.items() if m in METHODS]
    assert len(ids) == len(set(ids)), "operationIds must be unique"
