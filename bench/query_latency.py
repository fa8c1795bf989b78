"""Query latency: p50/p95 of search and of a complete extractive answer at 1k, 10k and 100k chunks.

The 1k and 10k indexes are real builds of generated documents (shared with build_speed.py); the
100k one has synthetic vectors (real ones plus noise, so they cluster like real embeddings) over
generated passages with a real BM25 index. Each query path is timed for the torch and ONNX query
encoders; at 100k, exact (flat) search is compared with HNSW (recall@10 against exact).

    python bench/query_latency.py [--quick] [--json] [--work DIR]
    python bench/query_latency.py --quick --model multilingual-e5-small --backends onnx
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from build_speed import full_build, index_dir_for
from common import (
    DEFAULT_WORK,
    emit,
    generated_corpus,
    load_avg,
    machine,
    percentiles,
    questions,
    synthetic_chunk_texts,
    table,
    timed_runs,
)

from assistant.answer.factory import create_assistant
from assistant.config import DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE, MINILM_MODEL, Settings
from assistant.embed.base import Embedder
from assistant.embed.factory import create_embedder
from assistant.errors import IndexError_
from assistant.index.bm25 import LexicalIndex
from assistant.index.sentences import SentenceVectors
from assistant.index.store import (
    IndexVersion,
    Manifest,
    check_format,
    current_version_dir,
    load_version,
    read_manifest,
)
from assistant.index.words import WORD_LIST, WordVectors, spellings
from assistant.ingest.chunking import Chunk, answer_units

REAL_DOCS = (100, 1000)  # ~1k and ~10k chunks
SYNTHETIC = 100_000
CHUNKS_PER_DOC = 10


def _usable(index_dir: Path) -> bool:
    """An index there in this program's format (older formats are rebuilt)."""
    folder = current_version_dir(index_dir)
    if folder is None:
        return False
    try:
        check_format(read_manifest(folder))
        if (folder / WORD_LIST).stat().st_size < 100:  # saved before it had a word table
            raise IndexError_("no word table")
    except (IndexError_, OSError):
        shutil.rmtree(index_dir)
        return False
    return True


def real_version(n_docs: int, work: Path, embedder: Embedder) -> IndexVersion:
    index_dir = index_dir_for(work, n_docs)
    if not _usable(index_dir):
        full_build(generated_corpus(n_docs, work=work), index_dir, embedder)
    return load_version(current_version_dir(index_dir))  # type: ignore[arg-type]


def base_vectors(work: Path, embedder: Embedder) -> np.ndarray:
    """Real embeddings to scatter synthetic ones around: the 10k (else the 1k) index's, else
    2,000 fresh ones."""
    for n_docs in reversed(REAL_DOCS):
        folder = current_version_dir(index_dir_for(work, n_docs))
        if folder is not None and _usable(index_dir_for(work, n_docs)):
            version = load_version(folder)
            return version.vectors_of(sorted(version.chunks))
    return embedder.encode(synthetic_chunk_texts(2000, seed=11), batch_size=32)


def synthetic_version(
    n: int, base: np.ndarray, *, seed: int = 5, model: str = MINILM_MODEL
) -> IndexVersion:
    """``n`` generated passages with real BM25 and vectors = a real vector + noise, normalised."""
    from assistant.index.store import new_vector_index

    rng = np.random.default_rng(seed)
    texts = synthetic_chunk_texts(n)
    dim = base.shape[1]
    # Noise of this size leaves a cosine of ~0.8 to the base vector: clusters, as real text has.
    vectors = base[rng.integers(0, len(base), n)] + rng.normal(0, 0.75 / np.sqrt(dim), (n, dim))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    chunks = {
        i: Chunk(
            id=f"syn-{i // CHUNKS_PER_DOC}#{i % CHUNKS_PER_DOC}",
            document=f"syn-{i // CHUNKS_PER_DOC}.md",
            title=f"Synthetic report {i // 10}",
            section="Section",
            text=t,
            start=0,
            end=len(t),
            date="2024-01-01",
            position=i % CHUNKS_PER_DOC,
        )
        for i, t in enumerate(texts)
    }
    index = new_vector_index(dim)
    index.add_with_ids(vectors, np.arange(n, dtype=np.int64))
    lexical = LexicalIndex.build([c.embedding_text() for c in chunks.values()], list(chunks))
    documents = {
        f"syn-{d}.md": {
            "hash": str(d),
            "chunks": CHUNKS_PER_DOC,
            "title": "",
            "date": "",
            "source": "",
            "topics": ["synthetic"],
        }
        for d in range(n // CHUNKS_PER_DOC)
    }
    manifest = Manifest(
        model=model,
        dimension=dim,
        chunking={"size": DEFAULT_CHUNK_SIZE, "overlap": DEFAULT_CHUNK_OVERLAP},
        documents=documents,
        version=f"synthetic-{n}",
        next_id=n,
    )
    # Sentence vectors: each passage's vector plus a little more noise per sentence.
    parts = {}
    for i, chunk in chunks.items():
        units = np.array([(u.start, u.end) for u in answer_units(chunk.text)], dtype=np.int64)
        noisy = vectors[i] + rng.normal(0, 0.5 / np.sqrt(dim), (len(units), dim))
        parts[i] = (units.reshape(-1, 2), noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    sentences = SentenceVectors.collect(parts, dim)
    hashes = {i: "" for i in chunks}
    words = synthetic_words(texts, n, dim, rng)
    return IndexVersion(Path("."), manifest, index, chunks, hashes, lexical, sentences, words=words)


def synthetic_words(texts: list[str], n: int, dim: int, rng: np.random.Generator) -> WordVectors:
    """A word table as large as a real corpus of ``n`` passages would have (one distinct stem per
    passage, more than Heaps' law gives for ~100 words each): the generated texts' own stems,
    padded with made-up ones; random unit vectors (their values do not change the timings)."""
    stems_ = set(spellings(texts[:2000]))
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = 0
    while len(stems_) < n:
        name, k = "", i
        while True:
            name, k = letters[k % 26] + name, k // 26
            if not k:
                break
        stems_.add("zz" + name)
        i += 1
    ordered = sorted(stems_)
    vectors = rng.normal(0, 1, (len(ordered), dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return WordVectors(ordered, vectors.astype(np.float16))


def synthetic_index_dir(work: Path, embedder: Embedder, model: str = MINILM_MODEL) -> Path:
    """The 100k synthetic index saved as a real version (with its HNSW graph); made once.
    ``model`` is the one its manifest names (the server loads that model)."""
    from assistant.index.store import publish, save_version

    index_dir = work / f"index-{SYNTHETIC // 1000}k-synthetic"
    if _usable(index_dir):
        return index_dir
    version = synthetic_version(SYNTHETIC, base_vectors(work, embedder), model=model)
    index_dir.mkdir(parents=True, exist_ok=True)
    folder = index_dir / "v-synthetic"
    started = time.perf_counter()
    save_version(
        folder,
        version.manifest,
        version.vectors,
        version.chunks,
        version.text_hashes,
        version.sentences,
        version.words,
    )
    (index_dir / "save.json").write_text(json.dumps({"save_s": time.perf_counter() - started}))
    publish(index_dir, folder)
    return index_dir


def measure(
    version: IndexVersion,
    label: str,
    embedders: dict[str, Embedder],
    queries: list[str],
) -> list[dict[str, Any]]:
    return [
        _measure_one(version, label, backend, embedder, queries)
        for backend, embedder in embedders.items()
    ]


def _measure_one(
    version: IndexVersion,
    label: str,
    backend: str,
    embedder: Embedder,
    queries: list[str],
) -> dict[str, Any]:
    settings = Settings(model=version.manifest.model, reader=False)
    assistant = create_assistant(settings, embedder=embedder, version=version)
    retriever = assistant.retriever
    qvecs = {q: retriever.embed_query(q) for q in queries}
    load = load_avg()
    row = {
        "index": label,
        "chunks": len(version),
        "backend": backend,
        "load_avg": load,
    }
    paths = {
        "embed": retriever.embed_query,
        "faiss": lambda q, qv=qvecs: version.dense_search(qv[q], 100),
        "bm25": lambda q: version.lexical.search(q, 100),
        "search": lambda q, r=retriever: r.search(version, q, k=5),
    }
    for name, fn in paths.items():
        row[name] = percentiles(timed_runs(fn, queries))
    # The answer without and with the reader (ASSISTANT_READER), timed in turns, question by
    # question, so that both see the same load; the reader where there is one for the encoder.
    assistants = [assistant]
    if reader_trained(settings):
        assistants.append(
            create_assistant(settings.with_(reader=True), embedder=embedder, version=version)
        )
    for a in assistants:
        # per-version caches (IDF) and the reader are loaded outside the timing; a question of
        # its own, since the reader remembers the pairs it read
        a.ask(f"{queries[0]} (warm-up)")
    samples: list[list[float]] = [[] for _ in assistants]
    for q in queries:
        for a, times in zip(assistants, samples, strict=True):
            started = time.perf_counter()
            a.ask(q)
            times.append(time.perf_counter() - started)
    row["answer"] = percentiles(samples[0])
    row["answer_reader"] = percentiles(samples[1]) if len(samples) > 1 else None
    return row


def reader_trained(settings: Settings) -> bool:
    """Whether there are a reader and its model for these settings (the package ships them for
    the built-in encoders; ``make reader`` trains them here)."""
    from assistant.answer.reader import reader_path
    from assistant.answer.scorer import find_scorer, scorer_folders

    folders = scorer_folders(settings.scorer_weights, settings.index)
    found = find_scorer(settings.model, folders, reader=True)
    if reader_path(folders) is None or found is None:
        print("(no reader for this encoder: run `make reader` to time the answer with it)")
        return False
    return True


def hnsw_comparison(
    version: IndexVersion,
    embedder: Embedder,
    queries: list[str],
) -> list[dict[str, Any]]:
    """Recall@10 and latency of the index's HNSW graph against exact search, by efSearch."""
    import faiss

    from assistant.index.ann import HNSW_EF_SEARCH, HNSW_M, build_ann

    flat = version.vectors
    n, dim = flat.ntotal, flat.d
    vectors = version.vectors_of(range(n))
    qvecs = embedder.encode(queries, batch_size=32, role="query")
    # More queries for a stable recall: passages of the index itself, perturbed.
    rng = np.random.default_rng(3)
    extra = vectors[rng.integers(0, n, 400)] + rng.normal(0, 0.5 / np.sqrt(dim), (400, dim))
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    all_q = np.vstack([qvecs, extra]).astype(np.float32)
    _, exact = flat.search(all_q, 10)
    flat_times = timed_runs(lambda v: flat.search(v.reshape(1, -1), 100), list(qvecs))
    rows = [{"index": "flat (exact)", "build_s": 0.0, "recall@10": 1.0, **percentiles(flat_times)}]
    ann = version.ann
    if ann is None:
        started = time.perf_counter()
        ann = build_ann(flat)
        build_s = time.perf_counter() - started
    else:
        build_s = float("nan")
    graph = faiss.downcast_index(ann.index).hnsw
    for ef in (64, HNSW_EF_SEARCH, 256):
        graph.efSearch = ef
        _, approx = ann.search(all_q, 10)
        recall = float(
            np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
        )
        times = timed_runs(lambda v: ann.search(v.reshape(1, -1), 100), list(qvecs))
        default = " (default)" if ef == HNSW_EF_SEARCH else ""
        rows.append(
            {
                "index": f"HNSW M={HNSW_M} efSearch={ef}{default}",
                "build_s": round(build_s, 1),
                "recall@10": round(recall, 4),
                **percentiles(times),
            }
        )
    graph.efSearch = HNSW_EF_SEARCH
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer queries")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    parser.add_argument("--backends", default="torch,onnx")
    parser.add_argument("--no-hnsw", action="store_true")
    parser.add_argument(
        "--model",
        default=MINILM_MODEL,
        help="another model (e.g. multilingual-e5-small): the ~1k index is built with it, and "
        "~10k and 100k are synthetic around its vectors; its indexes live in WORK/<model>",
    )
    args = parser.parse_args()
    queries = questions(40 if args.quick else None)
    other = args.model != MINILM_MODEL
    work = args.work / args.model.replace("/", "_") if other else args.work
    embedders = {
        b: create_embedder(args.model, b, cache_dir=args.work / "onnx")
        for b in args.backends.split(",")
    }
    for e in embedders.values():
        assert e.dimension
    builder = next(iter(embedders.values())) if other else None
    torch_embedder = builder or embedders.get("torch") or create_embedder(MINILM_MODEL, "torch")
    rows: list[dict[str, Any]] = []
    for n_docs in REAL_DOCS[:1] if other else REAL_DOCS:
        version = real_version(n_docs, work, torch_embedder)
        rows += measure(version, "generated documents", embedders, queries)
    if other:  # a real ~10k build of a slow encoder takes too long: vectors around its own
        base = base_vectors(work, torch_embedder)
        version = synthetic_version(REAL_DOCS[1] * CHUNKS_PER_DOC, base, model=args.model)
        rows += measure(version, "synthetic, exact (flat)", embedders, queries)
    synthetic_dir = synthetic_index_dir(work, torch_embedder, args.model)
    synthetic = load_version(current_version_dir(synthetic_dir))  # type: ignore[arg-type]
    exact = copy.copy(synthetic)
    exact.ann = None
    rows += measure(exact, "synthetic, exact (flat)", embedders, queries)
    if synthetic.ann is not None:
        rows += measure(synthetic, "synthetic, HNSW (default)", embedders, queries)
    ann = [] if args.no_hnsw else hnsw_comparison(synthetic, torch_embedder, queries)
    save_s = json.loads((synthetic_dir / "save.json").read_text())["save_s"]
    md = f"**Query latency** ({len(queries)} questions from eval/questions.jsonl, ms)\n\n"
    md += table(
        [
            "Index",
            "Chunks",
            "Query encoder",
            "Embed p50/p95",
            "FAISS p50/p95",
            "BM25 p50/p95",
            "Search p50/p95",
            "Answer p50/p95",
            "With reader p50/p95",
            "Load avg",
        ],
        [
            [r["index"], r["chunks"], r["backend"]]
            + [
                f"{r[k]['p50_ms']:.1f} / {r[k]['p95_ms']:.1f}" if r[k] else "–"
                for k in ("embed", "faiss", "bm25", "search", "answer", "answer_reader")
            ]
            + [r["load_avg"]]
            for r in rows
        ],
    )
    if ann:
        md += (
            f"\n\n**Exact vs HNSW at {SYNTHETIC:,} vectors** (one query, top 100, ms; "
            f"saving the 100k version incl. building its graph took {save_s:.0f} s; recall "
            f"over {len(queries)} questions + 400 perturbed passages)\n\n"
        )
        md += table(
            ["Index", "Build s", "Recall@10", "p50", "p95"],
            [[a["index"], a["build_s"], a["recall@10"], a["p50_ms"], a["p95_ms"]] for a in ann],
        )
    emit(
        {"name": "query", "quick": args.quick, "machine": machine(), "rows": rows, "ann": ann},
        md,
        args.json,
    )


if __name__ == "__main__":
    main()
