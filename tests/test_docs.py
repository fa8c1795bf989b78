"""The docs match the code: the CLI reference is regenerated, every setting and route documented."""

from __future__ import annotations

import importlib.util
from dataclasses import fields
from pathlib import Path

from assistant.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_cli_reference_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_cli", ROOT / "docs" / "gen_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == module.render(), (
        "docs/cli.md is stale: run `make docs`"
    )


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for f in fields(Settings):
        assert f"`ASSISTANT_{f.name.upper()}`" in text, f"ASSISTANT_{f.name.upper()} undocumented"


def test_every_route_is_documented() -> None:
    from fastapi.routing import APIRoute
    from test_i18n import Echo

    from assistant.web.api import create_api

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    echo = Echo(Settings())
    app = create_api(echo, echo.settings)  # type: ignore[arg-type]
    routes = {r.path for r in app.routes if isinstance(r, APIRoute) and r.include_in_schema}
    assert {"/api/ask", "/api/admin/documents/{name}", "/api/admin/questions"} <= routes
    for route in sorted(routes | {"/widget.js", "/embed", "/docs"}):
        assert f"`{route}" in readme or f" {route}" in readme, f"{route} missing from README"


def test_readme_quick_start_is_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\nrun:" in makefile and "\ntest:" in makefile


def test_every_tuning_number_is_documented() -> None:
    from assistant.answer.tuning import DEFAULT, Tuning

    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for f in fields(Tuning):
        row = f"| `{f.name}` | `{getattr(DEFAULT, f.name)}` |"
        assert row in text, f"Tuning.{f.name} undocumented or its default stale in settings.md"
