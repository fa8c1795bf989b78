"""Ingest: documents in, chunks out.

Owns the loaders (Markdown with front matter, text, HTML, PDF; a bad file becomes a ``Skipped``
with its reason) and chunking (sections by heading, whole-sentence chunks, answer units). Pure
functions on files and text. May import ``text``, ``config`` and ``errors`` only.
"""
