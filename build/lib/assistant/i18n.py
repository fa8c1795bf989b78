"""Messages in the city's three languages, from one gettext catalogue per language.

Every string a resident reads (the answer stage's refusals and notes, the chat, the widget, the
embed page) has an English message id and a translation in ``locales/<lang>.po`` (gettext PO,
read with Babel at first use; no compile step). ``translate("fi", "Hello {name}", name=...)``
returns the Finnish text with the values filled in, or the English id when a translation is
missing. ``negotiate`` picks the interface language from a ``?lang=`` value and the browser's
``Accept-Language`` header. ``N_("...")`` marks a message kept in a constant (translated where it
is shown); ``messages`` is a language's catalogue as the web pages' scripts receive it.

Message ids are found in the code by ``tests/test_i18n.py``: the second argument of
``translate(language, "...")`` and the argument of ``N_("...")`` in Python, ``t("...")`` in the
web layer's JavaScript and HTML templates. Each must have a Finnish and a Swedish translation.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from .text import LANGUAGES

#: The interface's default language when nothing else says which.
DEFAULT_LANGUAGE = "en"
#: Each language's name in itself, for a language switch.
NATIVE_NAMES = {"en": "English", "fi": "Suomi", "sv": "Svenska"}


@lru_cache(maxsize=len(LANGUAGES))
def catalogue(language: str) -> dict[str, str]:
    """Message id -> translation for ``language`` (empty for English and unknown languages)."""
    if language not in LANGUAGES or language == DEFAULT_LANGUAGE:
        return {}
    from babel.messages.pofile import read_po

    with files("assistant").joinpath("locales", f"{language}.po").open("rb") as fh:
        po = read_po(fh, locale=language)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


def N_(message: str) -> str:
    """``message`` unchanged: marks an English message id kept in a constant for the catalogue."""
    return message


def messages(language: str) -> dict[str, str]:
    """A copy of ``language``'s catalogue (message id -> translation; empty for English), for a
    page's script to translate with."""
    return dict(catalogue(language))


def supported(code: str) -> bool:
    """Whether ``code`` is exactly one of the interface languages ("fi", "sv", "en")."""
    return code in LANGUAGES


def translate(language: str, message: str, **values: object) -> str:
    """``message`` in ``language`` with ``{name}`` placeholders filled from ``values``."""
    text = catalogue(language).get(message, message)
    return text.format(**values) if values else text


def negotiate(requested: str = "", accept_language: str = "") -> str:
    """The interface language: ``requested`` ("fi", "sv-FI"...) when supported, else the first
    supported language of an ``Accept-Language`` header by its q-values, else English."""
    code = requested.strip().lower()[:2]
    if code in LANGUAGES:
        return code
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        base = tag.strip().lower()[:2]
        if base in LANGUAGES and quality > 0:
            ranked.append((-quality, position, base))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
