"""FAISS search settings: an HNSW graph beside the exact vectors for large indexes, one thread.

The flat ``IndexIDMap2`` stays the source of truth (incremental builds remove and reuse vectors
there); from ``ANN_THRESHOLD`` vectors on, a version also carries an HNSW graph that searches use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ANN = "ann.faiss"
#: From this many vectors on, searches use an HNSW graph: exact search over 100k vectors took
#: 16-30 ms per query on the 2-core server, HNSW ~1 ms (docs/benchmarks.md).
ANN_THRESHOLD = 50_000
#: HNSW graph degree, construction and search breadth (recall@10 >= 0.98 at 100k vectors).
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128


def _faiss() -> ModuleType:
    import faiss

    return faiss


def load_ann(folder: Path, vectors: Any) -> Any:
    """The version's HNSW graph, or None (then search is exact) when absent or unusable."""
    path = folder / ANN
    if not path.is_file():
        return None
    faiss = _faiss()
    try:
        ann = faiss.read_index(str(path))
    except RuntimeError:
        log.warning(
            "Ignoring the damaged %s of index version %s: searching exactly.", ANN, folder.name
        )
        return None
    if ann.ntotal != vectors.ntotal:
        log.warning(
            "Ignoring the stale %s of index version %s: searching exactly.", ANN, folder.name
        )
        return None
    faiss.downcast_index(ann.index).hnsw.efSearch = HNSW_EF_SEARCH
    return ann


def build_ann(vectors: Any) -> Any:
    """An HNSW graph over the vectors of a flat ``IndexIDMap2``, under the same ids."""
    faiss = _faiss()
    flat = faiss.downcast_index(vectors.index)
    data = flat.reconstruct_n(0, flat.ntotal)
    ids = faiss.vector_to_array(vectors.id_map).astype(np.int64)
    # Inner product on normalised vectors = cosine, as in the flat index.
    hnsw = faiss.IndexHNSWFlat(int(vectors.d), HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    ann = faiss.IndexIDMap(hnsw)
    ann.add_with_ids(np.ascontiguousarray(data, dtype=np.float32), ids)
    return ann


def serve_single_threaded() -> None:
    """One FAISS thread per search: for single queries OpenMP's spinning costs more than it gains.

    Measured on the 2-core server under load: hybrid search p50 7.9 ms -> 0.8 ms.
    """
    import faiss

    faiss.omp_set_num_threads(1)
