"""The command line: exit codes, JSON output and one-sentence errors (click.testing.CliRunner)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result
from conftest import DOCUMENTS, ROOT, DefaultIndex, FakeEmbedder, copy_default_documents
from test_documents import make_pdf

import assistant.answer.factory
import assistant.embed.base
import assistant.embed.factory
from assistant.answer.weights import SCORERS
from assistant.cli import cli
from assistant.config import DEFAULT_MODEL, Settings
from assistant.embed.base import Embedder
from assistant.index.build import build_index
from assistant.index.store import POINTER, VECTORS

BUILD_KEYS = {
    "documents",
    "added",
    "changed",
    "removed",
    "unchanged",
    "skipped",
    "chunks",
    "chunks_embedded",
    "seconds",
}
STATUS_KEYS = {"documents", "chunks", "model", "index_version", "last_build", "changed_since"}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's ASSISTANT_* variables must not leak into CLI tests."""
    import os

    for name in [
        n for n in os.environ if n.startswith("ASSISTANT_") and n != "ASSISTANT_ONNX_CACHE"
    ]:
        monkeypatch.delenv(name)


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., Result]:
    """``run(*args, documents=..., index=..., env=...)``: invoke the CLI on tmp folders."""

    def invoke(
        *args: str,
        documents: Path | None = None,
        index: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> Result:
        options = [
            "--documents",
            str(documents or tmp_path / "docs"),
            "--index",
            str(index or tmp_path / "index"),
        ]
        return CliRunner(env=env).invoke(cli, [*options, *args])

    return invoke


@pytest.fixture
def session_model(monkeypatch: pytest.MonkeyPatch, embedder: Embedder) -> None:
    """Let CLI commands use the session's already-loaded default model (other names load anew)."""
    real = assistant.embed.factory.create_embedder
    loaded = {"onnx": embedder}

    def create(model: str = DEFAULT_MODEL, backend: str = "onnx", **options: Any) -> Embedder:
        if model == DEFAULT_MODEL and backend in loaded:
            return loaded[backend]
        return real(model, backend, **options)

    monkeypatch.setattr(assistant.embed.factory, "create_embedder", create)


def assert_clean_error(result: Result, *fragments: str) -> str:
    """Non-zero exit, no traceback, and exactly one ``Error: ...`` line holding ``fragments``."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert message.startswith("Error: ")
    for fragment in fragments:
        assert fragment in message, message
    assert result.stdout == ""
    return message


def small_index(docs: Path, index: Path, embedder: Embedder, *names: str) -> None:
    copy_default_documents(docs, *names)
    build_index(
        documents_dir=docs, index_dir=index, embedder=embedder, chunk_size=600, chunk_overlap=1
    )


# --- help ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_commands(flag: str) -> None:
    result = CliRunner().invoke(cli, [flag])

    assert result.exit_code == 0
    assert "Usage:" in result.output
    for command in ("build", "search", "status", "ask", "serve"):
        assert command in result.output


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("build", ["--full", "--json"]),
        ("search", ["-k", "--mode", "--json"]),
        ("status", ["--json"]),
    ],
)
def test_command_help_lists_its_options(command: str, options: list[str]) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])

    assert result.exit_code == 0
    for option in options:
        assert option in result.output


def test_python_m_assistant_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout and "build" in result.stdout
    assert "Traceback" not in result.stderr


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from assistant.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "heavy = ('torch', 'faiss', 'sentence_transformers', 'gradio', 'transformers')\n"
        "print(result.exit_code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )

    assert result.stdout.strip() == "0 []", result.stderr


# --- build ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_build_json_reports_what_it_did(run: Callable[..., Result], tmp_path: Path) -> None:
    """The one test that lets the CLI load the real model itself."""
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md", "jokeri-light-rail.md")
    (docs / "empty.txt").write_bytes(b"")
    (docs / "notes.docx").write_bytes(b"PK\x03\x04 word")
    (docs / "truncated.pdf").write_bytes(make_pdf()[:300])

    result = run("build", "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data, dict) and BUILD_KEYS <= set(data)
    assert (data["documents"], data["added"], data["changed"], data["removed"]) == (2, 2, 0, 0)
    assert data["unchanged"] == 0
    assert data["chunks"] == data["chunks_embedded"] > 2
    assert isinstance(data["seconds"], float) and data["seconds"] >= 0
    assert all(set(s) == {"path", "reason"} for s in data["skipped"])
    reasons = {s["path"]: s["reason"] for s in data["skipped"]}
    assert set(reasons) == {"empty.txt", "notes.docx", "truncated.pdf"}
    assert reasons["empty.txt"] == "the file is empty"
    assert reasons["notes.docx"] == "unsupported file type '.docx'"
    assert "damaged PDF" in reasons["truncated.pdf"]
    assert (tmp_path / "index" / POINTER).read_text().strip() == data["version"]


@pytest.mark.usefixtures("session_model")
@pytest.mark.slow
def test_build_json_again_is_incremental(
    run: Callable[..., Result], tmp_path: Path, embedder: Embedder
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    small_index(docs, index, embedder, "city-bikes.md", "jokeri-light-rail.md")

    unchanged = json.loads(run("build", "--json").stdout)
    copy_default_documents(docs, "waste-management-ammassuo.md")
    (docs / "city-bikes.md").unlink()
    changed = json.loads(run("build", "--json").stdout)

    assert (unchanged["unchanged"], unchanged["chunks_embedded"], unchanged["skipped"]) == (
        2,
        0,
        [],
    )
    assert (changed["added"], changed["removed"], changed["unchanged"]) == (1, 1, 1)
    assert 0 < changed["chunks_embedded"] < changed["chunks"]


def test_build_text_output_summarises_and_lists_skipped_files(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        assistant.embed.factory,
        "create_embedder",
        lambda model, backend="onnx", **_: FakeEmbedder(model),
    )
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md")
    (docs / "empty.md").write_bytes(b"")

    result = run("build")

    assert result.exit_code == 0, result.output
    assert "1 documents" in result.stdout and "1 added" in result.stdout
    assert "Skipped empty.md: the file is empty" in result.stderr


def test_ctrl_c_during_a_build_exits_130_and_keeps_the_index(
    run: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    fake = FakeEmbedder(DEFAULT_MODEL)
    small_index(docs, index, fake, "city-bikes.md")
    pointer = (index / POINTER).read_text()

    class Interrupted(FakeEmbedder):
        def encode(self, texts: Sequence[str], **kwargs) -> np.ndarray:
            raise KeyboardInterrupt

    monkeypatch.setattr(
        assistant.embed.factory,
        "create_embedder",
        lambda model, backend="onnx", **_: Interrupted(model),
    )
    copy_default_documents(docs, "jokeri-light-rail.md")

    result = run("build")

    assert result.exit_code == 130
    assert "Interrupted. The previous index is unchanged." in result.stderr
    assert "Traceback" not in result.output
    assert (index / POINTER).read_text() == pointer


# --- search --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("session_model")
@pytest.mark.slow
def test_search_json_returns_k_ranked_results(
    run: Callable[..., Result], default_index: DefaultIndex
) -> None:
    result = run(
        "search",
        "When did Espoo stop using coal in district heating?",
        "--json",
        "-k",
        "3",
        documents=DOCUMENTS,
        index=default_index.settings.index,
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    rows = data["results"]
    assert len(rows) == 3
    assert [r["rank"] for r in rows] == [1, 2, 3]
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    for row in rows:
        assert {"score", "title", "section", "source"} <= set(row)
        assert row["title"] and row["source"].startswith("http") and row["text"]
    assert rows[0]["document"] == "district-heating-coal-phase-out.md"
    assert rows[0]["title"] == "District heating and the end of coal in Espoo"


@pytest.mark.usefixtures("session_model")
@pytest.mark.slow
def test_search_text_output_shows_ranked_passages(
    run: Callable[..., Result], default_index: DefaultIndex
) -> None:
    result = run(
        "search",
        "city bike stations",
        "-k",
        "2",
        documents=DOCUMENTS,
        index=default_index.settings.index,
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1. [")
    assert "\n2. [" in result.stdout and "\n3. [" not in result.stdout
    assert "City bikes in Espoo" in result.stdout


# --- status --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_status_json_describes_the_index_and_pending_changes(
    run: Callable[..., Result], tmp_path: Path, embedder: Embedder
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    small_index(
        docs,
        index,
        embedder,
        "city-bikes.md",
        "jokeri-light-rail.md",
        "waste-management-ammassuo.md",
    )

    fresh = json.loads(run("status", "--json").stdout)
    copy_default_documents(docs, "district-heating-coal-phase-out.md")
    (docs / "city-bikes.md").write_text("# City bikes\n\nRewritten.\n", encoding="utf-8")
    (docs / "jokeri-light-rail.md").unlink()
    pending = json.loads(run("status", "--json").stdout)

    assert STATUS_KEYS <= set(fresh)
    assert fresh["documents"] == 3
    assert fresh["chunks"] > 3
    assert fresh["model"] == DEFAULT_MODEL
    assert fresh["scorer"] == str(SCORERS)  # the package's weights for the default encoder
    assert fresh["reader"] is None  # ASSISTANT_READER is off by default
    # on: the package's reader and the model that weighs it
    on = json.loads(run("status", "--json", env={"ASSISTANT_READER": "true"}).stdout)
    assert on["reader"] == str(SCORERS / "reader.npz") and on["scorer"] == str(SCORERS)
    assert "reader.npz" in run("status", env={"ASSISTANT_READER": "true"}).stdout
    assert fresh["index_version"] == (index / POINTER).read_text().strip()
    assert fresh["last_build"]
    assert fresh["changed_since"] == {"added": [], "changed": [], "removed": []}
    assert pending["changed_since"] == {
        "added": ["district-heating-coal-phase-out.md"],
        "changed": ["city-bikes.md"],
        "removed": ["jokeri-light-rail.md"],
    }
    assert pending["index_version"] == fresh["index_version"]


def test_status_without_an_index_says_to_build(run: Callable[..., Result], tmp_path: Path) -> None:
    copy_default_documents(tmp_path / "docs", "city-bikes.md")

    as_json = run("status", "--json")
    as_text = run("status")

    assert as_json.exit_code == 0 and as_text.exit_code == 0
    data = json.loads(as_json.stdout)
    assert data["built"] is False
    assert data["changed_since"]["added"] == ["city-bikes.md"]
    assert "build" in as_text.stdout


# --- errors: one sentence, non-zero exit, no traceback -------------------------------------------


def test_missing_documents_folder(run: Callable[..., Result], tmp_path: Path) -> None:
    assert_clean_error(
        run("build", documents=tmp_path / "nowhere"), "does not exist", str(tmp_path / "nowhere")
    )


def test_empty_documents_folder(run: Callable[..., Result], tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()

    assert_clean_error(run("build", "--json"), "No documents")


def test_documents_folder_with_only_unusable_files(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.docx").write_bytes(b"PK")

    assert_clean_error(run("build"), "No documents", "skipped")


@pytest.mark.parametrize("command", [["search", "coal"], ["ask", "When did coal end?"]])
def test_commands_without_an_index_say_to_build(
    run: Callable[..., Result], tmp_path: Path, command: list[str]
) -> None:
    copy_default_documents(tmp_path / "docs", "city-bikes.md")

    assert_clean_error(run(*command), "No index", "build")


@pytest.mark.slow
def test_search_on_an_index_built_with_another_model(
    run: Callable[..., Result], default_index: DefaultIndex
) -> None:
    result = run(
        "search",
        "coal",
        documents=DOCUMENTS,
        index=default_index.settings.index,
        env={"ASSISTANT_MODEL": "paraphrase-multilingual-MiniLM-L12-v2"},
    )

    assert_clean_error(result, DEFAULT_MODEL, "paraphrase-multilingual-MiniLM-L12-v2", "build")


def test_build_with_a_model_that_does_not_exist(run: Callable[..., Result], tmp_path: Path) -> None:
    copy_default_documents(tmp_path / "docs", "city-bikes.md")

    result = run("build", env={"ASSISTANT_MODEL": "no-such-model-anywhere"})

    assert_clean_error(result, "no-such-model-anywhere", "ASSISTANT_MODEL")
    assert not (tmp_path / "index" / POINTER).exists()


def test_search_on_a_damaged_index_says_to_rebuild(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    small_index(docs, index, FakeEmbedder(DEFAULT_MODEL), "city-bikes.md")
    (index / (index / POINTER).read_text().strip() / VECTORS).write_bytes(b"\x00" * 10)

    assert_clean_error(run("search", "city bikes"), "damaged", "build --full")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"ASSISTANT_CHUNK_SIZE": "large"}, "ASSISTANT_CHUNK_SIZE"),
        ({"ASSISTANT_CHUNK_SIZE": "10"}, "chunk_size"),
        ({"ASSISTANT_CHUNK_OVERLAP": "9"}, "chunk_overlap"),
    ],
    ids=["not-a-number", "too-small", "overlap-too-big"],
)
def test_invalid_settings_are_one_line_errors(
    run: Callable[..., Result], env: dict[str, str], fragment: str
) -> None:
    assert_clean_error(run("status", env=env), fragment)


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["frobnicate"])

    assert result.exit_code == 2
    assert "No such command" in result.output


def test_settings_from_the_environment_reach_the_commands(
    tmp_path: Path, embedder: Embedder
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    small_index(docs, index, embedder, "city-bikes.md")

    result = CliRunner(
        env={"ASSISTANT_DOCUMENTS": str(docs), "ASSISTANT_INDEX": str(index)}
    ).invoke(cli, ["status", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["index"] == str(index) and data["documents"] == 1
    assert Settings.from_env({"ASSISTANT_INDEX": str(index)}).index == index
