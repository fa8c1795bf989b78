"""Web: the outer layer that serves the assistant over HTTP.

``api`` (FastAPI routes, limits, the widget's files), ``middleware``, ``ui`` (the Gradio chat and
the feedback store; it never launches itself), ``live`` (background builds, hot swaps, the
documents watcher), ``server`` (the app that mounts them and runs uvicorn) and ``static/``. May
import every stage before it; only ``cli`` imports it.
"""
