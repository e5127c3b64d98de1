"""The docs list every setting and every error code a client can receive (chat.kernel.error_codes)."""

from __future__ import annotations

import re
from pathlib import Path

from chat.kernel import error_codes
from chat.kernel.error_codes import REGISTRY
from chat.kernel.settings import SETTINGS_HELP

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in SETTINGS_HELP if f"`{name}`" not in doc]
    assert missing == []


def _docs() -> str:
    # Every page under docs/: the protocol may be split into several files.
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").rglob("*.md")))


def _error_table_rows(doc: str) -> dict[str, str]:
    """The rows of the socket error-code table (the section headed "Error codes"): code -> row."""
    section = re.search(r"^#+ Error codes\n(.*?)(?=^#+ )", doc, re.M | re.S)
    assert section, "the docs have no section headed \"Error codes\""
    rows = re.findall(r"^\| `([a-z_]+)` \| (?:both|visitor|volunteer) \|.*$", section.group(1), re.M)
    assert len(rows) == len(set(rows)), "a code has two rows in the error table"
    return {m.group(1): m.group(0) for m in
            re.finditer(r"^\| `([a-z_]+)` \| (?:both|visitor|volunteer) \|.*$", section.group(1), re.M)}


def test_every_registered_error_code_is_documented() -> None:
    doc = _docs()
    missing = sorted(name for name in REGISTRY if f"`{name}`" not in doc)
    assert missing == []


def test_the_socket_error_table_matches_the_registry() -> None:
    rows = _error_table_rows(_docs())
    frame_codes = {c.name: c for c in error_codes.frame_codes()}
    assert sorted(set(frame_codes) - set(rows)) == [], "registered frame codes without a row"
    assert sorted(set(rows) - set(frame_codes)) == [], "rows for codes that are not registered frame codes"
    for name, code in frame_codes.items():
        side = "both" if code.where >= error_codes.SOCKETS else next(iter(code.where & error_codes.SOCKETS))
        assert row_side(rows[name]) == side, name
        if code.close is not None:
            assert f"**{code.close}**" in rows[name], f"{name}: the row must name close {code.close}"


def row_side(row: str) -> str:
    return row.split("|")[2].strip()
