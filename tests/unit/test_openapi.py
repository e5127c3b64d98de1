"""The OpenAPI description (chat/openapi.json) matches the app: its routes both ways, and
body-deep, each JSON request body against the type its handler reads it as, and the error
body against the registry of codes (chat.kernel.error_codes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

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


# -- body-deep: the request bodies against the types the handlers read them as --------------

def _handler_bodies() -> dict[str, type]:
    """operationId -> the TypedDict its handler reads the JSON body as (each module's REQUEST_BODIES)."""
    from chat import console
    from referral import api as referral_api, survey_api
    from volunteer import admin, api as volunteer_api, hours_api, shifts_api, trainees

    bodies: dict[str, type] = {}
    for module in (volunteer_api, admin, referral_api, console, hours_api, shifts_api, survey_api, trainees):
        assert not set(bodies) & set(module.REQUEST_BODIES)
        bodies |= module.REQUEST_BODIES
    return bodies


Shape = frozenset[tuple[Any, ...]]


def _shape(schema: dict[str, Any], defs: dict[str, Any]) -> Shape:
    """A schema reduced to what a body's type decides: for each alternative its JSON type,
    an object's properties (each reduced) and required names, an array's items, an enum's
    values. Formats, lengths, patterns and descriptions are left out: a TypedDict has none."""
    if "$ref" in schema:
        return _shape(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return frozenset({("enum", frozenset(schema["enum"]))})
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return frozenset().union(*(_shape(s, defs) for s in schema[key]))
    kinds = schema.get("type")
    if kinds is None:
        return frozenset({("any",)})
    out: set[tuple[Any, ...]] = set()
    for kind in ([kinds] if isinstance(kinds, str) else kinds):
        if kind == "object":
            props = tuple(sorted((name, _shape(s, defs)) for name, s in schema.get("properties", {}).items()))
            out.add(("object", props, frozenset(schema.get("required", ()))))
        elif kind == "array":
            out.add(("array", _shape(schema.get("items", {}), defs)))
        else:
            out.add((kind,))
    return frozenset(out)


def _request_schemas() -> dict[str, dict[str, Any]]:
    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return {op["operationId"]: op["requestBody"]["content"]["application/json"]["schema"]
            for item in doc["paths"].values() for m, op in item.items()
            if m in METHODS and "application/json" in op.get("requestBody", {}).get("content", {})}


# A body the handler passes on as a whole to a parser with its own document (referral/directory.py).
OPAQUE_BODIES = {"putService", "putDirectory"}


def test_every_json_request_body_is_described_as_its_handler_reads_it() -> None:
    import msgspec

    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    described, bodies = _request_schemas(), _handler_bodies()
    assert set(described) - OPAQUE_BODIES == set(bodies), "every JSON body needs its handler's type, and back"
    for op, body_type in bodies.items():
        ours = msgspec.json.schema(body_type)
        assert _shape(described[op], doc["components"]["schemas"]) == _shape(ours, ours["$defs"]), op


def test_the_shape_comparison_sees_a_field_a_type_and_a_requirement() -> None:
    base = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"enum": ["x"]}}}
    same = {"type": "object", "required": ["a"], "properties": {"b": {"enum": ["x"]}, "a": {"type": "string",
                                                                                          "maxLength": 3}}}
    assert _shape(base, {}) == _shape(same, {})
    for changed in ({**base, "required": []},
                    {**base, "properties": {**base["properties"], "c": {"type": "integer"}}},
                    {**base, "properties": {**base["properties"], "a": {"type": ["string", "null"]}}},
                    {**base, "properties": {**base["properties"], "b": {"enum": ["x", "y"]}}}):
        assert _shape(changed, {}) != _shape(base, {})


def test_the_body_types_use_the_vocabularies_the_handlers_check() -> None:
    from typing import get_args, get_type_hints

    from chat.console import SnippetItem
    from referral import vocab
    from volunteer.admin import NewAccountBody, RoleBody
    from volunteer.models import ROLES

    assert set(get_args(get_type_hints(RoleBody)["role"])) == set(ROLES)
    assert set(get_args(get_type_hints(NewAccountBody)["role"])) == set(ROLES)
    languages = get_args(get_args(get_type_hints(NewAccountBody)["languages"])[1])[0]
    assert set(get_args(languages)) == set(vocab.LANGUAGES)
    assert set(get_args(get_type_hints(SnippetItem)["lang"])) == set(vocab.LANGUAGES)


def test_the_error_body_lists_exactly_the_registered_http_codes() -> None:
    from chat.kernel.error_codes import http_codes

    doc = json.loads(OPENAPI.read_text(encoding="utf-8"))
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["enum"] == sorted(c.name for c in http_codes())
