"""``make run``: settings -> assistant -> API with the Gradio chat mounted -> uvicorn."""

import os
import sys

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.server import run_server

if __name__ == "__main__":
    try:
        # ASSISTANT_WATCH=0 turns off rebuilding the index when documents/ changes.
        watch = os.environ.get("ASSISTANT_WATCH", "1").strip().lower() in ("1", "true", "yes", "on")
        run_server(Settings.from_env(), watch=watch)
    except AssistantError as exc:
        sys.exit(f"Error: {exc}")
