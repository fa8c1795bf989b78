"""BEIR-format retrieval benchmark: nDCG@10 and recall@100 for dense, BM25 and hybrid retrieval.

Uses the same Chunk text, embedder, FAISS index, BM25 and fusion as the assistant itself, with the
default settings: no dataset-specific tuning.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..answer.retrieval import Retriever
from ..embed.base import Embedder
from ..errors import AssistantError
from ..index.bm25 import LexicalIndex
from ..index.sentences import SentenceVectors
from ..index.store import IndexVersion, Manifest, new_vector_index
from ..ingest.chunking import Chunk

#: Published nDCG@10 on SciFact, for comparison.
PUBLISHED = {
    "BM25 (BEIR paper)": 0.665,
    "all-MiniLM-L6-v2 dense": 0.645,
    "BM25 + cross-encoder rerank": 0.688,
    "txtai BM25+MiniLM hybrid": 0.713,
    "bge-small-en-v1.5": 0.713,
}
MODES = ("dense", "bm25", "hybrid")


def _open(path: Path) -> Any:
    return (
        gzip.open(path, "rt", encoding="utf-8")
        if path.suffix == ".gz"
        else open(path, encoding="utf-8")
    )


def _jsonl(folder: Path, name: str) -> list[dict[str, Any]]:
    for candidate in (folder / f"{name}.jsonl", folder / f"{name}.jsonl.gz"):
        if candidate.is_file():
            with _open(candidate) as fh:
                return [json.loads(line) for line in fh if line.strip()]
    raise AssistantError(f"{folder} has no {name}.jsonl(.gz); is it a BEIR dataset folder?")


def load_qrels(folder: Path, split: str = "test") -> dict[str, dict[str, int]]:
    path = folder / "qrels" / f"{split}.tsv"
    if not path.is_file():
        raise AssistantError(f"{path} is missing; a BEIR dataset needs qrels/{split}.tsv.")
    qrels: dict[str, dict[str, int]] = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip().lstrip("-").isdigit():
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def run_beir(
    folder: Path,
    embedder: Embedder,
    *,
    batch_size: int = 32,
    limit: int | None = None,
    progress: Callable[[int], Any] | None = None,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Embed the corpus once, then score every mode on the test queries."""
    corpus = _jsonl(folder, "corpus")
    queries = {str(q["_id"]): q["text"] for q in _jsonl(folder, "queries")}
    qrels = load_qrels(folder)
    test_ids = [q for q in qrels if q in queries][:limit]
    chunks = {
        i: Chunk(
            id=str(d["_id"]),
            document=str(d["_id"]),
            title=d.get("title", "") or "",
            section="",
            text=d.get("text", "") or "",
            start=0,
            end=len(d.get("text", "")),
        )
        for i, d in enumerate(corpus)
    }
    vectors = _corpus_vectors(list(chunks.values()), embedder, batch_size, progress, cache_dir)
    index = new_vector_index(vectors.shape[1])
    index.add_with_ids(vectors, np.arange(len(chunks), dtype=np.int64))
    lexical = LexicalIndex.build([c.embedding_text() for c in chunks.values()], list(chunks))
    manifest = Manifest(
        model=embedder.model_id,
        dimension=vectors.shape[1],
        chunking={},
        version=f"beir-{folder.name}",
    )
    no_sentences = SentenceVectors.collect({}, vectors.shape[1])  # retrieval only
    version = IndexVersion(folder, manifest, index, chunks, {}, lexical, no_sentences)
    retriever = Retriever(embedder)
    qvecs = embedder.encode([queries[q] for q in test_ids], batch_size=batch_size, role="query")
    scores: dict[str, dict[str, list[float]]] = {m: {"ndcg": [], "recall": []} for m in MODES}
    for qid, qvec in zip(test_ids, qvecs, strict=True):
        for mode in MODES:
            result = retriever.search(
                version,
                queries[qid],
                k=100,
                mode="lexical" if mode == "bm25" else mode,
                diversify=False,
                query_vector=qvec.reshape(1, -1),
            )
            ranked = [h.chunk.document for h in result.hits]
            scores[mode]["ndcg"].append(ndcg_at(ranked, qrels[qid]))
            scores[mode]["recall"].append(recall_at(ranked, qrels[qid]))
    return {
        "dataset": folder.name,
        "queries": len(test_ids),
        "documents": len(chunks),
        "model": embedder.model_id,
        "modes": {
            m: {
                "ndcg@10": round(float(np.mean(s["ndcg"])), 4),
                "recall@100": round(float(np.mean(s["recall"])), 4),
            }
            for m, s in scores.items()
        },
        "published_ndcg@10": PUBLISHED if folder.name.lower() == "scifact" else {},
    }


def _corpus_vectors(
    chunks: list[Chunk],
    embedder: Embedder,
    batch_size: int,
    progress: Callable[[int], Any] | None,
    cache_dir: Path | None,
) -> np.ndarray:
    texts = [c.embedding_text() for c in chunks]
    backend = f"{type(embedder).__name__}:{getattr(embedder, 'quantized', '')}"
    key = hashlib.sha1(("\x1e".join(texts) + embedder.model_id + backend).encode()).hexdigest()[:16]
    cached = cache_dir / f"beir-{key}.npy" if cache_dir else None
    if cached is not None and cached.is_file():
        stored: np.ndarray = np.load(cached)  # typed as Any: it may hold a pickle
        return stored
    bar = progress(len(texts)) if progress else None
    try:
        vectors = embedder.encode(
            texts, batch_size=batch_size, progress=bar.update if bar else None, role="passage"
        )
    finally:
        if bar is not None:
            bar.close()
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, vectors)
    return vectors
