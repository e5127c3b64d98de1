"""Seven languages: every text in every language, and the translation status told the same everywhere.

A new key added in sv and en only fails here with one line per language that lacks
it (``widget.js: ar lacks 'surveyTitle'``), so whoever fills the languages in sees the
whole list at once.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from chat import texts
from chat.kernel import languages
from referral import directory, labels, vocab

ROOT = Path(__file__).resolve().parents[2]
JS = (ROOT / "chat" / "static" / "widget.js").read_text(encoding="utf-8")
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
_VALUE = r'"(?:[^"\\]|\\.)*"|true|false'


def widget_texts() -> dict[str, dict[str, str]]:
    body = re.search(r"var TEXTS = \{\n(.*?)\n  \};", JS, re.S)
    assert body, "widget.js: no `var TEXTS = {...};` table"
    blocks = re.findall(r"^    (\w+): \{\n(.*?)\n    \}", body.group(1), re.S | re.M)
    return {lang: {k: v.strip('"') for k, v in re.findall(rf"(\w+): ({_VALUE})", block)} for lang, block in blocks}


WIDGET = widget_texts()


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_the_widget_has_exactly_the_seven_languages_in_their_order() -> None:
    assert tuple(WIDGET) == languages.CODES == vocab.LANGUAGES
    assert len(WIDGET["sv"]) > 60


def test_every_widget_language_has_every_key_and_no_other() -> None:
    wanted = set(WIDGET["sv"]) | set(WIDGET["en"])
    missing = [f"widget.js: {lang} lacks {key!r}" for lang in languages.CODES
               for key in sorted(wanted - set(WIDGET[lang]))]
    extra = [f"widget.js: {lang} has {key!r}, which sv does not" for lang in languages.CODES
             for key in sorted(set(WIDGET[lang]) - set(WIDGET["sv"]))]
    assert not missing + extra, "\n".join(missing + extra)


def test_every_widget_translation_keeps_the_placeholders_and_is_not_empty() -> None:
    wrong = [f"widget.js: {lang}.{key} has {sorted(placeholders(text))}, sv has {sorted(placeholders(WIDGET['sv'][key]))}"
             for lang in languages.CODES for key, text in WIDGET[lang].items()
             if key in WIDGET["sv"] and placeholders(text) != placeholders(WIDGET["sv"][key])]
    empty = [f"widget.js: {lang}.{key} is empty" for lang in languages.CODES
             for key, text in WIDGET[lang].items() if not text.strip()]
    assert not wrong + empty, "\n".join(wrong + empty)


def test_every_key_the_widget_uses_is_in_the_table() -> None:
    used = (set(re.findall(r"\bT\.(\w+)", JS)) | set(re.findall(r"\bta?: \"(\w+)\"", JS))
            | {"by_" + by for by in vocab.ENDED_BY})
    assert used <= set(WIDGET["sv"]), sorted(used - set(WIDGET["sv"]))


def test_the_widget_states_each_language_as_the_server_does() -> None:
    for lang in languages.ALL:
        w = WIDGET[lang.code]
        assert w["_name"] == lang.name, lang.code
        assert w["_rtl"] == ("true" if lang.rtl else "false"), lang.code
        assert w["_reviewed"] == ("true" if lang.reviewed else "false"), lang.code
    assert {lang.code for lang in languages.ALL if lang.rtl} == {"ar", "fa"}


def test_the_docs_table_tells_each_languages_status_plainly() -> None:
    section = CONFIG_DOC.split("## Languages", 1)[1]
    for lang in languages.ALL:
        row = re.search(rf"^\| `{lang.code}` \| (.*?) \| (.*?) \| (.*?) \|$", section, re.M)
        assert row, f"docs/configuration.md: no row for {lang.code}"
        assert lang.name in row.group(1) and row.group(2) == lang.written_by
        assert row.group(3) == ("yes" if lang.reviewed else "**not yet**"), lang.code
    assert "not been checked by a native speaker" in languages.__doc__ or ""
    assert "machine" in section and "JOURCHATT_LANGUAGES=sv,en" in section


def test_every_server_text_a_young_person_reads_is_in_every_language() -> None:
    missing = []
    for key, entry in texts.TEXTS.items():
        wanted = languages.STAFF_CODES if key in texts.STAFF_ONLY else languages.CODES
        missing += [f"chat/texts.py: {lang} lacks {key!r}" for lang in wanted if not entry.get(lang, "").strip()]
        missing += [f"chat/texts.py: {lang}.{key} changes the placeholders" for lang, text in entry.items()
                    if placeholders(text) != placeholders(entry["sv"])]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("lang", languages.CODES)
def test_the_closed_sentence_names_the_next_opening_in_each_language(lang: str) -> None:
    monday = datetime(2026, 12, 7, 18, 5)
    sentence = texts.out_of_hours(lang, monday)
    assert "7" in sentence and "18" in sentence and "05" in sentence and "112" in sentence
    assert texts.WEEKDAY_NAMES[lang][0] in sentence and "{" not in sentence
    assert texts.out_of_hours(lang, None) == texts.text("out_of_hours_no_date", lang)


def test_a_language_label_for_every_code_in_the_vocabularies() -> None:
    entries = labels.document()["vocabularies"]["language"]  # type: ignore[index]
    assert [e["value"] for e in entries] == list(languages.CODES)
    assert {e["value"]: e["sv"] for e in entries}["ti"] == "tigrinja"


def test_parse_list_keeps_the_order_needs_sv_and_names_a_bad_code() -> None:
    assert languages.parse_list("en, ar,sv", "X") == ("sv", "en", "ar")
    with pytest.raises(ValueError, match="'de' is not one of"):
        languages.parse_list("sv,de", "X")
    with pytest.raises(ValueError, match="must include sv"):
        languages.parse_list("en,ar", "X")


def test_directory_texts_in_any_language_fall_back_to_swedish_then_english() -> None:
    svc = directory.Service.__new__(directory.Service)
    assert svc.text({"sv": "hej", "en": "hi", "ti": "ሰላም"}, "ti") == "ሰላም"
    assert svc.text({"sv": "hej", "en": "hi"}, "so") == "hej"
    assert svc.text({"en": "hi"}, "uk") == "hi"


def test_the_languages_setting_defaults_to_all_and_refuses_a_bad_list(tmp_path: Path) -> None:
    from chat.kernel.exceptions import ConfigurationError
    from chat.kernel.settings import Settings

    base = {"JOURCHATT_VAR_DIR": str(tmp_path / "var")}
    assert Settings.from_env(environ=base, dotenv=False).languages == languages.CODES
    chosen = Settings.from_env(environ={**base, "JOURCHATT_LANGUAGES": "en, sv"}, dotenv=False)
    assert chosen.languages == ("sv", "en")
    for bad, said in (("sv,xx", "'xx' is not one of"), ("en,ar", "must include sv")):
        with pytest.raises(ConfigurationError, match=said) as info:
            Settings.from_env(environ={**base, "JOURCHATT_LANGUAGES": bad}, dotenv=False)
        assert "JOURCHATT_LANGUAGES" in str(info.value)


def test_the_history_page_the_widget_links_to_has_a_section_in_every_language() -> None:
    page = (ROOT / "chat" / "static" / "history.html").read_text(encoding="utf-8")
    for lang in languages.ALL:
        assert re.search(rf'<section id="{lang.code}" lang="{lang.code}"( dir="{"rtl" if lang.rtl else "ltr"}")?>',
                         page), lang.code
        assert f'<a href="#{lang.code}" lang="{lang.code}">{lang.name}</a>' in page
    assert page.count("112") >= len(languages.ALL)
    assert 'new URL("history.html#" + lang, base)' in JS
