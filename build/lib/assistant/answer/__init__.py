"""Answer: a question in, a cited answer (or a polite refusal) out.

``question`` reads the question once (with ``conversation``, ``cues``, ``places``, ``language``
and ``synonyms``); ``retrieval`` finds passages (dense + BM25, fused, diversified); ``evidence``
scores their sentences; ``composition`` writes the extractive answer and ``generation`` the
optional language model's; ``assistant`` ties them together, ``protocol`` states what the web
layer may use of it, and ``factory`` builds it from settings. May import ``text``, ``ingest``,
``embed``, ``index``, ``config`` and ``errors``.
"""
