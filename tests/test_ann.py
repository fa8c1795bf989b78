"""The HNSW switch: large indexes get an ANN graph that agrees with exact search; small ones don't.

Vectors are clustered random ones (mechanics and recall of the index, not answer quality).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FakeEmbedder, copy_default_documents

from assistant.index import store as index_module
from assistant.index.build import build_index
from assistant.index.sentences import SentenceVectors
from assistant.index.store import (
    ANN,
    Manifest,
    load_index,
    load_version,
    new_vector_index,
    save_version,
)
from assistant.ingest.chunking import Chunk

DIM = 32


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 20 + 1, DIM))
    vectors = centres[rng.integers(0, len(centres), n)] + 0.4 * rng.standard_normal((n, DIM))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def _save(folder: Path, vectors: np.ndarray, *, ann_threshold: int) -> None:
    n = len(vectors)
    ids = np.arange(1000, 1000 + n, dtype=np.int64)  # ids that are not row numbers
    flat = new_vector_index(DIM)
    flat.add_with_ids(vectors, ids)
    chunks = {
        int(i): Chunk(
            id=f"c{i}",
            document=f"d{i // 5}",
            title="t",
            section="",
            text=f"passage number {i}",
            start=0,
            end=10,
        )
        for i in ids
    }
    manifest = Manifest(model="fake", dimension=DIM, chunking={"size": 600, "overlap": 1})
    sentences = SentenceVectors.collect({}, DIM)
    save_version(
        folder,
        manifest,
        flat,
        chunks,
        {i: "" for i in chunks},
        sentences,
        ann_threshold=ann_threshold,
    )


def test_small_index_searches_exactly(tmp_path: Path) -> None:
    _save(tmp_path / "v", _clustered(300), ann_threshold=1000)
    version = load_version(tmp_path / "v")
    assert not (tmp_path / "v" / ANN).exists()
    assert version.ann is None


def test_large_index_uses_hnsw_with_high_recall(tmp_path: Path) -> None:
    vectors = _clustered(3000)
    _save(tmp_path / "v", vectors, ann_threshold=1000)
    version = load_version(tmp_path / "v")
    assert (tmp_path / "v" / ANN).is_file()
    assert version.ann is not None and version.ann.ntotal == 3000
    rng = np.random.default_rng(1)
    queries = vectors[rng.integers(0, 3000, 100)] + 0.1 * rng.standard_normal((100, DIM))
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    approx = version.dense_search(queries, 10)
    _, exact = version.vectors.search(queries, 10)
    recall = np.mean(
        [len({i for i, _ in a} & set(e)) / 10 for a, e in zip(approx, exact, strict=True)]
    )
    assert recall >= 0.98
    # Same ids and cosine scores as the flat index.
    fid, score = approx[0][0]
    assert fid in version.chunks
    assert score == pytest.approx(float(version.vectors_of([fid])[0] @ queries[0]), abs=1e-5)


def test_stale_graph_is_ignored(tmp_path: Path) -> None:
    _save(tmp_path / "v", _clustered(1200), ann_threshold=1000)
    _save(tmp_path / "w", _clustered(1100), ann_threshold=1000)
    (tmp_path / "w" / ANN).replace(tmp_path / "v" / ANN)  # a graph of another size
    assert load_version(tmp_path / "v").ann is None


def _small_ann_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, dict[str, object]]:
    """Two documents built with an HNSW graph (threshold lowered to 5 vectors)."""
    monkeypatch.setattr(index_module, "ANN_THRESHOLD", 5)
    docs = copy_default_documents(tmp_path / "docs", "city-bikes.md", "climate-goals-history.md")
    index_dir = tmp_path / "index"
    kwargs = dict(
        documents_dir=docs,
        index_dir=index_dir,
        embedder=FakeEmbedder(),
        chunk_size=600,
        chunk_overlap=1,
    )
    build_index(**kwargs)  # type: ignore[arg-type]
    return docs, index_dir, kwargs


def test_incremental_build_keeps_graph_in_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, index_dir, kwargs = _small_ann_index(tmp_path, monkeypatch)
    (docs / "city-bikes.md").write_text(
        (docs / "city-bikes.md").read_text() + "\nCity bikes return in April.\n"
    )
    report = build_index(**kwargs)  # type: ignore[arg-type]
    assert report.changed == 1
    version = load_version(index_dir / (index_dir / "CURRENT").read_text().strip())
    assert version.ann is not None and version.ann.ntotal == len(version)
    fid = max(version.chunks)
    hits = version.dense_search(version.vectors_of([fid]), 1)[0]
    assert hits[0][0] == fid


def test_served_version_maps_flat_vectors_and_still_builds_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, index_dir, kwargs = _small_ann_index(tmp_path, monkeypatch)
    chunking = {"size": 600, "overlap": 1}
    served = load_index(index_dir, model="fake-hash-embedder", chunking=chunking)
    fid = min(served.chunks)
    vector = served.vectors_of([fid])
    assert served.dense_search(vector, 1)[0][0][0] == fid
    (docs / "city-bikes.md").unlink()
    report = build_index(**kwargs)  # type: ignore[arg-type]  # the builder's own, writable copy
    assert report.removed == 1
    assert served.dense_search(vector, 1)[0][0][0] == fid  # the served version is untouched
