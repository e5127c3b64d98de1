"""Which services fit a young person, and why: pure functions over a Directory.

``suggest(directory, query)`` returns the matching services best first, each
with the eligibility clause that matched. What is not known (age, role,
residence) does not exclude a service, except that a service only for the
residents of a municipality or district needs the residence to be known and
to match. The handovers of the sources are data (``defers_to``): a service is
dropped when the service it defers to is suggested too.

Order: with ``acute``, the services marked ``first_when_acute`` (112) first;
then by ``rank``; then the more local (district before municipality before
anywhere); then by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import geography, vocab
from .directory import Clause, Directory, Service
from .exceptions import InvalidQuery

MAX_AGE = 120


@dataclass(frozen=True)
class Query:
    age: int | None = None
    role: str | None = None
    municipality: str | None = None      # SCB code, "other", or None (not stated)
    district: str | None = None
    language: str | None = None          # the language the young person speaks
    acute: bool = False

    @classmethod
    def from_params(cls, params: dict[str, str]) -> Query:
        """From query-string parameters; InvalidQuery naming the parameter that is wrong."""
        known = {"age", "role", "municipality", "district", "language", "acute", "lang"}
        extra = sorted(set(params) - known)
        if extra:
            raise InvalidQuery(f"{extra[0]}: unknown parameter; known: {', '.join(sorted(known))}")
        age: int | None = None
        raw = params.get("age", "").strip()
        if raw and raw != "unknown":
            if not raw.isdigit() or int(raw) > MAX_AGE:
                raise InvalidQuery(f"age: must be a whole number from 0 to {MAX_AGE}")
            age = int(raw)
        role = params.get("role", "").strip() or None
        if role is not None and role not in vocab.ROLES:
            raise InvalidQuery(f"role: must be one of {', '.join(vocab.ROLES)}")
        municipality = params.get("municipality", "").strip() or None
        if municipality == "not_stated":
            municipality = None
        if municipality is not None and not geography.valid_municipality(municipality):
            raise InvalidQuery("municipality: must be a four-digit SCB code of Stockholm County "
                               "(like 0180), 'other' or 'not_stated'")
        district = params.get("district", "").strip() or None
        if district is not None and not geography.valid_district(municipality, district):
            raise InvalidQuery("district: must be a district of the municipality given")
        language = params.get("language", "").strip().lower() or None
        if language is not None and not (2 <= len(language) <= 3 and language.isalpha()):
            raise InvalidQuery("language: must be a language code like sv or en")
        acute_raw = params.get("acute", "").strip().lower()
        if acute_raw not in ("", "0", "1", "true", "false"):
            raise InvalidQuery("acute: must be true or false")
        return cls(age=age, role=role, municipality=municipality, district=district,
                   language=language, acute=acute_raw in ("1", "true"))


@dataclass(frozen=True)
class Match:
    service: Service
    clause: Clause


def clause_fits(clause: Clause, q: Query) -> bool:
    if q.age is not None:
        if clause.min_age is not None and q.age < clause.min_age:
            return False
        if clause.max_age is not None and q.age > clause.max_age:
            return False
    if clause.roles is not None and q.role is not None and q.role not in clause.roles:
        return False
    if clause.municipalities is not None and q.municipality not in clause.municipalities:
        return False
    if clause.districts is not None and q.district not in clause.districts:
        return False
    return True


def _fit(service: Service, q: Query) -> Clause | None:
    if (q.language and service.kind != "emergency" and service.languages
            and q.language not in service.languages):
        return None
    fitting = [c for c in service.eligibility if clause_fits(c, q)]
    return max(fitting, key=lambda c: c.specificity) if fitting else None


# Kinds of service that lead the suggestions for a role, in this order (after 112 in acute
# danger): a young person who uses violence is first offered a perpetrator programme and
# counselling, the partnership's aim (seeds 000/001), before services for the exposed.
LEAD_KINDS: dict[str, tuple[str, ...]] = {"uses_violence": ("perpetrator_programme", "counselling")}


def suggest(directory: Directory, q: Query) -> list[Match]:
    matched: dict[str, Match] = {}
    for service in directory.services:
        clause = _fit(service, q)
        if clause is not None:
            matched[service.id] = Match(service, clause)
    kept = [m for m in matched.values() if not _deferred(m.service, matched, q)]
    lead = LEAD_KINDS.get(q.role or "", ())
    return sorted(kept, key=lambda m: (
        0 if q.acute and m.service.first_when_acute else 1,
        lead.index(m.service.kind) if m.service.kind in lead else len(lead),
        m.service.rank, -m.clause.specificity, m.service.name))


def _deferred(service: Service, matched: dict[str, Match], q: Query) -> bool:
    for d in service.defers_to:
        if d.service in matched and (d.below_age is None or (q.age is not None and q.age < d.below_age)):
            return True
    return False


def closed_services(directory: Directory) -> list[Service]:
    """Services to show when the chat cannot take anyone: emergency first."""
    shown = [s for s in directory.services if s.show_when_closed]
    return sorted(shown, key=lambda s: (0 if s.first_when_acute or s.kind == "emergency" else 1, s.rank, s.name))


# -- reasons ------------------------------------------------------------------------

_ROLE_TEXT = {
    "sv": {"exposed": "utsatt för våld", "uses_violence": "använder våld", "both": "både utsatt och använder våld",
           "friend_relative": "vän eller anhörig", "professional": "yrkesverksam", "other": "annat"},
    "en": {"exposed": "exposed to violence", "uses_violence": "uses violence",
           "both": "both exposed and using violence", "friend_relative": "friend or relative",
           "professional": "professional", "other": "other"},
}
_T = {
    "sv": {"range": "{lo}–{hi} år", "min": "{lo} år eller äldre", "max": "upp till {hi} år",
           "age_unknown": "gäller {bounds} (åldern okänd)", "lives": "bor i {place}",
           "for": "för: {roles}", "everyone": "öppen för alla", "acute": "akut fara: ring 112 nu",
           "always": "alltid vid akut fara", "or": " eller "},
    "en": {"range": "{lo}–{hi}", "min": "{lo} or older", "max": "up to {hi}",
           "age_unknown": "for {bounds} (age unknown)", "lives": "lives in {place}",
           "for": "for: {roles}", "everyone": "open to everyone", "acute": "immediate danger: call 112 now",
           "always": "always, in immediate danger", "or": " or "},
}


def reason(match: Match, q: Query, lang: str = "sv") -> str:
    """Why the service fits, in ``lang`` (Swedish unless ``en``): "18 år eller äldre, bor i Stockholm"."""
    t = _T.get(lang, _T["sv"])
    roles_t = _ROLE_TEXT.get(lang, _ROLE_TEXT["sv"])
    s, c = match.service, match.clause
    if s.kind == "emergency" and c == Clause():
        return t["acute"] if q.acute and s.first_when_acute else t["always"]
    parts: list[str] = []
    bounds = None
    if c.min_age is not None and c.max_age is not None:
        bounds = t["range"].format(lo=c.min_age, hi=c.max_age)
    elif c.min_age is not None:
        bounds = t["min"].format(lo=c.min_age)
    elif c.max_age is not None:
        bounds = t["max"].format(hi=c.max_age)
    if bounds:
        parts.append(bounds if q.age is not None else t["age_unknown"].format(bounds=bounds))
    if c.roles is not None and set(c.roles) != set(vocab.ROLES):
        if q.role is not None:
            parts.append(roles_t[q.role])
        else:
            parts.append(t["for"].format(roles=", ".join(roles_t[r] for r in vocab.ROLES if r in c.roles)))
    if c.districts and q.district:
        name = geography.DISTRICTS.get(q.municipality or "", {}).get(q.district, q.district)
        parts.append(t["lives"].format(place=name))
    elif c.municipalities and q.municipality:
        parts.append(t["lives"].format(place=geography.MUNICIPALITIES.get(q.municipality, q.municipality)))
    return ", ".join(parts) if parts else t["everyone"]


def ineligible(directory: Directory, service_ids: list[str], q: Query) -> tuple[list[str], list[str]]:
    """(unknown ids, ids that do not fit ``q``) among ``service_ids``."""
    unknown = [sid for sid in service_ids if directory.get(sid) is None]
    fitting = {m.service.id for m in suggest(directory, q)}
    return unknown, [sid for sid in service_ids if sid not in unknown and sid not in fitting]
