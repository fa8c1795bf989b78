"""Offline by default: model loads never open a network connection, whatever the env says."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.embed.onnxrt import OnnxEmbedder
from assistant.embed.sbert import SentenceTransformerEmbedder
from assistant.errors import EmbeddingError


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


@pytest.mark.slow
def test_onnx_export_uses_only_the_bundled_model(no_network: list[object], tmp_path: Path) -> None:
    vectors = OnnxEmbedder(cache_dir=tmp_path).encode(["Espoo city bikes", "Jokeri light rail"])
    assert vectors.shape == (2, 384)
    assert no_network == []


@pytest.mark.parametrize(
    "first_import",
    ["import assistant.embed.base", "import assistant.web.server", "import assistant.web.ui"],
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
    files = [root / "app.py", *(root / "assistant").rglob("*.py"), *(root / "bench").glob("*.py")]
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
    assert loads >= 2, "the guard found no model loads: it is looking in the wrong place"
    assert offenders == [], f"model loads that may download: {offenders}"


#: Functions whose only job is to fetch files from a model hub.
_HUB_FETCHERS = {"hf_hub_download", "snapshot_download", "cached_download", "from_pretrained"}


def test_the_package_calls_no_hub_loader() -> None:
    """The assistant itself reads model folders (config.json, weights, tokenizer.json) directly:
    no hub download or ``from_pretrained`` call exists in ``assistant/`` or ``app.py``."""
    import ast

    root = Path(__file__).resolve().parents[1]
    calls = []
    for path in [root / "app.py", *(root / "assistant").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in _HUB_FETCHERS:
                    calls.append(f"{path.relative_to(root)}:{node.lineno} {name}")
    assert calls == []


#: Runs the CLI with every outgoing internet connection refused and logged to $NET_LOG.
_GUARDED_CLI = """
import os, runpy, socket, sys

def refuse(self, address, *args):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        with open(os.environ["NET_LOG"], "a") as log:
            log.write(f"{address!r}\\n")
        raise OSError("network access in an offline run")
    return connect(self, address, *args)

connect = socket.socket.connect
socket.socket.connect = refuse
sys.argv = ["assistant", *sys.argv[1:]]
runpy.run_module("assistant", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_the_default_build_and_answer_work_from_the_bundled_model_alone(
    copy_documents, tmp_path: Path
) -> None:
    """A first run as on a fresh machine: empty hub cache, no ONNX export yet, the hub's
    offline flags turned off, and every internet connection refused. The default backend
    exports the bundled model, builds the index and answers, and nothing tries the network."""
    import os

    docs = copy_documents("espoo-carbon-neutrality-goal-2030.md", "jokeri-light-rail.md")
    log = tmp_path / "network.log"
    env = dict(
        os.environ,
        HF_HOME=str(tmp_path / "hub-cache"),
        HF_HUB_OFFLINE="0",
        TRANSFORMERS_OFFLINE="0",
        ASSISTANT_ONNX_CACHE=str(tmp_path / "onnx"),
        ASSISTANT_BACKEND="onnx",
        NET_LOG=str(log),
    )
    env.pop("ASSISTANT_MODEL", None)
    cli = [sys.executable, "-c", _GUARDED_CLI, f"--documents={docs}", f"--index={tmp_path / 'i'}"]
    built = subprocess.run([*cli, "build"], env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    assert (tmp_path / "onnx").is_dir(), "the run exported the bundled model itself"
    asked = subprocess.run(
        [*cli, "ask", "when will espoo be carbon neutral", "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert '"refused": false' in asked.stdout and "2030" in asked.stdout
    assert not log.exists(), f"network attempts: {log.read_text()}"
