"""Embedding backends side by side: speed against torch and the effect on retrieval quality.

For torch, ONNX fp32 and ONNX int8: one-query encode latency, bulk encode throughput, how close the
vectors are to torch's, and quality (eval/questions.jsonl on the default corpus, SciFact nDCG@10).
Each backend gets its own index and its own SciFact embedding cache.

    python bench/backends.py [--quick] [--json] [--work DIR] [--no-scifact]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import (
    DEFAULT_WORK,
    DOCUMENTS,
    QUESTIONS,
    ROOT,
    SCIFACT,
    emit,
    load_avg,
    machine,
    percentiles,
    questions,
    synthetic_chunk_texts,
    table,
    timer,
)

from assistant.answer.factory import create_assistant
from assistant.config import MINILM_MODEL, Settings
from assistant.embed.base import Embedder
from assistant.embed.factory import create_embedder
from assistant.evaluation.beir import run_beir
from assistant.evaluation.questions import evaluate, load_questions
from assistant.index.build import build_index

BACKENDS = ("torch", "onnx", "onnx-int8")


def interleaved_speed(
    embedders: dict[str, Embedder],
    queries: list[str],
    texts: list[str],
) -> dict[str, dict[str, Any]]:
    """Query and bulk timings taken in turns (rotating order), so every backend sees the same load.

    On a shared 2-core machine the load moves by the minute; timing one backend after the other
    would compare loads, not backends.
    """
    names = list(embedders)
    for e in embedders.values():
        e.encode(queries[:3], batch_size=1, role="query")  # warm up
    one: dict[str, list[float]] = {n: [] for n in names}
    for i, q in enumerate(queries * 2):
        for n in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            embedders[n].encode([q], batch_size=1, role="query")
            one[n].append(time.perf_counter() - started)
    bulk = {n: 0.0 for n in names}
    parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    step = max(len(texts) // 10, 1)
    for i, begin in enumerate(range(0, len(texts), step)):
        for n in names[i % len(names) :] + names[: i % len(names)]:
            started = time.perf_counter()
            parts[n].append(embedders[n].encode(texts[begin : begin + step], batch_size=32))
            bulk[n] += time.perf_counter() - started
    return {
        n: {
            "query": percentiles(one[n]),
            "bulk_per_s": round(len(texts) / bulk[n], 1),
            "vectors": np.vstack(parts[n]),
        }
        for n in names
    }


def quality(backend: str, embedder: Embedder, work: Path, scifact: bool) -> dict[str, Any]:
    index = work / f"index-default-{backend}"
    settings = Settings(documents=DOCUMENTS, index=index, model=MINILM_MODEL, backend=backend)
    shutil.rmtree(settings.index, ignore_errors=True)
    build_index(
        documents_dir=settings.documents,
        index_dir=settings.index,
        embedder=embedder,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
    )
    result = evaluate(create_assistant(settings, embedder=embedder), load_questions(QUESTIONS))
    out = {
        "retrieval_hit_at_k": result["retrieval_hit_at_k"],
        "answer_hit": result["answer_hit"],
        "refusal_accuracy": result["refusal_accuracy"],
    }
    if scifact and SCIFACT.is_dir():
        cache = work / f"beir-{backend}"
        seed = ROOT / ".cache"  # the CLI's cache holds torch vectors (its key ignores the backend)
        if backend == "torch" and seed.is_dir() and not cache.exists():
            shutil.copytree(seed, cache)
        beir = run_beir(SCIFACT, embedder, cache_dir=cache)
        out["scifact_dense"] = beir["modes"]["dense"]["ndcg@10"]
        out["scifact_hybrid"] = beir["modes"]["hybrid"]["ndcg@10"]
    return out


def neighbour_overlap(
    reference: np.ndarray,
    other: np.ndarray,
    queries_ref: np.ndarray,
    queries_other: np.ndarray,
    k: int = 10,
) -> float:
    """Mean share of the top-k neighbours (by the reference) that the other backend also finds."""
    top_ref = np.argsort(-(queries_ref @ reference.T), axis=1)[:, :k]
    top_other = np.argsort(-(queries_other @ other.T), axis=1)[:, :k]
    return float(
        np.mean([len(set(a) & set(b)) / k for a, b in zip(top_ref, top_other, strict=True)])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 texts for bulk speed")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--no-scifact", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="no eval, no SciFact")
    args = parser.parse_args()
    queries = questions()
    texts = synthetic_chunk_texts(1000 if args.quick else 4000, seed=21)
    rows: list[dict[str, Any]] = []
    ref: dict[str, np.ndarray] = {}
    embedders: dict[str, Embedder] = {}
    load_s = {}
    for backend in BACKENDS:
        embedders[backend] = create_embedder(MINILM_MODEL, backend, cache_dir=args.work / "onnx")
        with timer() as first:
            assert embedders[backend].dimension  # export (first run only) and load
        load_s[backend] = round(first["seconds"], 2)
    load = load_avg()
    speeds = interleaved_speed(embedders, queries, texts)
    for backend, embedder in embedders.items():
        measured = speeds[backend]
        qvecs = embedder.encode(queries, batch_size=32, role="query")
        if backend == "torch":
            ref = {"texts": measured["vectors"], "queries": qvecs}
        row = {
            "backend": backend,
            "load_s": load_s[backend],
            "load_avg": load,
            "query": measured["query"],
            "bulk_per_s": measured["bulk_per_s"],
            "min_cosine": round(float((measured["vectors"] * ref["texts"]).sum(1).min()), 5),
            "top10_overlap": round(
                neighbour_overlap(ref["texts"], measured["vectors"], ref["queries"], qvecs), 4
            ),
        }
        if not args.speed_only:
            row.update(quality(backend, embedder, args.work, not args.no_scifact))
        rows.append(row)
    torch_row = rows[0]
    md = (
        "**Embedding backends** (query: one question, p50/p95 ms; bulk: "
        f"{len(texts):,} passages, batch 32)\n\n"
    )
    headers = [
        "Backend",
        "Query p50/p95",
        "Speed-up (query)",
        "Bulk /s",
        "Speed-up (bulk)",
        "Min cosine vs torch",
        "Top-10 overlap",
    ]
    if "answer_hit" in torch_row:
        headers += ["Eval retrieval_hit@5", "Eval answer_hit"]
    if "scifact_hybrid" in torch_row:
        headers += ["SciFact dense nDCG@10", "SciFact hybrid nDCG@10"]
    body = []
    for r in rows:
        line = [
            r["backend"],
            f"{r['query']['p50_ms']:.1f} / {r['query']['p95_ms']:.1f}",
            f"{torch_row['query']['p50_ms'] / r['query']['p50_ms']:.2f}×",
            r["bulk_per_s"],
            f"{r['bulk_per_s'] / torch_row['bulk_per_s']:.2f}×",
            r["min_cosine"],
            r["top10_overlap"],
        ]
        if "answer_hit" in r:
            line += [r["retrieval_hit_at_k"], r["answer_hit"]]
        if "scifact_hybrid" in r:
            line += [r["scifact_dense"], r["scifact_hybrid"]]
        body.append(line)
    md += table(headers, body)
    md += (
        f"\n\nTimings taken in turns across backends (load average {load}); top-10 overlap: "
        "share of each question's 10 nearest passages (by torch) that the backend also finds."
    )
    emit(
        {"name": "backends", "quick": args.quick, "machine": machine(), "rows": rows}, md, args.json
    )


if __name__ == "__main__":
    main()
