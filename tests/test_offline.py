"""Offline by default: model loads never open a network connection, whatever the env says."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.embeddings import SentenceTransformerEmbedder
from assistant.errors import EmbeddingError
from assistant.onnx_backend import OnnxEmbedder


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every outgoing connection attempt is recorded and refused; hub offline flags are turned off,
    so only the code's own ``local_files_only`` can keep a load from reaching the network."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access attempted in an offline test")

    def refuse_lookup(host: object, *args: object, **kwargs: object) -> list[object]:
        attempts.append(host)
        raise socket.gaierror("name lookup attempted in an offline test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse_lookup)
    import huggingface_hub.constants as hub

    monkeypatch.setattr(hub, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    yield attempts


def test_default_model_loads_and_encodes_without_network(no_network: list[object]) -> None:
    embedder = SentenceTransformerEmbedder()  # a fresh load, not the session's cached model
    vectors = embedder.encode(["When will Espoo be carbon neutral?"])
    assert vectors.shape == (1, 384)
    assert no_network == []


def test_a_model_name_that_is_not_local_fails_clearly_without_downloading(
    no_network: list[object],
) -> None:
    embedder = SentenceTransformerEmbedder("sentence-transformers/not-a-local-model-xyz")
    with pytest.raises(EmbeddingError, match="nothing is downloaded"):
        embedder.encode(["hello"])
    assert no_network == [], "the load tried to reach a model hub"


def test_onnx_export_uses_only_the_bundled_model(no_network: list[object], tmp_path: Path) -> None:
    vectors = OnnxEmbedder(cache_dir=tmp_path).encode(["Espoo city bikes", "Jokeri light rail"])
    assert vectors.shape == (2, 384)
    assert no_network == []


@pytest.mark.parametrize(
    "first_import",
    ["import assistant.embeddings", "import assistant.server", "import assistant.ui"],
)
def test_offline_flags_are_set_whatever_is_imported_first(first_import: str) -> None:
    """huggingface_hub and gradio read these at import time: the package must set them first."""
    code = (
        f"{first_import}\n"
        "import os, huggingface_hub.constants as hub\n"
        "assert hub.HF_HUB_OFFLINE is True, 'hub is online'\n"
        "assert os.environ['GRADIO_ANALYTICS_ENABLED'] == 'False'\n"
    )
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "GRADIO_ANALYTICS_ENABLED")
    }
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_model_name_that_is_not_local_fails_clearly_on_the_default_backend(
    no_network: list[object], tmp_path: Path
) -> None:
    embedder = OnnxEmbedder("sentence-transformers/not-a-local-model-xyz", cache_dir=tmp_path)
    with pytest.raises(EmbeddingError, match="nothing is downloaded"):
        embedder.encode(["hello"])
    assert no_network == [], "the load tried to reach a model hub"


#: Calls that fetch a model from a hub unless told to stay on disk.
_MODEL_LOADERS = {"SentenceTransformer", "CrossEncoder", "HuggingFaceEmbedding", "from_pretrained"}


def test_every_model_load_in_the_code_stays_on_disk() -> None:
    """Static guard: each model-loading call in the package, app and benches passes
    ``local_files_only=True`` (the env flags alone can be overridden by a caller)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    files = [root / "app.py", *(root / "assistant").glob("*.py"), *(root / "bench").glob("*.py")]
    loads, offenders = 0, []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in _MODEL_LOADERS:
                continue
            loads += 1
            local = [
                k
                for k in node.keywords
                if k.arg == "local_files_only"
                and isinstance(k.value, ast.Constant)
                and k.value.value is True
            ]
            if not local:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert loads >= 3, "the guard found no model loads: it is looking in the wrong place"
    assert offenders == [], f"model loads that may download: {offenders}"
