"""Assembly: settings -> embedder -> index -> retriever -> Assistant (shared by the CLI and app)."""

from __future__ import annotations

from ..config import Settings
from ..embed.base import Embedder
from ..embed.factory import embedder_for
from ..index.factory import load_live_index
from ..index.store import IndexVersion
from .assistant import Assistant
from .retrieval import Retriever
from .scorer import Scorer
from .tuning import DEFAULT, Tuning


def create_assistant(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    version: IndexVersion | None = None,
    tuning: Tuning = DEFAULT,
    scorer: Scorer | None = None,
) -> Assistant:
    """An Assistant over the live index, with the language model when one is configured;
    ``tuning`` holds the answer path's numbers, ``scorer`` the weights (default: the encoder's)."""
    embedder = embedder or embedder_for(settings)
    version = version or load_live_index(settings)
    generator = None
    if settings.llm_enabled:
        from .generation import OpenAICompatibleGenerator

        generator = OpenAICompatibleGenerator(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout,
        )
    retriever = Retriever(embedder, tuning=tuning)
    return Assistant(settings, version, retriever, generator=generator, scorer=scorer)
