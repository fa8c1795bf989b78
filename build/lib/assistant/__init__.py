"""Espoo Sustainability Assistant.

Importing the package switches off everything that would phone home, before any library that reads
these flags at import time (huggingface_hub, transformers, gradio) is loaded. Models are read from
local folders only (embeddings.py, onnx_backend.py), so nothing is downloaded even where an
operator has turned a flag back on.
"""

import os as _os

for _name, _value in (
    ("HF_HUB_OFFLINE", "1"),
    ("TRANSFORMERS_OFFLINE", "1"),
    ("HF_HUB_DISABLE_TELEMETRY", "1"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("GRADIO_ANALYTICS_ENABLED", "False"),
    ("TOKENIZERS_PARALLELISM", "false"),
):
    _os.environ.setdefault(_name, _value)
