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
    "referrals_unavailable": {
        "sv": "Hänvisningar kan inte skickas ännu: hänvisningskatalogen finns inte på den här servern.",
        "en": "Referrals cannot be sent yet: this server has no referral directory.",
    },
    "supervisor_joined": {
        "sv": "En handledare har anslutit till chatten.",
        "en": "A supervisor has joined the chat.",
    },
    "supervisor_took_over": {
        "sv": "En handledare tar över samtalet härifrån.",
        "en": "A supervisor is taking over the conversation from here.",
    },
    "transferred": {
        "sv": "Du kopplas vidare till en annan volontär. Stanna kvar, samtalet fortsätter strax.",
        "en": "You are being passed on to another volunteer. Please stay, the conversation continues shortly.",
    },
    "acute_guidance": {
        "sv": "Akut fara: be personen ringa 112 nu om hen eller någon annan är i fara. "
              "Du får själv ringa 112 om det behövs. Din handledare har fått ett larm.",
        "en": "Acute danger: ask the person to call 112 now if they or someone else is in danger. "
              "You may call 112 yourself if needed. Your supervisor has been alerted.",
    },
    "blocked": {
        "sv": "Chatten är inte tillgänglig just nu.",
        "en": "The chat is not available right now.",
    },
}

DEFAULT_LANG = "sv"


def text(key: str, lang: str) -> str:
    entry = TEXTS[key]
    return entry.get(lang) or entry[DEFAULT_LANG]
