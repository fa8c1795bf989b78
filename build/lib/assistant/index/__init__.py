"""Index: the on-disk, versioned index and how it is built.

``store`` (one version: FAISS vectors, SQLite chunks, manifest; atomic publish), ``bm25``,
``ann`` (HNSW for large indexes), ``sentences`` and ``words`` (the sentence and word vector
tables), ``changes`` (which documents changed since the live version), ``build`` (incremental,
crash-safe), ``progress`` (bars), ``status`` and ``factory`` (building and loading with the
settings). May import ``text``, ``ingest``, ``embed``, ``config`` and ``errors``.
"""
