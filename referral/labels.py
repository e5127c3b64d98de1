"""How each word of the vocabularies reads to a person: Swedish first, English second.

The words themselves live in ``vocab`` and ``geography``; this is the one table of
their labels, served to the pages by ``GET /api/vocabularies`` (``chat/vocabularies.py``)
so no page keeps a copy of its own. A test checks that every word has both labels.
"""

from __future__ import annotations

from typing import Iterable

from chat.kernel import languages

from . import geography, vocab

Label = tuple[str, str]  # (sv, en)

LABELS: dict[str, dict[str, Label]] = {
    "gender": {
        "girl": ("tjej", "girl"), "boy": ("kille", "boy"), "nonbinary": ("icke-binär", "non-binary"),
        "not_stated": ("vill inte svara", "prefers not to say"),
    },
    "role": {
        "exposed": ("utsatt", "exposed"), "uses_violence": ("utövar våld", "uses violence"),
        "both": ("båda", "both"), "friend_relative": ("vän/anhörig", "friend/relative"),
        "professional": ("yrkesperson", "professional"), "other": ("annat", "other"),
    },
    "violence": {
        "physical": ("fysiskt", "physical"), "psychological": ("psykiskt", "psychological"),
        "sexual": ("sexuellt", "sexual"), "digital": ("digitalt", "digital"),
        "economic": ("ekonomiskt", "economic"), "honour": ("hedersrelaterat", "honour-related"),
    },
    "service_kind": {
        "counselling": ("samtalsstöd", "counselling"),
        "rvc": ("relationsvåldscentrum", "relationship violence centre"),
        "stodcentrum": ("stödcentrum för unga brottsutsatta", "support centre for young victims of crime"),
        "victim_support": ("brottsofferjour", "victim support"),
        "social_services": ("socialtjänst", "social services"),
        "youth_clinic": ("ungdomsmottagning", "youth clinic"),
        "perpetrator_programme": ("stöd för den som utövar våld", "support for those who use violence"),
        "womens_shelter": ("kvinno- och tjejjour", "women's and girls' shelter"),
        "emergency": ("akut hjälp", "emergency help"),
    },
    "first_contact": {
        "yes": ("ja", "yes"), "no": ("nej", "no"), "not_stated": ("vill inte svara", "prefers not to say"),
    },
    "non_data": {
        "test": ("test", "test"), "silent": ("tyst", "silent"), "prank": ("busringning", "prank"),
        "abusive": ("kränkande", "abusive"),
    },
    "outcome": {
        "completed": ("genomförd", "completed"), "left_queued": ("lämnade kön", "left the queue"),
        "visitor_left": ("den unga gick", "the young person left"), "dropped": ("avbruten", "dropped"),
        "closed": ("stängd", "closed"),
    },
    "ended_by": {
        "visitor": ("den unga", "the young person"), "volunteer": ("volontären", "the volunteer"),
        "timeout": ("tidsgräns", "time limit"), "supervisor": ("handledare", "a supervisor"),
    },
    "language": {lang.code: (lang.sv, lang.en) for lang in languages.ALL},
    "service_language": {
        **{lang.code: (lang.sv, lang.en) for lang in languages.ALL},
        "tr": ("turkiska", "Turkish"), "ku": ("kurdiska", "Kurdish"), "fi": ("finska", "Finnish"),
        "pl": ("polska", "Polish"), "ru": ("ryska", "Russian"), "es": ("spanska", "Spanish"),
        "de": ("tyska", "German"), "fr": ("franska", "French"),
    },
}

# The words, in the order the pages show them (the vocabularies' own order).
WORDS: dict[str, tuple[str, ...]] = {
    "gender": vocab.GENDERS, "role": vocab.ROLES, "violence": vocab.VIOLENCE,
    "service_kind": vocab.SERVICE_KINDS, "first_contact": vocab.FIRST_CONTACT, "non_data": vocab.NON_DATA,
    "outcome": vocab.OUTCOMES, "ended_by": vocab.ENDED_BY, "language": vocab.LANGUAGES,
    "service_language": vocab.SERVICE_LANGUAGES,
}

# A volunteer's skills are words of the role and violence vocabularies, labelled as there.
LABELS["skill"] = {**LABELS["role"], **LABELS["violence"]}
WORDS["skill"] = vocab.SKILLS

OTHER_MUNICIPALITY: Label = ("annan kommun", "another municipality")


def _entries(pairs: Iterable[tuple[str, Label]]) -> list[dict[str, str]]:
    return [{"value": value, "sv": sv, "en": en} for value, (sv, en) in pairs]


def _places(table: dict[str, str]) -> list[dict[str, str]]:
    """A place's name is the same in both languages."""
    return _entries((code, (name, name)) for code, name in geography.by_name(table))


def document() -> dict[str, object]:
    """Every vocabulary as ``[{value, sv, en}]``; places by name in Swedish order, "other" last."""
    lists: dict[str, object] = {name: _entries((w, LABELS[name][w]) for w in words) for name, words in WORDS.items()}
    lists["municipality"] = [*_places(geography.MUNICIPALITIES),
                             *_entries([(geography.OTHER_MUNICIPALITY, OTHER_MUNICIPALITY)])]
    districts = {code: _places(table) for code, table in geography.DISTRICTS.items()}
    return {"vocabularies": lists, "districts": districts}
