"""Build throughput against the limit (raw SentenceTransformer.encode), and incremental rebuilds.

For each corpus size: a full build of generated documents (load, chunk, embed, FAISS, SQLite, BM25,
write) in chunks per second, next to ``SentenceTransformer.encode`` over the same chunk texts in the
same process; then, in the 1,000-document corpus, one document changed and rebuilt.

    python bench/build_speed.py [--quick] [--docs 5000] [--json] [--work DIR]
    python bench/build_speed.py --docs 100 --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from common import DEFAULT_WORK, emit, generated_corpus, load_avg, machine, table, timer

from assistant.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_CHUNK_OVERLAP,
    DEFAULT_CHUNK_SIZE,
    MINILM_MODEL,
)
from assistant.embed.factory import create_embedder
from assistant.embed.sbert import SentenceTransformerEmbedder
from assistant.index.build import build_index
from assistant.index.store import current_version_dir, load_version

QUICK_DOCS = (100, 1000)  # ~1k and ~10k chunks
FULL_DOCS = (100, 1000, 5000)  # ... and ~50k
INCREMENTAL_DOCS = 1000


def index_dir_for(work: Path, n_docs: int) -> Path:
    return work / f"index-{n_docs}-torch"


def full_build(corpus: Path, index_dir: Path, embedder: Any) -> Any:
    return build_index(
        documents_dir=corpus,
        index_dir=index_dir,
        embedder=embedder,
        chunk_size=DEFAULT_CHUNK_SIZE,
        chunk_overlap=DEFAULT_CHUNK_OVERLAP,
        batch_size=DEFAULT_BATCH_SIZE,
        full=True,
    )


def measure_size(n_docs: int, work: Path, embedder: Any, repeats: int) -> dict[str, Any]:
    """Alternate full build and raw encode ``repeats`` times (the load drifts); report medians.

    The raw encode is ``SentenceTransformer.encode`` for the torch embedder, else the embedder's
    own ``encode`` of the chunk texts (the model's bulk limit through the same session)."""
    corpus = generated_corpus(n_docs, work=work)
    index_dir = index_dir_for(work, n_docs)
    if isinstance(embedder, SentenceTransformerEmbedder):
        model = embedder._load()  # the very SentenceTransformer the build uses

        def raw_encode(texts: list[str]) -> Any:
            return model.encode(
                texts,
                batch_size=DEFAULT_BATCH_SIZE,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
    else:

        def raw_encode(texts: list[str]) -> Any:
            return embedder.encode(texts, batch_size=DEFAULT_BATCH_SIZE, role="passage")

    builds, raws, loads = [], [], []
    chunks = 0
    for _ in range(repeats):
        shutil.rmtree(index_dir, ignore_errors=True)
        loads.append(load_avg())
        report = full_build(corpus, index_dir, embedder)
        builds.append(report.seconds)
        chunks = report.chunks
        version = load_version(current_version_dir(index_dir))  # type: ignore[arg-type]
        texts = [c.embedding_text() for c in version.chunks.values()]
        with timer() as raw:
            raw_encode(texts)
        raws.append(raw["seconds"])
    build_s, raw_s = float(np.median(builds)), float(np.median(raws))
    return {
        "documents": n_docs,
        "chunks": chunks,
        "repeats": repeats,
        "build_s": round(build_s, 2),
        "build_chunks_per_s": round(chunks / build_s, 1),
        "raw_encode_s": round(raw_s, 2),
        "raw_chunks_per_s": round(chunks / raw_s, 1),
        "ratio": round(raw_s / build_s, 3),
        "load_avg": float(np.median(loads)),
        "full_build_s": build_s,
        "builds_s": [round(b, 2) for b in builds],
        "raws_s": [round(r, 2) for r in raws],
    }


def measure_incremental(work: Path, embedder: Any, full_seconds: float) -> list[dict[str, Any]]:
    """Change one document, rebuild; restore it, rebuild again (two incremental samples)."""
    corpus = generated_corpus(INCREMENTAL_DOCS, work=work)
    index_dir = index_dir_for(work, INCREMENTAL_DOCS)
    target = corpus / "report-00500.md"
    original = target.read_text(encoding="utf-8")
    body = original.split("---\n", 2)[2]
    edited_body = re.sub(r"\d+", "1999", body, count=1) + "\nA sentence added in an edit.\n"
    rows = []
    try:
        for label, text in (
            ("edit one document", original.replace(body, edited_body)),
            ("revert the edit", original),
        ):
            target.write_text(text, encoding="utf-8")
            load = load_avg()
            report = build_index(
                documents_dir=corpus,
                index_dir=index_dir,
                embedder=embedder,
                chunk_size=DEFAULT_CHUNK_SIZE,
                chunk_overlap=DEFAULT_CHUNK_OVERLAP,
            )
            rows.append(
                {
                    "step": label,
                    "chunks": report.chunks,
                    "chunks_embedded": report.chunks_embedded,
                    "seconds": round(report.seconds, 3),
                    "share_of_full": round(report.seconds / full_seconds, 4),
                    "load_avg": load,
                }
            )
    finally:
        target.write_text(original, encoding="utf-8")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~1k and ~10k chunks only")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument(
        "--docs",
        help="comma-separated corpus sizes in documents (~10 chunks each), e.g. 5000 for ~50k "
        "chunks alone; the incremental step runs when 1000 is among them",
    )
    parser.add_argument(
        "--model",
        default=MINILM_MODEL,
        help="another model (e.g. multilingual-e5-small, ONNX; its indexes in WORK/<model>)",
    )
    args = parser.parse_args()
    chosen = (
        tuple(int(n) for n in args.docs.split(","))
        if args.docs
        else (QUICK_DOCS if args.quick else FULL_DOCS)
    )
    work = args.work
    if args.model == MINILM_MODEL:
        embedder: Any = SentenceTransformerEmbedder()
    else:
        work = args.work / args.model.replace("/", "_")
        embedder = create_embedder(args.model, "onnx", cache_dir=args.work / "onnx")
    embedder.encode(["warm up the model"] * 64)  # load and warm up before any timing
    sizes = [measure_size(n, work, embedder, 3 if n <= 100 else 1) for n in chosen]
    full_1000 = next((s["full_build_s"] for s in sizes if s["documents"] == INCREMENTAL_DOCS), 0.0)
    incremental = measure_incremental(work, embedder, full_1000) if full_1000 else []
    md = (
        "**Full build vs raw `SentenceTransformer.encode`** (torch backend, batch 32)\n\n"
        if args.model == MINILM_MODEL
        else f"**Full build vs raw encode of {args.model}** (ONNX, batch 32)\n\n"
    )
    md += table(
        [
            "Documents",
            "Chunks",
            "Runs",
            "Build s",
            "Build chunks/s",
            "Raw encode s",
            "Raw chunks/s",
            "Build / raw (throughput)",
            "Load avg",
        ],
        [
            [
                s["documents"],
                s["chunks"],
                s["repeats"],
                s["build_s"],
                s["build_chunks_per_s"],
                s["raw_encode_s"],
                s["raw_chunks_per_s"],
                s["ratio"],
                s["load_avg"],
            ]
            for s in sizes
        ],
    )
    md += (
        "\n\nRuns alternate build and raw encode; medians shown (the machine is shared, "
        "so single runs drift with the load)."
    )
    if incremental:
        md += (
            f"\n\n**Incremental rebuild** ({INCREMENTAL_DOCS} documents, full build "
            f"{full_1000:.1f} s)\n\n"
        )
        md += table(
            ["Step", "Chunks", "Re-embedded", "Seconds", "Share of full build", "Load avg"],
            [
                [
                    r["step"],
                    r["chunks"],
                    r["chunks_embedded"],
                    r["seconds"],
                    f"{r['share_of_full']:.1%}",
                    r["load_avg"],
                ]
                for r in incremental
            ],
        )
    emit(
        {
            "name": "build",
            "quick": args.quick,
            "machine": machine(),
            "sizes": sizes,
            "incremental": incremental,
        },
        md,
        args.json,
    )


if __name__ == "__main__":
    main()
