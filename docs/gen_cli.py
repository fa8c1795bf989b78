"""Regenerate docs/cli.md from the CLI's own --help (run by `make docs`; checked by the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from assistant.cli import cli

COMMANDS = [
    [],
    ["build"],
    ["search"],
    ["status"],
    ["ask"],
    ["eval"],
    ["train-scorer"],
    ["train-reader"],
    ["bench", "beir"],
    ["serve"],
]


def render() -> str:
    runner = CliRunner()
    parts = [
        "# Command line reference\n",
        "Generated from `espoo-assistant --help` by `make docs`; do not edit by hand.",
        "Every command also runs as `python -m assistant …`.\n",
    ]
    for command in COMMANDS:
        result = runner.invoke(
            cli, [*command, "--help"], prog_name="espoo-assistant", terminal_width=100
        )
        title = " ".join(["espoo-assistant", *command])
        parts.append(f"## `{title}`\n\n```text\n{result.output.rstrip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    target = Path(__file__).with_name("cli.md")
    target.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {target}\n")
