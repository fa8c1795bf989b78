"""Evaluation: question files (answer_hit, retrieval_hit@k, refusals, latency) and the BEIR
retrieval benchmark. May import every stage before it (``text`` to ``answer``), ``config`` and
``errors``; nothing of the web or the CLI.
"""
