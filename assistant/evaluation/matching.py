"""Matching: whether a text states one of a question's expected answers, in any of the three
languages' ways of writing numbers and dates.

An answer from a Finnish or Swedish passage writes "9,02 tonnia", "400 000 asukasta" or "12.
elokuuta 2015" where an English one writes "9.02 tonnes", "400,000 residents" or "12 August
2015". Both the text and the expected strings are brought to one form before the substring
test: thousands separators dropped, the decimal comma made a point, a day's ordinal point
dropped, a percentage written "%" in any language and case ("35 prosenttiin", "35 procent",
"35 per cent"), and Finnish and Swedish month names (in any case ending) made English. A number
in an expected string matches a whole number of the text only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: English month names, and the Finnish ("elo" of "elokuuta", "elokuussa") and Swedish ones.
_MONTHS = "january february march april may june july august september october november december"
_ENGLISH = _MONTHS.split()
_FINNISH = "tammi helmi maalis huhti touko kesä heinä elo syys loka marras joulu".split()
_SWEDISH = "januari februari mars april maj juni juli augusti september oktober november december"
_SWEDISH_MONTHS = _SWEDISH.split()
_MONTH_NAME = re.compile(
    r"\b(?:(?P<fi>" + "|".join(_FINNISH) + r")kuu\w*|(?P<sv>" + "|".join(_SWEDISH_MONTHS) + r"))\b"
)
#: A separator between thousands: "400 000", "1,500", "1.100" (not "9,02" or "2019, 2020").
_THOUSANDS = re.compile(r"(?<=\d)[ \u00a0\u202f,.](?=\d{3}(?!\d))")
_DECIMAL_COMMA = re.compile(r"(?<=\d),(?=\d)")
_DAY_POINT = re.compile(r"\b(\d{1,2})\.(?=\s)")
#: A percentage in words after its number: "80 percent", "80 per cent", "80 prosenttia" (and
#: "prosenttiin", "prosentin"...), "80 procent"; not percentage points ("prosenttiyksikköä",
#: "procentenheter").
_PERCENT = re.compile(r"(?<=\d)\s?(?:%|per ?cent\b|prosent(?!tiyksik)\w*|procent(?!enhet)\w*)")


def _month(match: re.Match[str]) -> str:
    if match["fi"]:
        return _ENGLISH[_FINNISH.index(match["fi"])]
    return _ENGLISH[_SWEDISH_MONTHS.index(match["sv"])]


def normalise(text: str, *, numbers: bool = True) -> str:
    """``text`` casefolded, with its month names (and, with ``numbers``, its numbers) in one
    form."""
    text = _DAY_POINT.sub(r"\1", text.casefold())
    if numbers:
        text = _PERCENT.sub("%", _DECIMAL_COMMA.sub(".", _THOUSANDS.sub("", text)))
    return _MONTH_NAME.sub(_month, text)


def _found(expected: str, text: str) -> bool:
    """Whether ``expected`` is in ``text`` with its numbers whole: "400" is not found in
    "4000", nor "20" in "2030"."""
    core = expected.strip()
    before = r"(?<!\d)" if core[:1].isdigit() else ""
    after = r"(?!\d)" if core[-1:].isdigit() else ""
    return bool(core) and re.search(before + re.escape(core) + after, text) is not None


def states_any(text: str, expected: Iterable[str]) -> bool:
    """Whether ``text`` holds one of the ``expected`` strings: as written ("472" in "472 000
    asukasta"), or with both in ``normalise``'s form ("400,000" in "400 000 invånare")."""
    full, words = normalise(text), normalise(text, numbers=False)
    return any(
        _found(normalise(e), full) or _found(normalise(e, numbers=False), words) for e in expected
    )
