"""Answer: a question in, a cited answer (or a polite refusal) out.

``retrieval`` (dense + BM25, fused, diversified), question analysis (``conversation``, ``cues``,
``places``, ``language``, ``synonyms``), ``evidence`` (sentence scoring), ``composition`` (the
extractive answer), ``generation`` (the optional language model), ``assistant`` (the ``Assistant``
that ties them together) and ``factory`` (settings -> Assistant). May import ``text``, ``ingest``,
``embed``, ``index``, ``config`` and ``errors``.
"""
