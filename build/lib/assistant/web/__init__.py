"""Web: the outer layer that serves the assistant over HTTP.

``api`` (FastAPI routes, limits, the widget's files), ``middleware``, ``ui`` (the Gradio chat; it
never launches itself), ``feedback`` (the chat's feedback store), ``live`` (background builds, hot
swaps, the documents watcher), ``server`` (the app that mounts them and runs uvicorn) and
``static/``. ``api`` and ``ui`` serve any ``answer.protocol.AnswerService``; ``live`` and
``server`` own the concrete ``Assistant``. May import every stage before it; only ``cli`` imports
it.
"""
