"""Every word of every vocabulary has a Swedish and an English label, and nothing else has one."""

from __future__ import annotations

from referral import geography, labels, vocab


def test_every_word_has_both_labels_and_no_label_names_a_word_that_is_not() -> None:
    assert set(labels.LABELS) == set(labels.WORDS)
    for name, words in labels.WORDS.items():
        assert set(labels.LABELS[name]) == set(words), name
        for word, (sv, en) in labels.LABELS[name].items():
            assert sv.strip() and en.strip(), (name, word)


def test_the_document_lists_each_vocabulary_in_its_own_order_with_both_labels() -> None:
    doc = labels.document()
    lists = doc["vocabularies"]
    assert isinstance(lists, dict)
    assert [e["value"] for e in lists["role"]] == list(vocab.ROLES)
    assert [e["value"] for e in lists["service_kind"]] == list(vocab.SERVICE_KINDS)
    assert lists["gender"][0] == {"value": "girl", "sv": "tjej", "en": "girl"}
    assert {"value": "honour", "sv": "hedersrelaterat", "en": "honour-related"} in lists["violence"]


def test_places_come_by_name_in_swedish_order_with_other_last() -> None:
    doc = labels.document()
    municipalities = doc["vocabularies"]["municipality"]  # type: ignore[index]
    codes = [e["value"] for e in municipalities]
    assert set(codes) == {*geography.MUNICIPALITIES, geography.OTHER_MUNICIPALITY}
    assert codes[-1] == "other" and municipalities[-1]["sv"] == "annan kommun"
    names = [e["sv"] for e in municipalities[:-1]]
    assert names[0] == "Botkyrka"
    assert names.index("Vaxholm") < names.index("Värmdö") < names.index("Österåker") == len(names) - 1
    districts = doc["districts"]
    assert isinstance(districts, dict) and set(districts) == set(geography.DISTRICTS)
    stockholm = [e["sv"] for e in districts["0180"]]
    assert stockholm[0] == "Bromma" and stockholm[-1] == "Östermalm" and "Södermalm" in stockholm
