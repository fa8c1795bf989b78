"""Embed: texts in, normalised vectors out.

``base`` holds the ``Embedder`` protocol and what every backend shares (token pooling into
sentence vectors, length-sorted batches, the bundled model's folder); ``sbert`` (torch) and
``onnxrt`` (ONNX Runtime) are the backends, and ``factory`` is the only module that names them.
Backends import ``base``, never each other. May import ``text``, ``ingest``, ``config``, ``errors``.
"""
