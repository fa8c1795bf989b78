"""Which other towns and countries a question names (GeoNames data, offline)."""

from __future__ import annotations

import pytest

from assistant.answer.places import gazetteer, mentions, other_places


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("what year is vantaa aiming to be carbon neutral", ["Vantaa"]),
        ("whats tampere's household waste recycling rate", ["Tampere"]),
        ("What are Helsinki’s own climate targets for 2035?", ["Helsinki"]),
        ("Did Oslo or Stockholm cut emissions more?", ["Oslo", "Stockholm"]),
        ("what is the capital of australia", ["Australia"]),
        ("how green is new york city", ["New York City"]),
    ],
)
def test_names_other_places(question: str, places: list[str]) -> None:
    assert other_places(question) == places


@pytest.mark.parametrize(
    "question",
    [
        "why does espoo have bigger carbon sinks than helsinki or vantaa",  # names Espoo
        "sewage plant near espoon keskus",  # Espoo in Finnish
        "when is the rail link between leppävaara and kauklahti ready",  # Espoo's own districts
        "is matinkylä getting a new library",
        "are people in the helsinki area recycling enough",  # a region that includes Espoo
        "do homes in the helsinki capital region sort their biowaste",
        "which companies in finland are in the innovation garden",  # Finland contains Espoo
        "when does the metro extension open",  # words that are also small towns abroad
        "how much of the city is forest",
        "when did the city get the eu mission label",
        "is the strategy taught at a university",
        "what time of year do the birds nest",
    ],
)
def test_espoo_its_districts_regions_and_common_words_are_not_elsewhere(question: str) -> None:
    assert other_places(question) == []


@pytest.mark.parametrize(
    ("question", "language", "elsewhere"),
    [
        ("paljonko kotitaloudet kierrättävät helsingin seudulla", "fi", []),  # the region
        ("helsingin seudun liikenteen sähköbussit", "fi", []),  # Helsinki Region Transport
        ("mikä on helsingin ilmastotavoite", "fi", ["Helsinki"]),  # the city itself
        ("hur mycket återvinner hushållen i helsingfors huvudstadsregion", "sv", []),
        ("när blir helsingfors kolneutralt", "sv", ["Helsingfors"]),
    ],
)
def test_a_region_named_after_a_city_in_finnish_or_swedish_is_not_that_city(
    question: str, language: str, elsewhere: list[str]
) -> None:
    assert other_places(question, language) == elsewhere


def test_gazetteer_holds_neighbours_and_cities_abroad_but_not_espoo() -> None:
    places = gazetteer()
    assert {"helsinki", "vantaa", "tampere", "stockholm", "tallinn"} <= places.keys()
    assert not {"espoo", "leppävaara", "matinkylä", "finland", "metro"} & places.keys()


def test_mentions_whole_words_only() -> None:
    assert mentions("compared with Helsinki, Vantaa and Kauniainen", "Vantaa")
    assert mentions("the Helsinki-Uusimaa Regional Council", "Helsinki")
    assert not mentions("Helsinkian", "Helsinki")


def test_a_region_named_after_a_city_is_not_that_city() -> None:
    strategy = "Espoo committed to the Helsinki Metropolitan Area climate strategy 2030"
    assert not mentions(strategy, "Helsinki")
    assert not mentions("in the Helsinki region", "Helsinki")
    assert not mentions("households in the Helsinki capital region", "Helsinki")
    assert mentions("the Helsinki region, and Helsinki itself, aim for 2030", "Helsinki")


@pytest.mark.parametrize(
    ("question", "language", "places"),
    [
        ("milloin vantaalla on hiilineutraali", "fi", ["Vantaa"]),
        ("Mikä on Helsingin ilmastotavoite?", "fi", ["Helsinki"]),
        ("paljonko tampereella kierrätetään", "fi", ["Tampere"]),
        ("När ska Vanda bli koldioxidneutralt?", "sv", ["Vanda"]),
        ("Vilka klimatmål har Helsingfors?", "sv", ["Helsingfors"]),
        ("Hur mycket återvinns i Åbo?", "sv", ["Åbo"]),
    ],
)
def test_names_other_finnish_cities_in_finnish_and_swedish(
    question: str, language: str, places: list[str]
) -> None:
    assert other_places(question, language) == places


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("miksi espoolla on isommat hiilinielut kuin helsingillä", "fi"),  # names Espoo
        ("Varför har Esbo större kolsänkor än Helsingfors?", "sv"),  # Espoo in Swedish
        ("onko asuminen kallista", "fi"),  # "kallis" is not Kallio, a district of Helsinki
        ("kuinka paljon pyöräteitä on", "fi"),
        ("Hur många cykelvägar finns det?", "sv"),
    ],
)
def test_espoo_and_common_words_are_not_elsewhere_in_finnish_and_swedish(
    question: str, language: str
) -> None:
    assert other_places(question, language) == []


def test_a_swedish_genitive_names_the_place() -> None:
    assert other_places("Hur stora var Stockholms utsläpp per invånare?", "sv") == ["Stockholm"]
    assert other_places("Hur stora var Stockholms utsläpp per invånare?", "en") == []
    assert other_places("Hur stora är Esbos utsläpp?", "sv") == []  # Espoo itself
