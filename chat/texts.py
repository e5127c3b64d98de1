"""Every text the server itself says to a person, Swedish first, English second.

Keyed by a stable id; a frame carries both the id (``key``) and the text in the
recipient's language, so a client may show its own wording. Add a language by
adding a column here.
"""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "idle_warning": {
        "sv": "Det har varit tyst en stund. Chatten avslutas snart om ingen skriver något.",
        "en": "It has been quiet for a while. The chat will close soon unless someone writes.",
    },
    "volunteer_lost": {
        "sv": "Anslutningen till volontären bröts. Du står först i kön och får snart prata med någon.",
        "en": "The connection to the volunteer was lost. You are first in the queue and will soon talk to someone.",
    },
    "visitor_away": {
        "sv": "Den unga personens anslutning bröts. Chatten väntar på att hen kommer tillbaka.",
        "en": "The young person's connection dropped. The chat waits for them to come back.",
    },
    "visitor_back": {
        "sv": "Den unga personen är tillbaka.",
        "en": "The young person is back.",
    },
    "queue_full": {
        "sv": "Chatten är full just nu. Försök igen om en stund. Är du i fara, ring 112.",
        "en": "The chat is full right now. Please try again in a while. If you are in danger, call 112.",
    },
}

DEFAULT_LANG = "sv"


def text(key: str, lang: str) -> str:
    entry = TEXTS[key]
    return entry.get(lang) or entry[DEFAULT_LANG]
