"""The layout is the architecture: one subpackage per stage, data flowing one way.

Every import counts, also one made inside a function (a lazy import is where a circle hides):
a stage imports only the stages before it (``config`` and ``errors`` anywhere), no module
imports another's private names, and no module or function grows past the size caps.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "assistant"
#: The stages in the order data flows through them; each may import only those before it.
ORDER = [
    "text",
    "i18n",
    "ingest",
    "embed",
    "index",
    "answer",
    "evaluation",
    "web",
    "cli",
    "__main__",
]
ANYWHERE = {"config", "errors", "__init__"}
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 80


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str) -> set[str]:
    """Every ``assistant`` module that ``module`` imports, anywhere in its body."""
    path = MODULES[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path).split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            candidates = [n for n in names if n in MODULES] or [target]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        found.update(c for c in candidates if c in MODULES and c != module)
    return found


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


GRAPH = {m: _imports(m) for m in MODULES}


def test_every_module_belongs_to_a_stage() -> None:
    stray = sorted(m for m in MODULES if _stage(m) not in ORDER and _stage(m) not in ANYWHERE)
    assert not stray, f"place these in a stage of ORDER: {stray}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_one_way(module: str) -> None:
    stage = _stage(module)
    if stage in ANYWHERE:
        allowed = ANYWHERE
    else:
        allowed = {*ORDER[: ORDER.index(stage) + 1], *ANYWHERE}
    wrong = sorted(i for i in GRAPH[module] if _stage(i) not in allowed)
    assert not wrong, f"{module} imports later stages: {wrong}"


def test_no_import_circle() -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                circle = path[path.index(target) :] + [target]
                pytest.fail("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])


def test_private_names_stay_in_their_module() -> None:
    offenders = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or "assistant" in (node.module or "")
            ):
                offenders += [f"{module}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not offenders, f"private names imported across modules: {offenders}"


def test_every_stage_says_what_it_owns() -> None:
    for stage in ORDER:
        init = ROOT / stage / "__init__.py"
        if init.exists():
            doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
            assert "import" in doc and len(doc) > 80, f"{init}: say what it owns and may import"


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for module, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        lines = len(source.splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{module}.{node.name}: {length} lines")
    assert not too_long, f"split these: {too_long}"
