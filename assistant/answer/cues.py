"""Cues in the wording: what kind of answer a question asks for, whether it asks about now,
which year a sentence reports on, whether it marks itself as superseded, and what an email or
web address in a text stands for (pure functions on text).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from ..text import DIGITS, WORD, YEAR, content_terms, either_spelling, tokenize, years
from .places import HOME

_LATEST = re.compile(
    r"\b(now|currently|current|latest|today|these days|nowadays|still|most recent|newest|"
    r"recent|recently|this year|at the moment|anymore|present|"
    # Finnish and Swedish
    r"nyt|nykyään|nykyisin|tällä hetkellä|tänä vuonna|uusin|uusimman|uusimpi|viimeisin|"
    r"viimeisimmän|edelleen|yhä|nu|just nu|numera|för närvarande|i år|senaste|nyaste|"
    r"fortfarande|idag|i dag)\b",
    re.I,
)
_STALE = re.compile(
    r"\b((an|the|that|same|in)\s+(older|earlier)(?!\s+than)|previous|former|formerly|originally|"
    r"superseded|was to be|were to be|at that time|at the time(?!\s+of)|still said|used to|"
    # Finnish and Swedish: "at first", "was meant to", "the then ...", "an earlier / older ..."
    r"alun perin|oli tarkoitus|silloi\w+|ursprungligen|var tänkt|skulle ha|dåvarande|"
    r"aiemp(i|a\w*)|aiemm(?!in\b)\w+|aikaisemp(i|a\w*)|aikaisemm(?!in\b)\w+|"
    r"(en|ett|den|det|de|samma|\w+s)\s+(äldre|tidigare)(?!\s+än))\b",
    re.I,
)
_MONTHS = (
    r"(january|february|march|april|may|june|july|august|september|october|november|"
    r"december|spring|summer|autumn|winter|"
    r"(tammi|helmi|maalis|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu)kuu\w*|"
    r"kevä\w+|kesällä|syksy\w*|talve\w+|talvi|"
    r"januari|februari|mars|maj|juni|juli|augusti|oktober|"
    r"våren|sommaren|sommar|hösten|höst|vintern|vinter)"
)
#: What a date and a quantity (a number that is neither a bare year nor a date's day, an amount of
#: money too) look like.
#: They are exact: a sentence without one does not state one (names and places are recognised
#: by their capitals only, which misses "west of Espoo Centre").
DATE_SHAPE = re.compile(rf"{YEAR.pattern}|\b{_MONTHS}\b", re.I)
QUANTITY_SHAPE = re.compile(
    # not a bare year, nor the day of a date ("12 August", "12. elokuuta", "12 augusti")
    rf"(?<![\d,.])(?!(?:19|20)\d\d(?![\d,.]\d))(?!\d[\d,.]*\s+{_MONTHS}\b)\d[\d,.]*"
    # or a number written as a word, from two up ("six Natura 2000 sites", "kuusi", "sex")
    r"|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"hundreds?|thousands?|dozens?|"
    # Finnish, inflected ("neljään periaatteeseen", "kolmea teemaa", "viidellä alueella")
    r"kaksi|kahde\w*|kahta|kahteen|kolme\w*|kolmea|neljä\w*|viisi|viide\w*|viittä|viiteen|"
    r"kuusi|kuude\w*|kuutta|kuuteen|seitsemä\w*|kahdeksa\w*|yhdeksä\w*|kymmene\w*|kymmentä|"
    r"kymmeniä|sata|sataa|satoja|"
    r"tuhat|tuhatta|tuhansia|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|tjugo|hundra|"
    r"tusen|tusentals)\b",
    re.I,
)
EXACT_SHAPES = (DATE_SHAPE, QUANTITY_SHAPE)
#: A question that asks what something costs ("what does it cost", "vad kostar", "paljonko se
#: maksoi", "the fee"), and an amount of money ("EUR 275 million", "15 €", "54 miljoonaa euroa").
#: Read by the answerability model only: "how much did the metro extension cost?" is not answered
#: by its 7 km and five stations (a sentence ranker that preferred amounts cited other things'
#: costs, row 129 of docs/evaluation.md).
_COST = re.compile(
    r"\b(cost\w*|price\w*|fee|fees|kosta\w*|kostnad\w*|avgift\w*|hinta\w*|hinnan|maksa\w*|"
    r"maksoi\w*|maksu\w*|kustannu\w*)\b",
    re.I,
)
MONEY_SHAPE = re.compile(r"€|\b(EUR|euros?|euro(a|n|ja|ina|issa|lla)|kronor)\b", re.I)
#: Units of measure a question may ask a figure in ("in tonnes", "tonneina", "i ton") and a
#: sentence may state one in, after its number and at most one word ("1.1 million tonnes", "6,1
#: tonnia", "108 ha"); one alternation per unit.
_UNITS = (
    r"tonn\w*|tons?|ton",
    r"km|kilomet\w*",
    r"ha|hectares?|hehtaari\w*|hektar\w*",
    r"MW|GW|MWh|GWh|megawat\w*|gigawat\w*",
)
_ASKS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(
            r"\b(when|what year|which year|since when|by when|how soon|what date|"
            r"(what|which) day(?!\s*care)|milloin|mihin mennessä|minä vuonna|mistä lähtien|"
            r"mikä vuosi|minkä vuoden|minä päivänä|mikä päivä|minkä päivän|när|vilket år|"
            r"sedan när|till när|vilket datum|vilken dag)\b|^\W*koska\b",
            re.I,
        ),
        DATE_SHAPE,
    ),
    (
        re.compile(
            r"\bhow (many|much|far|old|long|big|large|high|tall)\b|\b(what|which) "
            r"(percentage|share|proportion|amount|number)\b|\bper ?cent|"
            # Finnish inflects the word after "kuinka" ("kuinka suuren osan", "kuinka moni")
            r"\b(kuinka|miten) (mon|paljo|pit|suur|iso|korke|kauan|vanh|laaj)\w*|"
            r"\b(montako|moniko|monenko|monellako|paljonko|minkä verran|hur (många|mycket|"
            r"långt?|långa|stor|stort|stora|länge|gammal|hög|högt)|vilken andel|osuu\w*|"
            r"prosent\w*|procent\w*)\b",
            re.I,
        ),
        QUANTITY_SHAPE,
    ),
    (
        # A place: a capitalised name after "in", "at", "near"... other than the city itself
        # ("where in espoo did the trial begin?" is answered by "in Matinkylä and Olari").
        # "where" that asks (first, or last in a keyword query), not "a website where I can...".
        re.compile(
            r"^\W*((and|so|ok|okay|but|then|entä|ja|no|och|men)\W+)?"
            r"(where|missä|mihin|mistä|millä alueella|var|vart|varifrån)\b|\bwhere\W*$",
            re.I,
        ),
        re.compile(
            rf"\b(in|at|near|from|to|between|on|i|på|vid|från|till|mellan)\s+"
            rf"(?!(?:{HOME}|Esbo|Finland|Suomi|The|A|An)\b)[A-ZÅÄÖ][\w-]+"
            # a Finnish place in a local case ("Matinkylässä", "Otaniemestä"), not Espoo itself
            rf"|\b(?!(?:{HOME}|Suome))[A-ZÅÄÖ][\w-]+(ssa|ssä|sta|stä|lla|llä|lta|ltä)\b"
        ),
    ),
    (
        # A name: quoted, or after "called"/"named"/"titled"/"known as".
        re.compile(
            r"\b(called|named|titled|name of|nimeltään|niminen|nimi|nimeltä|heter|kallas|namn)\b",
            re.I,
        ),
        re.compile(
            r"[\"“”][^\"”]{3,80}[\"”]|\b(called|named|titled|known as|nimeltään|niminen|"
            r"kutsutaan|heter|kallas|kallad|kallat)\s+(the\s+)?[\"“”A-ZÅÄÖ]"
        ),
    ),
)
#: An address in a text stands for the word a resident asks with: "is there an email I can
#: write to?" is answered by "... at kestava@espoo.fi", which never says "email".
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_WEB = re.compile(
    r"\bhttps?://\S+|\bwww\.\S+|\b[\w-]+(\.[\w-]+)*\.(fi|com|org|net|eu|info)\b", re.I
)
_ADDRESS_WORDS = (
    (_EMAIL, tokenize("email e-mail")),
    (_WEB, tokenize("website web site webpage online link url")),
)


def words_of(text: str, language: str = "en") -> list[str]:
    """The stems of ``text``, plus the words its email or web address stands for."""
    found = tokenize(text, language)
    for address, implied in _ADDRESS_WORDS:
        if address.search(text):
            return found + implied
    return found


#: The question patterns also match without the Nordic letters' dots ("när" typed "nar").
_ASKED = tuple((either_spelling(asks), shape) for asks, shape in _ASKS)


def asked_kinds(question: str) -> list[re.Pattern[str]]:
    """The shapes of what ``question`` asks for (a date, a quantity, a name...)."""
    return [shape for asks, shape in _ASKED if asks.search(question)]


def answer_positions(text: str, kinds: tuple[re.Pattern[str], ...]) -> list[int]:
    """The positions (in ``WORD`` tokens) where ``text`` holds one of the ``kinds`` of answer."""
    starts = [m.start() for m in WORD.finditer(text)]
    return sorted(
        {max(bisect_right(starts, m.start()) - 1, 0) for k in kinds for m in k.finditer(text)}
    )


_LATEST = either_spelling(_LATEST)


#: The words that ask for a quantity ("how many", "montako", "hur många"...).
_QUANTITY_ASKS = _ASKED[1][0]
#: After a number, at most one word before the unit or the thing counted ("1.1 million tonnes",
#: "eight marked hiking trails", "107 city bike stations").
_THEN = r"\s*(\w+\s+)?"


def asks_cost(question: str) -> bool:
    """Whether a question asks what something costs (a price, a fee, a total cost)."""
    return bool(_COST.search(question))


def asked_units(question: str) -> tuple[str, ...]:
    """The units of measure ``question`` names (by a word: a question's "ha" is Swedish "have")."""
    return tuple(
        unit
        for unit in _UNITS
        if any(m.group().casefold() != "ha" for m in re.finditer(rf"\b({unit})\b", question, re.I))
    )


def states_in(text: str, units: tuple[str, ...]) -> bool:
    """Whether ``text`` states a number in one of ``units`` (``asked_units``)."""
    return any(re.search(rf"\d[\d,.]*{_THEN}({unit})\b", text, re.I) for unit in units)


def counted(question: str, language: str) -> str:
    """What a question asking for a quantity counts: the stem of the first topic word after the
    words that ask ("how many *visitors*", "montako *asemaa*", "hur många *elbussar*"); "" when
    it asks for none."""
    asks = _QUANTITY_ASKS.search(question)
    terms = content_terms(question[asks.end() :], language) if asks else []
    return terms[0] if terms else ""


def counts(text: str, stems_: frozenset[str]) -> bool:
    """Whether ``text`` states a quantity of the thing counted: a number followed, at most one
    word later, by a word with one of ``stems_`` (in any of the three languages)."""
    for number in QUANTITY_SHAPE.finditer(text):
        follow = re.match(rf"{_THEN}(\w+)", text[number.end() :])
        if follow is None:
            continue
        said = " ".join(g for g in follow.groups() if g)
        if any(stems_.intersection(tokenize(said, language)) for language in ("en", "fi", "sv")):
            return True
    return False


#: Words that ask for a figure without a quantity question's words: "what was the per-resident
#: figure", "hiilijalanjälki asukasta kohden", "siffran för".
_FIGURE = re.compile(
    r"\b(figures?|per[- ](resident|capita|person|head|inhabitant)|asukasta (kohden|kohti)|"
    r"asukaskohtai\w*|per (invånare|capita)|siffr\w*)\b",
    re.I,
)


def asks_figure(question: str) -> bool:
    """Whether a question asks for a figure: a quantity ("how many", "paljonko") or a rate or
    figure by name ("per resident", "the figure")."""
    return bool(_QUANTITY_ASKS.search(question) or _FIGURE.search(question))


def asks_for_latest(question: str) -> bool:
    """Whether a question asks for the current state ("now", "these days", "latest"...)."""
    return bool(_LATEST.search(question))


def without_time_cues(question: str) -> str:
    """``question`` without the words that ask for the current state: what the reader reads,
    since the answer path itself deals with when (newest first, the years noted). Read with
    "now", a reader refuses "how many city bikes are there now" for the newest figure, from 2019."""
    return " ".join(_LATEST.sub(" ", question).split()) or question


def statement_year(text: str, date: str) -> int:
    """The latest year a sentence reports on: the latest it names up to its document's year
    ("by 2030" in a 2024 document is a target, not news); 0 when it names none."""
    limit = int(date[:4]) if date[:4].isdigit() else 9999
    return max((y for y in years(text) if y <= limit), default=0)


def marked_superseded(text: str) -> bool:
    """Whether a text marks its statement as replaced ("the older programme", "was to be"); a
    text that sets the older statement against today's ("older material said 2050, while today
    the goal is 2030") states the current one."""
    return bool(_STALE.search(text)) and not _LATEST.search(text)


def latest_year(text: str) -> int:
    """The latest year ``text`` names (0 when none)."""
    return max(years(text), default=0)


def answer_values(text: str, wanted: Sequence[re.Pattern[str]]) -> set[str]:
    """The pieces of ``text`` that have a shape the question asks for (its years for "when",
    its numbers for "how many"), normalised; a piece with digits by its runs of digits, so
    that "EUR 400 million" and "400 miljoonaa euroa", or "311,900" and "311 900", give the
    same answer in any language."""
    found = [m.group() for shape in wanted for m in shape.finditer(text)]
    return {
        value
        for piece in found
        for value in (DIGITS.findall(piece) or [" ".join(piece.casefold().split())])
    }
