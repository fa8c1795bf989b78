"""Shared helpers of the benchmark scripts: machine description, timing, tables, corpora.

Every script prints a table, or one JSON object with ``--json``; ``run_all.py`` collects them into
docs/benchmarks.md. Timings are medians/percentiles of one run; the load average is recorded
beside them because this 2-core machine is shared.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runnable as `python bench/x.py` without installing

DOCUMENTS = ROOT / "documents"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SCIFACT = ROOT.parent / "shared" / "bench" / "scifact"
#: Generated corpora and built indexes are kept here between scripts (and runs).
DEFAULT_WORK = Path(os.environ.get("BENCH_WORK", "/tmp/espoo-bench"))
#: Characters per generated document: ~10 chunks at the default chunk size (sections are short).
DOC_CHARS = 3600


def machine() -> dict[str, Any]:
    """nproc, CPU model, RAM, load and library versions: what a reader needs to compare numbers."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    versions = {}
    for name in ("torch", "sentence_transformers", "onnxruntime", "faiss", "bm25s", "numpy"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "?")
        except ImportError:
            continue
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "ram_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


@contextmanager
def timer() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - started


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95 in milliseconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
    }


def timed_runs(fn: Callable[[Any], Any], inputs: Sequence[Any], *, warmup: int = 3) -> list[float]:
    for item in inputs[:warmup]:
        fn(item)
    samples = []
    for item in inputs:
        started = time.perf_counter()
        fn(item)
        samples.append(time.perf_counter() - started)
    return samples


def questions(limit: int | None = None) -> list[str]:
    rows = [json.loads(line) for line in QUESTIONS.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows][:limit]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def emit(result: dict[str, Any], markdown: str, as_json: bool) -> None:
    """Print the JSON object or the table."""
    if as_json:
        print(json.dumps({**result, "markdown": markdown}, ensure_ascii=False))
    else:
        print(markdown)


# --- generated corpora ---------------------------------------------------------------------------

_FRONT = re.compile(r"^---\n.*?\n---\n", re.S)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_PLACES = (
    "Espoo",
    "Espoonlahti",
    "Leppävaara",
    "Tapiola",
    "Matinkylä",
    "Otaniemi",
    "Kera",
    "Kalajärvi",
    "Kauklahti",
    "Olari",
    "Suurpelto",
    "Niittykumpu",
    "Kivenlahti",
)
_TOPICS = (
    "climate",
    "energy",
    "transport",
    "nature",
    "water",
    "housing",
    "education",
    "waste",
    "health",
    "culture",
    "procurement",
    "biodiversity",
    "mobility",
    "heating",
)


def _default_sections() -> list[tuple[str, list[str]]]:
    from assistant.ingest.chunking import split_sentences

    sections = []
    for path in sorted(DOCUMENTS.glob("*.md")):
        body = _FRONT.sub("", path.read_text(encoding="utf-8"))
        for part in re.split(r"\n(?=##? )", body):
            lines = part.strip().splitlines()
            if not lines:
                continue
            heading = lines[0].lstrip("# ").strip() if lines[0].startswith("#") else "Overview"
            text = " ".join(line for line in lines[1:] if line.strip() and not line.startswith("#"))
            sentences = [text[s.start : s.end] for s in split_sentences(text)]
            if sentences:
                sections.append((heading, sentences))
    return sections


def _vary(sentence: str, rng: random.Random) -> str:
    sentence = _NUMBER.sub(
        lambda m: str(rng.randint(2, 2400)) if rng.random() < 0.5 else m[0], sentence
    )
    if "Espoo" in sentence and rng.random() < 0.4:
        sentence = sentence.replace("Espoo", rng.choice(_PLACES), 1)
    return sentence


def write_document(
    folder: Path,
    number: int,
    sections: list[tuple[str, list[str]]],
    rng: random.Random,
    *,
    revision: int = 0,
) -> Path:
    """One varied Markdown document of about DOC_CHARS characters, with front matter."""
    topic = rng.choice(_TOPICS)
    place = rng.choice(_PLACES)
    year = rng.randint(2012, 2026)
    lines = [
        "---",
        f'title: "{place} {topic} report {number}"',
        f"source: https://example.espoo.fi/reports/{number}",
        f"date: {year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "language: en",
        f"topics: [{topic}, {rng.choice(_TOPICS)}]",
        "---",
        "",
        f"# {place} {topic} report {number}",
        "",
    ]
    size = 0
    while size < DOC_CHARS:
        heading, sentences = rng.choice(sections)
        start = rng.randrange(len(sentences))
        picked = [_vary(s, rng) for s in sentences[start : start + rng.randint(2, 6)]]
        paragraph = " ".join(picked)
        lines += [f"## {heading} ({place}, {year})", "", paragraph, ""]
        size += len(paragraph) + len(heading)
    if revision:
        lines += ["## Update", "", f"This report was revised (revision {revision}) in {year}.", ""]
    path = folder / f"report-{number:05d}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def generated_corpus(n_docs: int, *, work: Path = DEFAULT_WORK, seed: int = 6) -> Path:
    """A folder of ``n_docs`` generated documents (cached in ``work``; same seed, same texts)."""
    folder = work / f"corpus-{n_docs}"
    marker = folder / ".complete"
    if marker.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    sections = _default_sections()
    rng = random.Random(seed)
    for number in range(n_docs):
        write_document(folder, number, sections, rng)
    marker.write_text("ok")
    return folder


def synthetic_chunk_texts(n: int, *, seed: int = 7) -> list[str]:
    """``n`` passage-sized texts from the default corpus' sentences (for 100k-chunk indexes)."""
    sections = _default_sections()
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        _, sentences = rng.choice(sections)
        start = rng.randrange(len(sentences))
        texts.append(" ".join(_vary(s, rng) for s in sentences[start : start + rng.randint(2, 5)]))
    return texts
