"""The languages a chat may be held in: codes, their own names, direction and translation status.

One table for the server (hello, routing, accounts, directory texts, statistics) and the
docs. The widget keeps the same facts in its texts (``chat/static/widget.js``, each
language's ``_reviewed``) and a unit test holds the two in step.

``reviewed`` is honest: only Swedish and English are written by the team's own
Swedish- and English-speaking staff. The other five were written by an engineer with
machine help and have not been checked by a native speaker; an organisation may keep
them out of the widget with ``JOURCHATT_LANGUAGES`` until they are (docs/configuration.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    code: str           # ISO 639-1
    name: str           # its own name, as the language switch shows it
    sv: str             # its name in Swedish
    en: str             # its name in English
    rtl: bool           # laid out right to left
    written_by: str     # who wrote the texts
    reviewed: bool      # checked by a native speaker


ALL: tuple[Language, ...] = (
    Language("sv", "Svenska", "svenska", "Swedish", False, "the project team (native speakers)", True),
    Language("en", "English", "engelska", "English", False, "the project team", True),
    Language("ar", "العربية", "arabiska", "Arabic", True, "an engineer with machine translation", False),
    Language("fa", "فارسی", "persiska", "Persian", True, "an engineer with machine translation", False),
    Language("so", "Soomaali", "somaliska", "Somali", False, "an engineer with machine translation", False),
    Language("ti", "ትግርኛ", "tigrinja", "Tigrinya", False, "an engineer with machine translation", False),
    Language("uk", "Українська", "ukrainska", "Ukrainian", False, "an engineer with machine translation", False),
)

BY_CODE: dict[str, Language] = {lang.code: lang for lang in ALL}
CODES: tuple[str, ...] = tuple(lang.code for lang in ALL)
# The console, admin and staff pages speak these; a volunteer's other languages are for chats only.
STAFF_CODES: tuple[str, ...] = ("sv", "en")


def parse_list(raw: str, what: str) -> tuple[str, ...]:
    """``"sv,en,ar"`` → ``("sv", "en", "ar")`` in the table's order; ValueError names the bad code."""
    chosen = [c.strip().lower() for c in raw.split(",") if c.strip()]
    for code in chosen:
        if code not in BY_CODE:
            raise ValueError(f"{what}: {code!r} is not one of {', '.join(CODES)}")
    if "sv" not in chosen:
        raise ValueError(f"{what}: must include sv (the language every text falls back to)")
    return tuple(c for c in CODES if c in chosen)
