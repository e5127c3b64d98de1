"""Static promises of the console's scripts: ES modules of one idea each whose imports resolve,
one translation table (i18n.js) with every text in both languages, and no copy of the vocabularies
(the page reads them from GET /api/vocabularies)."""

from __future__ import annotations

import re
from pathlib import Path

from referral import geography, labels

STATIC = Path(__file__).resolve().parents[2] / "chat" / "static"
CONSOLE = [STATIC / "console.js", *sorted((STATIC / "console").glob("*.js"))]   # the console's own
MODULES = [*CONSOLE, STATIC / "i18n.js"]
IMPORT = re.compile(r'^import\s+(?:\{([^}]*)\}\s+from\s+|\*\s+as\s+\w+\s+from\s+)?"([^"]+)";', re.M)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function|const|let)\s+([\w$]+)", re.M)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_staff_pages_load_their_script_as_a_module() -> None:
    for page, script in (("console", "console.js"), ("login", "login.js"), ("admin", "admin.js")):
        html = _text(STATIC / f"{page}.html")
        assert re.findall(r"<script[^>]*>", html) == [f'<script type="module" src="/static/{script}">'], page


def test_every_module_is_small_and_every_import_names_a_file_and_what_it_exports() -> None:
    assert len(MODULES) >= 10
    for module in [*MODULES, STATIC / "login.js", STATIC / "admin.js"]:
        src = _text(module)
        assert '"use strict"' not in src, f"{module.name}: a module is strict already"
        assert len(src.splitlines()) <= 300, f"{module.name} holds more than one idea"
        for names, spec in IMPORT.findall(src):
            assert spec.startswith("./") or spec.startswith("../"), (module.name, spec)
            target = (module.parent / spec).resolve()
            assert target.is_file(), f"{module.name} imports {spec}, which is not there"
            exported = set(EXPORT.findall(_text(target)))
            wanted = {n.strip() for n in names.split(",") if n.strip()}
            assert wanted <= exported, f"{module.name} imports {wanted - exported} that {spec} does not export"


def _texts() -> dict[str, set[str]]:
    src = _text(STATIC / "console" / "texts.js")
    m = re.search(r"^add\(\{(.*?)^\}, \{(.*?)^\}\);", src, re.S | re.M)
    assert m, "texts.js: add({sv…}, {en…})"
    return {lang: set(re.findall(r"(\w+): \"", body)) for lang, body in zip(("sv", "en"), m.groups())}


def test_one_translation_table_with_every_text_the_console_uses_in_both_languages() -> None:
    keys = _texts()
    assert keys["sv"] == keys["en"] and len(keys["sv"]) > 100
    used = set(re.findall(r'data-t="(\w+)"', _text(STATIC / "console.html")))
    for module in CONSOLE:
        src = _text(module)
        assert not re.search(r"\bfunction t\(|\bTEXTS\b", src), f"{module.name}: a translation table of its own"
        used |= set(re.findall(r'\bt\("(\w+)"', src)) | set(re.findall(r'\bta?: "(\w+)"', src))
    assert used <= keys["sv"], sorted(used - keys["sv"])


def test_no_copy_of_the_vocabularies_or_the_places_in_the_console() -> None:
    # How a chat ended reads differently to the one who ended it ("av dig", "by you"): the
    # console says that in its own texts.
    tables = [table for name, table in labels.LABELS.items() if name != "ended_by"]
    words = {sv for table in tables for sv, _ in table.values() if len(sv) > 6}
    words |= {en for table in tables for _, en in table.values() if len(en) > 6}
    words |= set(geography.MUNICIPALITIES.values()) | {n for d in geography.DISTRICTS.values() for n in d.values()}
    for module in CONSOLE:
        src = _text(module)
        found = sorted(w for w in words if re.search(rf'"{re.escape(w)}"', src))
        assert found == [], f"{module.name} keeps its own copy of {found}"
