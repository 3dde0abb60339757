"""docs/cli.md documents the command line that is really there (``llmv2x.cli.build_parser``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmv2x.cli import build_parser

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(
    parser: argparse.ArgumentParser, prefix: str = ""
) -> dict[str, argparse.ArgumentParser]:
    """Every leaf sub-command, ``"instance generate"`` style, with its parser."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                deeper = _commands(sub, f"{prefix}{name} ")
                found.update(deeper or {f"{prefix}{name}": sub})
    return found


def test_every_command_has_a_section():
    text = PAGE.read_text(encoding="utf-8")
    commands = _commands(build_parser())
    assert "solve" in commands and "instance generate" in commands
    missing = [name for name in commands if f"## `llmv2x {name}`" not in text]
    assert not missing, f"docs/cli.md has no section for: {missing}"


def test_every_long_option_is_mentioned():
    text = PAGE.read_text(encoding="utf-8")
    missing = []
    for name, sub in _commands(build_parser()).items():
        if name == "instance generate":
            sub.format_help()  # its scenario flags are added when first used
            continue  # those flags are listed in data-format.md, linked from the page
        for action in sub._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and f"`{flag}" not in text and f" {flag}" not in text:
                    missing.append(f"{name} {flag}")
    assert not missing, f"options missing from docs/cli.md: {missing}"


def test_every_method_choice_is_in_the_table():
    text = PAGE.read_text(encoding="utf-8")
    solve = _commands(build_parser())["solve"]
    (method,) = [a for a in solve._actions if "--method" in a.option_strings]
    assert method.choices, "--method has no choices"
    missing = [m for m in method.choices if f"| `{m}` |" not in text]
    assert not missing, f"methods missing from the table of docs/cli.md: {missing}"
