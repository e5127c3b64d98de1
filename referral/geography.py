"""Where a visitor may say they live: municipalities (SCB codes) and districts.

A district is a fixed id from this table, never free text, so nothing a visitor
types can reach the record through it. Stockholm's districts are its thirteen
stadsdelsområden (since 2020).
"""

from __future__ import annotations

# SCB municipality codes of Stockholm County, name in Swedish.
MUNICIPALITIES: dict[str, str] = {
    "0114": "Upplands Väsby", "0115": "Vallentuna", "0117": "Österåker", "0120": "Värmdö",
    "0123": "Järfälla", "0125": "Ekerö", "0126": "Huddinge", "0127": "Botkyrka",
    "0128": "Salem", "0136": "Haninge", "0138": "Tyresö", "0139": "Upplands-Bro",
    "0140": "Nykvarn", "0160": "Täby", "0162": "Danderyd", "0163": "Sollentuna",
    "0180": "Stockholm", "0181": "Södertälje", "0182": "Nacka", "0183": "Sundbyberg",
    "0184": "Solna", "0186": "Lidingö", "0187": "Vaxholm", "0188": "Norrtälje",
    "0191": "Sigtuna", "0192": "Nynäshamn",
}

DISTRICTS: dict[str, dict[str, str]] = {
    "0180": {
        "bromma": "Bromma",
        "enskede-arsta-vantor": "Enskede-Årsta-Vantör",
        "farsta": "Farsta",
        "hagersten-alvsjo": "Hägersten-Älvsjö",
        "hasselby-vallingby": "Hässelby-Vällingby",
        "kungsholmen": "Kungsholmen",
        "norrmalm": "Norrmalm",
        "rinkeby-kista": "Rinkeby-Kista",
        "skarpnack": "Skarpnäck",
        "skarholmen": "Skärholmen",
        "spanga-tensta": "Spånga-Tensta",
        "sodermalm": "Södermalm",
        "ostermalm": "Östermalm",
    },
}

OTHER_MUNICIPALITY = "other"  # lives outside the listed municipalities

# Swedish alphabetical order: å, ä, ö come after z, in that order.
_SV_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}"})


def by_name(table: dict[str, str]) -> list[tuple[str, str]]:
    """A table's (id, name) pairs in Swedish alphabetical order of the names."""
    return sorted(table.items(), key=lambda item: item[1].lower().translate(_SV_ORDER))


def valid_municipality(code: str) -> bool:
    return code in MUNICIPALITIES or code == OTHER_MUNICIPALITY


def valid_district(municipality: str | None, district: str) -> bool:
    return municipality is not None and district in DISTRICTS.get(municipality, {})


def known_district(district: str) -> bool:
    return any(district in districts for districts in DISTRICTS.values())


def consistent(municipality: str | None, district: str | None) -> str | None:
    """The district if it lies in the municipality, else None."""
    return district if district and valid_district(municipality, district) else None
