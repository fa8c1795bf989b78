"""Topics: what the indexed documents are about, for refusals and the chat's about panel.

A document's front matter lists its ``topics`` in lower case ("espoo story", "käringmossen"). A
topic is shown with the capitals the documents' titles give its words ("Espoo Story",
"Käringmossen"): a word the titles capitalise more often than not, away from the start of a title
or of one of its parts (where every word is capitalised).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ..index.store import IndexVersion

#: A word of letters (a topic's "espoo-tarina" is two).
_WORD = re.compile(r"[^\W\d_]+")
#: Where a title's parts begin: "Espoo-tarina 2025–2029: Espoo – lasten ja nuorten pääkaupunki".
_PARTS = re.compile(r"[:–—|(]")


def covered_topics(version: IndexVersion, limit: int = 6, *, language: str = "") -> list[str]:
    """The most common topic tags of the indexed documents; with ``language``, of the documents
    in that language when there are any."""
    documents = list(version.manifest.documents.values())
    own = [d for d in documents if d.get("language", "en") == language] or documents
    counts: Counter[str] = Counter()
    for doc in own:
        counts.update(str(t).lower() for t in doc.get("topics", []))
    capitals = capitalised(str(d.get("title", "")) for d in documents)
    return [
        _WORD.sub(lambda m: capitals.get(m.group(), m.group()), t)
        for t, _ in counts.most_common(limit)
    ]


def capitalised(titles: Iterable[str]) -> dict[str, str]:
    """The words that ``titles`` capitalise more often than not where capitals are not a matter
    of position: lower case -> the titles' spelling."""
    seen: dict[str, Counter[str]] = {}
    for title in titles:
        for part in _PARTS.split(title):
            for word in list(_WORD.finditer(part))[1:]:
                seen.setdefault(word.group().lower(), Counter())[word.group()] += 1
    out = {}
    for lower, forms in seen.items():
        spelling, n = forms.most_common(1)[0]
        if spelling != lower and n > forms[lower]:
            out[lower] = spelling
    return out
