"""Static promises of the widget's files: small, no storage but sessionStorage, no third parties."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "chat" / "static"
JS = (STATIC / "widget.js").read_text(encoding="utf-8")
CSS = (STATIC / "widget.css").read_text(encoding="utf-8")


def test_javascript_and_css_stay_under_30_kb_uncompressed() -> None:
    size = len(JS.encode()) + len(CSS.encode())
    # 30 KB until the post-chat survey (issue 20) added its three questions and texts.
    assert size < 33_000, f"widget.js + widget.css are {size} bytes"


def test_nothing_is_kept_but_in_session_storage() -> None:
    for forbidden in ("localStorage", "document.cookie", "indexedDB", "caches.", "serviceWorker"):
        assert forbidden not in JS


def test_no_html_from_strings_and_a_neutral_title() -> None:
    assert "innerHTML" not in JS and "insertAdjacentHTML" not in JS and "document.write" not in JS
    assert "document.title" not in JS


def test_the_only_outside_address_is_the_default_quick_exit_target() -> None:
    assert set(re.findall(r"https?://[^\s\"')]+", JS)) == {"https://www.smhi.se/"}
    assert not re.search(r"https?://", CSS) and "@import" not in CSS


def test_every_language_has_every_text() -> None:
    blocks = re.findall(r"^    (\w+): \{(.*?)^    \}", JS, re.S | re.M)
    keys = {lang: set(re.findall(r"(\w+): \"", body)) for lang, body in blocks}
    assert set(keys) == {"sv", "en"}
    assert keys["sv"] == keys["en"] and len(keys["sv"]) > 50
    used = set(re.findall(r"\bT\.(\w+)", JS)) | set(re.findall(r"\bt: \"(\w+)\"", JS))
    assert used <= keys["sv"], used - keys["sv"]
