"""The access-control table names every route, socket and frame there is, and the docs show it."""

from __future__ import annotations

from pathlib import Path

from chat.app import create_app
from chat import frames

from .. import access_table as T
from ..conftest import make_settings


def test_every_route_of_the_app_has_a_row_and_every_row_a_route(tmp_path: Path) -> None:
    http, sockets = T.app_routes(create_app(make_settings(tmp_path)))
    assert len(http) > 40 and "GET /static/{path}" in http and "PUT /api/snippets" in http
    missing = sorted(http - T.table_routes())
    assert missing == [], f"routes without an access decision in tests/access_table.py: {missing}"
    stale = sorted(T.table_routes() - http)
    assert stale == [], f"rows of tests/access_table.py for routes the app does not serve: {stale}"
    assert sockets == set(T.SOCKETS)


def test_every_row_names_known_roles_and_says_why() -> None:
    for key, (spec, why) in T.HTTP.items():
        assert T.roles_of(spec), key
        assert why.strip(), key
    for path, (spec, why) in T.SOCKETS.items():
        refused = set(T.ROLES) - T.roles_of(spec)
        if path == "/ws/volunteer":
            assert refused == set(T.VOLUNTEER_SOCKET_REFUSAL)


def test_every_frame_type_has_a_row_that_agrees_with_the_parsers() -> None:
    assert set(T.FRAMES) == set(frames.VISITOR_TYPES) | set(frames.VOLUNTEER_TYPES)
    for kind in T.FRAMES:
        visitor, volunteer, supervisor = T.FRAMES[kind]
        assert {visitor, volunteer, supervisor} <= set(T.OUTCOMES), kind
        assert (visitor == "unknown_type") == (kind not in frames.VISITOR_TYPES), kind
        for outcome in (volunteer, supervisor):
            assert (outcome == "unknown_type") == (kind not in frames.VOLUNTEER_TYPES), kind
        assert (volunteer == "supervisor_only") == (kind in frames.SUPERVISOR_TYPES), kind
        assert supervisor != "supervisor_only", kind


def test_the_docs_show_the_table_as_it_is() -> None:
    text = T.DOC.read_text()
    assert T.doc_section(text) == T.render(), "run: python -m tests.access_table"
    for doc in ("README.md", "docs/threat-model.md"):
        assert "access-control.md" in (T.DOC.parents[1] / doc).read_text(), doc
