"""Topics: what the indexed documents are about, for refusals and the chat's about panel.

A document's front matter lists its ``topics`` in lower case ("espoo story", "käringmossen"). A
topic is shown with the capitals the documents' titles give its words ("Espoo Story",
"Käringmossen"): a word the titles capitalise more often than not, away from the start of a title
or of one of its parts (where every word is capitalised). A one-word topic counts only the capitals
it has on its own: "innovation" stays lower case although "Espoo Innovation Garden" is a title.
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
    titles = [str(d.get("title", "")) for d in documents]
    in_names, alone = capitalised(titles), capitalised(titles, alone=True)

    def spelled(topic: str) -> str:
        # a one-word topic is capitalised where the titles capitalise it on its own:
        # "Käringmossen", but "innovation" (its capital is "Espoo Innovation Garden"'s)
        capitals = alone if len(_WORD.findall(topic)) == 1 else in_names
        return _WORD.sub(lambda m: capitals.get(m.group(), m.group()), topic)

    return [spelled(t) for t, _ in counts.most_common(limit)]


def capitalised(titles: Iterable[str], *, alone: bool = False) -> dict[str, str]:
    """The words that ``titles`` capitalise more often than not where capitals are not a matter
    of position: lower case -> the titles' spelling. With ``alone``, an initial capital beside
    another capitalised word (part of a longer name, "Espoo Innovation Garden") does not count;
    an acronym's capitals ("YK") always do."""
    seen: dict[str, Counter[str]] = {}
    for title in titles:
        for part in _PARTS.split(title):
            words = [w.group() for w in _WORD.finditer(part)]
            for i in range(1, len(words)):
                word = words[i]
                beside = words[i - 1 : i] + words[i + 1 : i + 2]
                if alone and word.istitle() and any(w[0].isupper() for w in beside):
                    continue
                seen.setdefault(word.lower(), Counter())[word] += 1
    out = {}
    for lower, forms in seen.items():
        spelling, n = forms.most_common(1)[0]
        if spelling != lower and n > forms[lower]:
            out[lower] = spelling
    return out
