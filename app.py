"""``make run``: settings -> assistant -> API with the Gradio chat mounted -> uvicorn."""

import sys

from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.web.server import run_server

if __name__ == "__main__":
    try:
        settings = Settings.from_env()  # ASSISTANT_WATCH=0: do not rebuild when documents change
        run_server(settings, watch=settings.watch)
    except AssistantError as exc:
        sys.exit(f"Error: {exc}")
