"""Every text the server itself says to a person, Swedish first, English second.

Keyed by a stable id; a frame carries both the id (``key``) and the text in the
recipient's language, so a client may show its own wording. Add a language by
adding a column here.
"""

from __future__ import annotations

from datetime import date, datetime

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
    "network_full": {
        "sv": "Många på samma nätverk som du väntar redan i chatten. Försök igen om en stund, "
              "eller byt nätverk (till exempel mobildata i stället för wifi). Är du i fara, ring 112.",
        "en": "Many people on the same network as you are already waiting in the chat. Please try "
              "again in a while, or switch networks (for example mobile data instead of Wi-Fi). "
              "If you are in danger, call 112.",
    },
    "out_of_hours": {
        "sv": "Chatten är stängd just nu. Den öppnar igen {when}. Är du i fara, ring 112.",
        "en": "The chat is closed right now. It opens again {when}. If you are in danger, call 112.",
    },
    "out_of_hours_no_date": {
        "sv": "Chatten är stängd just nu. Är du i fara, ring 112.",
        "en": "The chat is closed right now. If you are in danger, call 112.",
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
    "followup_away": {
        "sv": "{name} är inte här just nu. {name} är här igen {when}. Du kan vänta till dess och komma "
              "tillbaka med din kod, eller prata med någon annan nu. Du står redan i kön.",
        "en": "{name} is not here right now. {name} is here again {when}. You can wait until then and come "
              "back with your code, or talk with someone else now. You are already in the queue.",
    },
    "followup_away_unbooked": {
        "sv": "{name} är inte här just nu och har inte bokat nästa pass än. Du kan prata med någon annan nu "
              "(du står redan i kön) eller prova din kod en annan kväll.",
        "en": "{name} is not here right now and has not booked their next shift yet. You can talk with "
              "someone else now (you are already in the queue) or try your code another evening.",
    },
    "followup_busy": {
        "sv": "{name} pratar med någon annan just nu. Du står i kön och får prata med den som blir ledig "
              "först. Vill du hellre vänta på {name}, kom tillbaka med din kod om en stund.",
        "en": "{name} is talking with someone else right now. You are in the queue and will talk with whoever "
              "is free first. If you would rather wait for {name}, come back with your code in a while.",
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


WEEKDAY_NAMES = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_WHEN = {"sv": "{day} {d}/{m} kl. {hh}.{mm}", "en": "on {day} {d}/{m} at {hh}:{mm}"}


def out_of_hours(lang: str, next_open: datetime | None) -> str:
    """The closed sentence with the next opening in local time ("måndag 24/11 kl. 18.00")."""
    if next_open is None:
        return text("out_of_hours_no_date", lang)
    lang = lang if lang in _WHEN else DEFAULT_LANG
    when = _WHEN[lang].format(day=WEEKDAY_NAMES[lang][next_open.weekday()], d=next_open.day,
                              m=next_open.month, hh=f"{next_open.hour:02d}", mm=f"{next_open.minute:02d}")
    return text("out_of_hours", lang).format(when=when)


_RELATIVE = {"sv": ("i dag", "i morgon"), "en": ("today", "tomorrow")}


def _clock(at: datetime, lang: str) -> str:
    if lang == "sv":
        return f"{at.hour}" if at.minute == 0 else f"{at.hour}.{at.minute:02d}"
    return f"{at.hour}:{at.minute:02d}"


def shift_when(lang: str, start: datetime, end: datetime, today: date) -> str:
    """When a shift is, in local time, as a person says it: "tisdag 19–22", "i morgon 18.30–21",
    "tisdag 15/12 19–22" (more than six days ahead)."""
    lang = lang if lang in _WHEN else DEFAULT_LANG
    days = (start.date() - today).days
    if days in (0, 1):
        day = _RELATIVE[lang][days]
    else:
        day = WEEKDAY_NAMES[lang][start.weekday()]
        if days > 6:
            day += f" {start.day}/{start.month}"
    return f"{day} {_clock(start, lang)}–{_clock(end, lang)}"


def followup_away(lang: str, name: str, when: str | None, *, busy: bool = False) -> str:
    """What a young person back with a follow-up code is told when their volunteer is not free."""
    if busy:
        return text("followup_busy", lang).format(name=name)
    if when is None:
        return text("followup_away_unbooked", lang).format(name=name)
    return text("followup_away", lang).format(name=name, when=when)
