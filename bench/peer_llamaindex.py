"""A peer side by side: the same corpus and model through LlamaIndex's ingestion pipeline + FAISS.

All builds run in this process with the same bundled all-MiniLM-L6-v2 (batch 32), on torch
for a like-for-like comparison and, for ours, also on the default ONNX backend: ours
(``build_index``: load, chunk, embed, FAISS, SQLite, BM25, write) and LlamaIndex's
(``IngestionPipeline`` with ``SentenceSplitter`` + ``HuggingFaceEmbedding``, nodes into a
``VectorStoreIndex`` over ``FaissVectorStore(IndexFlatIP)``, persisted). Then the same questions:
LlamaIndex's top-5 retrieval against our search and our complete answer.
Needs the ``bench`` extra: ``pip install -e '.[bench]'``.

    python bench/peer_llamaindex.py [--quick] [--json] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from build_speed import full_build
from common import (
    DEFAULT_WORK,
    emit,
    generated_corpus,
    load_avg,
    machine,
    percentiles,
    questions,
    table,
    timed_runs,
    timer,
)

from assistant.answer.factory import create_assistant
from assistant.config import MINILM_MODEL, Settings
from assistant.embed.base import resolve_model_path
from assistant.embed.factory import create_embedder
from assistant.embed.sbert import SentenceTransformerEmbedder
from assistant.index.store import current_version_dir, load_version

#: Tokens per LlamaIndex node: about our 600-character chunks (checked by the chunk counts).
PEER_CHUNK_TOKENS = 150
PEER_OVERLAP_TOKENS = 20


def peer_build(corpus: Path, target: Path, embed_model: Any) -> tuple[Any, int, float]:
    import faiss
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.faiss import FaissVectorStore

    shutil.rmtree(target, ignore_errors=True)
    with timer() as took:
        docs = [
            Document(text=p.read_text(encoding="utf-8"), metadata={"file": p.name})
            for p in sorted(corpus.glob("*.md"))
        ]
        pipeline = IngestionPipeline(
            transformations=[
                SentenceSplitter(chunk_size=PEER_CHUNK_TOKENS, chunk_overlap=PEER_OVERLAP_TOKENS),
                embed_model,
            ]
        )
        nodes = pipeline.run(documents=docs)
        store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
        context = StorageContext.from_defaults(vector_store=store)
        index = VectorStoreIndex(nodes, storage_context=context, embed_model=embed_model)
        index.storage_context.persist(persist_dir=str(target))
    return index, len(nodes), took["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~1k chunks instead of ~10k")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK)
    args = parser.parse_args()
    try:
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    except ImportError as exc:
        raise SystemExit(f"LlamaIndex is missing ({exc}); run pip install -e '.[bench]'.") from exc
    n_docs = 100 if args.quick else 1000
    corpus = generated_corpus(n_docs, work=args.work)
    queries = questions()
    ours = SentenceTransformerEmbedder()
    assert ours.dimension
    model_folder = resolve_model_path(ours.model_id)
    assert Path(model_folder).is_dir(), "the peer loads the bundled folder, never a hub name"
    peer_embed = HuggingFaceEmbedding(
        model_name=model_folder,
        device="cpu",
        embed_batch_size=32,
        normalize=True,
        local_files_only=True,  # passed on to SentenceTransformer: never download
    )
    peer_embed.get_query_embedding("warm up")  # both models loaded before any timing

    load = load_avg()
    index_dir = args.work / f"peer-ours-{n_docs}"
    settings = Settings(documents=corpus, index=index_dir, model=MINILM_MODEL)
    report = full_build(corpus, index_dir, ours)
    default_embedder = create_embedder(MINILM_MODEL, "onnx", cache_dir=args.work / "onnx")
    assert default_embedder.dimension  # exported and loaded before timing
    default_report = full_build(corpus, args.work / f"peer-ours-onnx-{n_docs}", default_embedder)
    peer_index, peer_chunks, peer_s = peer_build(
        corpus, args.work / f"peer-llamaindex-{n_docs}", peer_embed
    )

    version = load_version(current_version_dir(index_dir))  # type: ignore[arg-type]
    assistant = create_assistant(settings, embedder=ours, version=version)
    retriever = peer_index.as_retriever(similarity_top_k=5)
    assistant.ask(queries[0])
    fast = create_assistant(
        settings.with_(backend="onnx"),
        version=version,
        embedder=default_embedder,
    )
    fast.ask(queries[0])
    timings = {
        "ours_search": percentiles(
            timed_runs(lambda q: assistant.retriever.search(version, q, k=5), queries)
        ),
        "ours_dense": percentiles(
            timed_runs(lambda q: assistant.retriever.search(version, q, k=5, mode="dense"), queries)
        ),
        "ours_answer": percentiles(timed_runs(assistant.ask, queries)),
        "ours_search_onnx": percentiles(
            timed_runs(lambda q: fast.retriever.search(version, q, k=5), queries)
        ),
        "ours_answer_onnx": percentiles(timed_runs(fast.ask, queries)),
        "peer_retrieve": percentiles(timed_runs(retriever.retrieve, queries)),
    }
    result = {
        "name": "peer",
        "quick": args.quick,
        "machine": machine(),
        "load_avg": load,
        "documents": n_docs,
        "ours_chunks": report.chunks,
        "ours_build_s": report.seconds,
        "ours_onnx_build_s": default_report.seconds,
        "peer_chunks": peer_chunks,
        "peer_build_s": peer_s,
        **timings,
    }
    ours_rate, peer_rate = report.chunks / report.seconds, peer_chunks / peer_s
    peer_p50 = timings["peer_retrieve"]["p50_ms"]
    md = f"**Build** ({n_docs} generated documents, same model, batch 32; load avg {load})\n\n"
    md += table(
        ["System", "Chunks", "Build s", "Chunks/s", "Speed vs peer"],
        [
            [
                "ours (`build_index`), torch",
                report.chunks,
                round(report.seconds, 1),
                round(ours_rate, 1),
                f"{ours_rate / peer_rate:.2f}× (per chunk), {peer_s / report.seconds:.2f}× (wall)",
            ],
            [
                "ours (`build_index`), ONNX (default)",
                default_report.chunks,
                round(default_report.seconds, 1),
                round(default_report.chunks / default_report.seconds, 1),
                f"{default_report.chunks / default_report.seconds / peer_rate:.2f}× (per chunk), "
                f"{peer_s / default_report.seconds:.2f}× (wall)",
            ],
            [
                "LlamaIndex IngestionPipeline + FAISS",
                peer_chunks,
                round(peer_s, 1),
                round(peer_rate, 1),
                "1.00×",
            ],
        ],
    )
    md += f"\n\n**Query** ({len(queries)} questions, ms)\n\n"
    md += table(
        ["Path", "p50", "p95", "p50 vs peer retrieve"],
        [
            [
                label,
                timings[key]["p50_ms"],
                timings[key]["p95_ms"],
                f"{timings[key]['p50_ms'] / peer_p50:.2f}×",
            ]
            for label, key in (
                ("ours, torch: hybrid search (embed + FAISS + BM25 + fusion)", "ours_search"),
                ("ours, torch: dense search", "ours_dense"),
                ("ours, torch: complete extractive answer", "ours_answer"),
                ("ours, ONNX (default): hybrid search", "ours_search_onnx"),
                ("ours, ONNX (default): complete answer", "ours_answer_onnx"),
                ("LlamaIndex: retriever.retrieve (top 5)", "peer_retrieve"),
            )
        ],
    )
    emit(result, md, args.json)


if __name__ == "__main__":
    main()
