"""The referral directory as data: parsing, validation, cards.

The directory is a TOML or JSON document with one ``[[service]]`` table per
service, modelled on Open Referral's HSDS (name, organisation, kind,
description, contact channels, opening hours, languages, anonymous contact)
plus eligibility. ``referral/directory.seed.toml`` is the annotated example and
the seed; the fields are:

``id``             slug, ``[a-z0-9-]``, at most 40 characters, unique
``kind``           one of ``vocab.SERVICE_KINDS``
``name``           what the young person sees; ``organisation`` who runs it
``description``    ``{sv = "...", en = "..."}`` (Swedish required)
``contact``        at least one of ``phone``, ``sms``, ``email``, ``web``, ``chat``, ``address``
``hours``          ``{sv, en}`` text; or ``always_open = true``
``languages``      ISO 639-1 codes spoken (``["sv", "en"]``)
``anonymous``      whether contact without giving one's name is possible
``rank``           lower is shown first among matches (default 50)
``show_when_closed``  listed when the chat is closed or full
``first_when_acute``  put first when the volunteer marks acute danger
``eligibility``    one or more clauses; the service fits when any clause fits:
                   ``min_age``, ``max_age`` (inclusive), ``roles`` (``vocab.ROLES``),
                   ``municipalities`` (SCB codes), ``districts`` (ids of
                   ``geography.DISTRICTS`` in one of those municipalities);
                   a field left out does not restrict
``defers_to``      ``[{service = "id", below_age = 21}]``: not suggested when that
                   service is suggested too (and, with ``below_age``, the age is
                   known and below it). This is how handovers are written:
                   victim support defers to Stödcentrum under 21.

``parse(document)`` returns a ``Directory`` or raises ``DirectoryInvalid`` with
every error, each named by its place (``service[3] rvc-sydvast: eligibility[0].min_age: ...``).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import geography, vocab
from .exceptions import DirectoryInvalid

SEED_FILE = Path(__file__).parent / "directory.seed.toml"
MAX_SERVICES = 500
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_LANG = re.compile(r"^[a-z]{2,3}$")
CONTACT_FIELDS = ("phone", "sms", "email", "web", "chat", "address")
TEXT_LANGS = vocab.LANGUAGES   # sv required; the others optional, falling back to sv then en
MAX_TEXT = 600
_KNOWN = {"id", "kind", "name", "organisation", "description", "contact", "hours", "always_open",
          "languages", "anonymous", "rank", "show_when_closed", "first_when_acute", "eligibility",
          "defers_to"}
_CLAUSE_KNOWN = {"min_age", "max_age", "roles", "municipalities", "districts"}


@dataclass(frozen=True)
class Clause:
    min_age: int | None = None
    max_age: int | None = None
    roles: frozenset[str] | None = None
    municipalities: frozenset[str] | None = None
    districts: frozenset[str] | None = None

    @property
    def specificity(self) -> int:
        """2 for a district's own service, 1 for a municipality's, 0 for anyone's."""
        return 2 if self.districts else 1 if self.municipalities else 0


@dataclass(frozen=True)
class Deferral:
    service: str
    below_age: int | None = None


@dataclass(frozen=True)
class Service:
    id: str
    kind: str
    name: str
    organisation: str
    description: dict[str, str]
    contact: dict[str, str]
    hours: dict[str, str]
    always_open: bool
    languages: tuple[str, ...]
    anonymous: bool
    rank: int
    show_when_closed: bool
    first_when_acute: bool
    eligibility: tuple[Clause, ...]
    defers_to: tuple[Deferral, ...]
    source: dict[str, Any] = field(compare=False, repr=False)

    def text(self, texts: dict[str, str], lang: str) -> str:
        return texts.get(lang) or texts.get("sv") or texts.get("en") or ""

    def card(self, lang: str) -> dict[str, Any]:
        """What a visitor is shown: no eligibility, texts in ``lang`` (Swedish, then English, if missing)."""
        return {
            "id": self.id, "kind": self.kind, "name": self.name, "organisation": self.organisation,
            "description": self.text(self.description, lang), "contact": dict(self.contact),
            "hours": self.text(self.hours, lang), "always_open": self.always_open,
            "anonymous": self.anonymous, "languages": list(self.languages),
        }


@dataclass(frozen=True)
class Directory:
    services: tuple[Service, ...]
    version: int = 0

    def get(self, service_id: str) -> Service | None:
        for s in self.services:
            if s.id == service_id:
                return s
        return None

    def documents(self) -> list[dict[str, Any]]:
        return [s.source for s in self.services]


def read_file(path: Path) -> dict[str, Any]:
    """A directory document from a .toml or .json file; DirectoryInvalid if unreadable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DirectoryInvalid([f"{path}: cannot be read ({exc.strerror})"]) from None
    try:
        if path.suffix.lower() == ".json":
            doc = json.loads(raw)
        else:
            doc = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DirectoryInvalid([f"{path}: is not UTF-8 text"]) from None
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise DirectoryInvalid([f"{path}: {exc}"]) from None
    if not isinstance(doc, dict):
        raise DirectoryInvalid([f"{path}: must hold an object with a 'service' list"])
    return doc


def parse(doc: dict[str, Any], *, version: int = 0) -> Directory:
    """Validate a whole document; every error is reported, not just the first."""
    errors: list[str] = []
    items = doc.get("service")
    unknown_top = sorted(set(doc) - {"service", "format", "version"})   # version: of an export, ignored
    if unknown_top:
        errors.append(f"top level: unknown field {unknown_top[0]!r}; expected 'service'")
    if doc.get("format", 1) != 1:
        errors.append("format: only format 1 is known")
    if not isinstance(items, list) or not items:
        raise DirectoryInvalid(errors + ["service: must be a non-empty list of services"])
    if len(items) > MAX_SERVICES:
        raise DirectoryInvalid(errors + [f"service: at most {MAX_SERVICES} services"])
    services: list[Service] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items):
        place = f"service[{i}]"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            place += f" {item['id'][:40]}"
        svc = _service(item, place, errors)
        if svc is None:
            continue
        if svc.id in seen:
            errors.append(f"{place}: id: {svc.id!r} is used by service[{seen[svc.id]}] too")
        seen[svc.id] = i
        services.append(svc)
    ids = {s.id for s in services}
    for i, svc in enumerate(services):
        for j, d in enumerate(svc.defers_to):
            if d.service not in ids:
                errors.append(f"service[{seen.get(svc.id, i)}] {svc.id}: defers_to[{j}].service: "
                              f"no service has id {d.service!r}")
            elif d.service == svc.id:
                errors.append(f"service[{seen.get(svc.id, i)}] {svc.id}: defers_to[{j}]: a service cannot defer to itself")
    if not any(s.kind == "emergency" and any(c == Clause() for c in s.eligibility)
                            for s in services):
        errors.append("service: the directory needs an emergency service (112) open to everyone "
                      "(kind = \"emergency\" with an eligibility clause that restricts nothing)")
    if errors:
        raise DirectoryInvalid(errors)
    return Directory(services=tuple(services), version=version)


def _texts(value: Any, place: str, errors: list[str], *, required: bool) -> dict[str, str]:
    if value is None and not required:
        return {}
    if isinstance(value, str):
        value = {"sv": value}
    if not isinstance(value, dict) or "sv" not in value:
        errors.append(f"{place}: must be a table with a Swedish text, like {{sv = \"...\", en = \"...\"}}")
        return {}
    out: dict[str, str] = {}
    for lang, text in value.items():
        if lang not in TEXT_LANGS:
            errors.append(f"{place}.{lang}: unknown language; texts may be in {', '.join(TEXT_LANGS)}")
        elif not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            errors.append(f"{place}.{lang}: must be a text of 1 to {MAX_TEXT} characters")
        else:
            out[lang] = text.strip()
    return out


def _age(value: Any, place: str, errors: list[str]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 120:
        errors.append(f"{place}: must be a whole number from 0 to 120")
        return None
    return value


def _words(value: Any, allowed: Any, place: str, errors: list[str], what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors.append(f"{place}: must be a non-empty list of {what}")
        return None
    bad = [v for v in value if not allowed(v)]
    if bad:
        errors.append(f"{place}: {bad[0]!r} is not one of the {what}")
        return None
    return frozenset(value)


def _clause(item: Any, place: str, errors: list[str]) -> Clause | None:
    if not isinstance(item, dict):
        errors.append(f"{place}: must be a table")
        return None
    extra = sorted(set(item) - _CLAUSE_KNOWN)
    if extra:
        errors.append(f"{place}: unknown field {extra[0]!r}; known: {', '.join(sorted(_CLAUSE_KNOWN))}")
    lo = _age(item.get("min_age"), f"{place}.min_age", errors)
    hi = _age(item.get("max_age"), f"{place}.max_age", errors)
    if lo is not None and hi is not None and lo > hi:
        errors.append(f"{place}: min_age {lo} is above max_age {hi}")
    roles = _words(item.get("roles"), lambda r: r in vocab.ROLES, f"{place}.roles", errors,
                   f"roles ({', '.join(vocab.ROLES)})")
    munis = _words(item.get("municipalities"), lambda m: m in geography.MUNICIPALITIES,
                   f"{place}.municipalities", errors, "municipality codes (SCB, like \"0180\")")
    districts = _words(item.get("districts"), geography.known_district, f"{place}.districts", errors,
                       "district ids of referral.geography")
    if districts:
        if not munis:
            errors.append(f"{place}.districts: name the municipality too (municipalities = [...])")
        else:
            stray = sorted(d for d in districts if not any(geography.valid_district(m, d) for m in munis))
            if stray:
                errors.append(f"{place}.districts: {stray[0]!r} is in none of the municipalities listed")
    return Clause(min_age=lo, max_age=hi, roles=roles, municipalities=munis, districts=districts)


def _service(item: Any, place: str, errors: list[str]) -> Service | None:
    if not isinstance(item, dict):
        errors.append(f"{place}: must be a table")
        return None
    before = len(errors)
    extra = sorted(set(item) - _KNOWN)
    if extra:
        errors.append(f"{place}: unknown field {extra[0]!r}")
    sid = item.get("id")
    if not isinstance(sid, str) or not _ID.match(sid):
        errors.append(f"{place}: id: must be 1 to 40 of a-z, 0-9 and '-', starting with a letter or digit")
    kind = item.get("kind")
    if kind not in vocab.SERVICE_KINDS:
        errors.append(f"{place}: kind: must be one of {', '.join(vocab.SERVICE_KINDS)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        errors.append(f"{place}: name: must be a text of 1 to 120 characters")
    org = item.get("organisation", "")
    if not isinstance(org, str) or len(org) > 120:
        errors.append(f"{place}: organisation: must be a text of at most 120 characters")
    description = _texts(item.get("description"), f"{place}: description", errors, required=True)
    contact = item.get("contact")
    clean_contact: dict[str, str] = {}
    if not isinstance(contact, dict) or not contact:
        errors.append(f"{place}: contact: must be a table with at least one of {', '.join(CONTACT_FIELDS)}")
    else:
        for k, v in contact.items():
            if k not in CONTACT_FIELDS:
                errors.append(f"{place}: contact.{k}: unknown channel; use {', '.join(CONTACT_FIELDS)}")
            elif not isinstance(v, str) or not v.strip() or len(v) > 200:
                errors.append(f"{place}: contact.{k}: must be a text of 1 to 200 characters")
            elif k in ("web", "chat") and not v.startswith("https://"):
                errors.append(f"{place}: contact.{k}: must be an https:// address")
            else:
                clean_contact[k] = v.strip()
    always_open = item.get("always_open", False)
    hours = _texts(item.get("hours"), f"{place}: hours", errors, required=not always_open)
    languages = item.get("languages", ["sv"])
    if (not isinstance(languages, list) or not languages
            or not all(isinstance(x, str) and _LANG.match(x) for x in languages)):
        errors.append(f"{place}: languages: must be a non-empty list of language codes like \"sv\"")
        languages = []
    flags = {}
    for flag in ("anonymous", "always_open", "show_when_closed", "first_when_acute"):
        value = item.get(flag, None if flag == "anonymous" else False)
        if not isinstance(value, bool):
            errors.append(f"{place}: {flag}: must be true or false" + (" (required)" if flag == "anonymous" else ""))
        flags[flag] = bool(value)
    rank = item.get("rank", 50)
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank <= 1000:
        errors.append(f"{place}: rank: must be a whole number from 0 to 1000")
    raw_clauses = item.get("eligibility", [{}])
    if isinstance(raw_clauses, dict):
        raw_clauses = [raw_clauses]
    clauses: list[Clause] = []
    if not isinstance(raw_clauses, list) or not raw_clauses:
        errors.append(f"{place}: eligibility: must be a list of one or more clauses")
    else:
        for j, c in enumerate(raw_clauses):
            clause = _clause(c, f"{place}: eligibility[{j}]", errors)
            if clause is not None:
                clauses.append(clause)
    deferrals: list[Deferral] = []
    raw_defers = item.get("defers_to", [])
    if not isinstance(raw_defers, list):
        errors.append(f"{place}: defers_to: must be a list of {{service = \"id\", below_age = N}}")
    else:
        for j, d in enumerate(raw_defers):
            if not isinstance(d, dict) or not isinstance(d.get("service"), str) or set(d) - {"service", "below_age"}:
                errors.append(f"{place}: defers_to[{j}]: must be {{service = \"id\"}} with an optional below_age")
                continue
            below = _age(d.get("below_age"), f"{place}: defers_to[{j}].below_age", errors)
            deferrals.append(Deferral(service=d["service"], below_age=below))
    if len(errors) > before:
        return None
    # No error above: these are the texts the checks asked for (told to mypy, which cannot see it).
    assert isinstance(sid, str) and isinstance(kind, str) and isinstance(name, str)
    source = json.loads(json.dumps(item))     # a plain copy (TOML dates are not allowed anyway)
    return Service(
        id=sid, kind=kind, name=name.strip(), organisation=org.strip(), description=description,
        contact=clean_contact, hours=hours, always_open=flags["always_open"],
        languages=tuple(languages), anonymous=flags["anonymous"], rank=rank,
        show_when_closed=flags["show_when_closed"], first_when_acute=flags["first_when_acute"],
        eligibility=tuple(clauses), defers_to=tuple(deferrals), source=source,
    )


def seed() -> Directory:
    return parse(read_file(SEED_FILE))
