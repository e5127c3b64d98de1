"""The referral rules of the sources, as a table, against the seed directory.

Expectations are written from the sources (domain.md), not from the engine:
RVC from 18, for those exposed to or using violence, in Stockholm; Stödcentrum
10-21 in Stockholm (suspects from 12); victim support for any age but handed to
Stödcentrum under 21; Nacka and Värmdö services only for their residents;
emergency 112 always, and first when the danger is acute.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from referral import directory, rules, vocab
from referral.exceptions import DirectoryInvalid, InvalidQuery

SEED = directory.seed()
AGES = (9, 10, 17, 18, 21, 22)
RESIDENCES = {                       # name -> (municipality, district)
    "stockholm-skarholmen": ("0180", "skarholmen"),
    "stockholm-no-district": ("0180", None),
    "nacka": ("0182", None),
    "varmdo": ("0120", None),
    "unknown": (None, None),
    "elsewhere": ("other", None),
}
VICTIM_ROLES = {"exposed", "both", "friend_relative", "professional"}
NACKA_ONLY = {"atv-nacka", "socialtjansten-nacka"}
VARMDO_ONLY = {"socialtjansten-varmdo"}
NACKA_VARMDO = {"samtalsforum-nacka-varmdo"}


def kinds(matches: list[rules.Match]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for m in matches:
        out.setdefault(m.service.kind, []).append(m.service.id)
    return out


CASES = list(itertools.product(AGES, vocab.ROLES, RESIDENCES))


@pytest.mark.parametrize("age,role,residence", CASES, ids=[f"{a}-{r}-{p}" for a, r, p in CASES])
def test_rules_of_the_sources(age: int, role: str, residence: str) -> None:
    municipality, district = RESIDENCES[residence]
    q = rules.Query(age=age, role=role, municipality=municipality, district=district)
    found = rules.suggest(SEED, q)
    ids = [m.service.id for m in found]
    by_kind = kinds(found)
    stockholm = municipality == "0180"

    # 112 is always there; without acute danger it comes last.
    assert by_kind["emergency"] == ["emergency-112"] and ids[-1] == "emergency-112"

    rvc = by_kind.get("rvc", [])
    if age >= 18 and role in ("exposed", "uses_violence", "both") and stockholm:
        # exactly one RVC: the district's own when the district is known
        assert rvc == (["rvc-sydvast"] if district == "skarholmen" else ["rvc-stockholm"])
    else:
        assert rvc == []

    stod = "stodcentrum" in ids
    fits_stod = stockholm and ((10 <= age <= 21 and role in ("exposed", "both", "friend_relative"))
                               or (12 <= age <= 21 and role == "uses_violence"))
    assert stod == fits_stod

    victim = by_kind.get("victim_support", [])
    if role in VICTIM_ROLES and not (age < 21 and stod):
        assert len(victim) == 1          # the local jour, or the national line where there is none
        if district == "skarholmen":
            assert victim == ["brottsofferjouren-sodra-stockholm"]
    else:
        assert victim == []              # handed over to Stödcentrum under 21, or not a victim's role

    if municipality != "0182":
        assert not set(ids) & NACKA_ONLY
    assert ("socialtjansten-nacka" in ids) == (municipality == "0182")
    assert ("atv-nacka" in ids) == (municipality == "0182" and role in ("uses_violence", "both"))
    assert bool(set(ids) & VARMDO_ONLY) == (municipality == "0120")
    assert ("samtalsforum-nacka-varmdo" in ids) == (municipality in ("0182", "0120")
                                                    and role in ("exposed", "both", "friend_relative"))
    assert ("umo" in ids) == (13 <= age <= 23)
    # nothing bound to a place reaches someone who does not live there
    for m in found:
        if m.clause.municipalities:
            assert municipality in m.clause.municipalities
        if m.clause.districts:
            assert district in m.clause.districts


@pytest.mark.parametrize("residence", RESIDENCES)
def test_acute_danger_puts_112_first(residence: str) -> None:
    municipality, district = RESIDENCES[residence]
    q = rules.Query(age=16, role="exposed", municipality=municipality, district=district, acute=True)
    found = rules.suggest(SEED, q)
    assert found[0].service.id == "emergency-112"
    assert rules.reason(found[0], q, "sv") == "akut fara: ring 112 nu"


def test_nothing_known_still_suggests_but_names_the_bounds() -> None:
    found = rules.suggest(SEED, rules.Query())
    ids = [m.service.id for m in found]
    assert "emergency-112" in ids and "umo" in ids and "samtalsmottagning" in ids
    assert not any(m.clause.municipalities for m in found)     # place-bound services need a place
    umo = next(m for m in found if m.service.id == "umo")
    assert rules.reason(umo, rules.Query(), "sv") == "gäller 13–23 år (åldern okänd)"


def test_reasons_say_why_in_swedish_and_english() -> None:
    q = rules.Query(age=19, role="uses_violence", municipality="0180", district="skarholmen")
    rvc = next(m for m in rules.suggest(SEED, q) if m.service.kind == "rvc")
    assert rules.reason(rvc, q, "sv") == "18 år eller äldre, använder våld, bor i Skärholmen"
    assert rules.reason(rvc, q, "en") == "18 or older, uses violence, lives in Skärholmen"
    q2 = rules.Query(age=19, role="exposed", municipality="0180")
    rvc2 = next(m for m in rules.suggest(SEED, q2) if m.service.kind == "rvc")
    assert rules.reason(rvc2, q2, "en") == "18 or older, exposed to violence, lives in Stockholm"


def test_language_keeps_services_that_speak_it_and_always_112() -> None:
    q = rules.Query(age=25, role="exposed", municipality="0180", district="bromma", language="ar")
    ids = [m.service.id for m in rules.suggest(SEED, q)]
    assert ids == ["brottsofferjouren-vasterort", "emergency-112"]


@pytest.mark.parametrize("params,why", [
    ({"age": "x"}, "age"), ({"age": "-1"}, "age"), ({"age": "121"}, "age"),
    ({"role": "victim"}, "role"), ({"municipality": "9999"}, "municipality"),
    ({"municipality": "0182", "district": "bromma"}, "district"), ({"district": "bromma"}, "district"),
    ({"acute": "maybe"}, "acute"), ({"language": "svenska"}, "language"), ({"colour": "red"}, "colour"),
])
def test_ill_formed_queries_are_refused_with_the_parameter_named(params: dict[str, str], why: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        rules.Query.from_params(params)
    assert info.value.detail.startswith(why)


def test_the_seed_names_every_service_of_the_domain() -> None:
    kinds_present = {s.kind for s in SEED.services}
    assert kinds_present == set(vocab.SERVICE_KINDS)
    names = " ".join(s.name for s in SEED.services)
    for needle in ("112", "Samtalsmottagningen", "Relationsvåldscentrum Sydväst", "Stödcentrum",
                   "Brottsofferjouren Stockholm-Gotland", "Brottsofferjouren Södra Stockholm",
                   "Brottsofferjouren Västerort", "Socialtjänsten, Bromma", "Ungdomsmottagningen",
                   "Alternativ till våld", "SamtalsForum"):
        assert needle in names


def test_directory_check_names_every_error_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("""
[[service]]
id = "Bad Id"
kind = "spa"
name = "x"
description = { de = "nein" }
contact = { fax = "1" }
anonymous = "yes"
eligibility = [{ min_age = 30, max_age = 20, roles = ["victim"], municipalities = ["0180"], districts = ["nowhere"] }]

[[service]]
id = "ok"
kind = "counselling"
name = "Ok"
description = "Bra"
contact = { web = "http://insecure.example" }
hours = "alltid"
anonymous = true
defers_to = [{ service = "missing" }]
""", encoding="utf-8")
    with pytest.raises(DirectoryInvalid) as info:
        directory.parse(directory.read_file(bad))
    errors = info.value.errors
    expected = ["service[0] Bad Id: id:", "service[0] Bad Id: kind:", "service[0] Bad Id: description:",
                "service[0] Bad Id: contact.fax:", "service[0] Bad Id: anonymous:",
                "service[0] Bad Id: eligibility[0]: min_age 30 is above max_age 20",
                "service[0] Bad Id: eligibility[0].roles:", "service[0] Bad Id: eligibility[0].districts:",
                "service[1] ok: contact.web: must be an https:// address",
                "service: the directory needs an emergency service"]
    for prefix in expected:
        assert any(e.startswith(prefix) for e in errors), (prefix, errors)


def test_a_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[[service]]\nid = \n", encoding="utf-8")
    with pytest.raises(DirectoryInvalid, match="line 2"):
        directory.read_file(bad)


def test_json_directories_are_read_too(tmp_path: Path) -> None:
    import json
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"service": SEED.documents()}), encoding="utf-8")
    assert directory.parse(directory.read_file(path)).services == SEED.services


@pytest.mark.parametrize("age,municipality", [(16, "0182"), (19, "0182"), (16, "0180"), (25, "0120")])
def test_for_uses_violence_perpetrator_programmes_then_counselling_lead(age: int, municipality: str) -> None:
    q = rules.Query(age=age, role="uses_violence", municipality=municipality)
    kinds = [m.service.kind for m in rules.suggest(SEED, q)]
    leading = [k for k in kinds if k in ("perpetrator_programme", "counselling")]
    assert leading and kinds[:len(leading)] == leading, kinds
    assert leading == sorted(leading, key=("perpetrator_programme", "counselling").index)
    exposed = [m.service.kind for m in rules.suggest(SEED, rules.Query(age=age, role="exposed",
                                                                       municipality=municipality))]
    assert "perpetrator_programme" not in exposed


def test_acute_danger_still_puts_112_before_the_perpetrator_programme() -> None:
    q = rules.Query(age=19, role="uses_violence", municipality="0182", acute=True)
    assert rules.suggest(SEED, q)[0].service.kind == "emergency"
