"""Data flows one way: each module imports only modules before it (config and errors anywhere).

Lazy imports inside functions are allowed to reach later modules only for optional plug-ins
(``embeddings.create_embedder`` -> ``onnx_backend``, ``answer`` -> ``generation``, ``cli`` ->
``server``); module-level imports must follow the order.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "assistant"
ORDER = [
    "documents",
    "chunking",
    "embeddings",
    "onnx_backend",
    "lexical",
    "places",
    "cues",
    "synonyms",
    "ann",
    "sentences",
    "words",
    "index",
    "progress",
    "build",
    "retrieval",
    "evidence",
    "generation",
    "conversation",
    "language",
    "composition",
    "answer",
    "evaluation",
    "beir",
    "status",
    "factory",
    "live",
    "middleware",
    "api",
    "ui",
    "server",
    "cli",
    "__main__",
]
ANYWHERE = {"config", "errors", "__init__"}
OUTER = {"api", "ui", "cli"}


def _imports(path: Path) -> set[str]:
    """Module-level imports (a function-level import of an optional backend is a plug-in point)."""
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant."):
            found.add(node.module.split(".")[1])
    return found


def test_every_module_is_placed_in_the_order() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - ANYWHERE
    assert modules <= set(ORDER), f"place these in ORDER: {sorted(modules - set(ORDER))}"


def test_imports_flow_one_way() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.stem in ANYWHERE:
            continue
        rank = ORDER.index(path.stem)
        for imported in _imports(path) - ANYWHERE:
            assert ORDER.index(imported) < rank, f"{path.stem} imports {imported} (later layer)"
            if path.stem in OUTER:
                assert imported not in OUTER, f"outer layer {path.stem} imports {imported}"


def test_modules_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines <= 400, f"{path.name} has {lines} lines; split it"
