"""Errors that speak to the user.

AssistantError                 base: message says what went wrong and what to do
├── ConfigError                a setting is missing or invalid
├── DocumentsError             the documents folder is missing or holds no usable document
├── IndexError_                the index is missing, damaged, or built with another model/format
├── EmbeddingError             the embedding model cannot be loaded
└── GenerationError            the optional language model failed (the caller falls back)

The CLI prints ``str(error)`` as one sentence and exits non-zero; the API maps them to JSON errors.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: the message is shown to the user as is."""


class ConfigError(AssistantError):
    """A setting is missing or has an invalid value."""


class DocumentsError(AssistantError):
    """The documents folder is missing or contains no usable document."""


class IndexError_(AssistantError):  # noqa: N801 - avoid shadowing the builtin IndexError
    """The index is missing, damaged, or was built with another model or format."""


class IndexMissingError(IndexError_):
    """No index has been built yet in the index folder."""


class IndexIncompatibleError(IndexError_):
    """The index was built with another model, chunking settings or format version."""


class EmbeddingError(AssistantError):
    """The embedding model could not be loaded or used."""


class GenerationError(AssistantError):
    """The optional language model failed; callers fall back to the extractive answer."""
