"""Imports point one way: the command line imports the command modules, never the reverse."""

from __future__ import annotations

import ast
from pathlib import Path

import swrules

PACKAGE = Path(swrules.__file__).parent


def _imports_of(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_but_the_entry_point_imports_the_command_line() -> None:
    importers = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name not in ("cli.py", "__main__.py") and "swrules.cli" in _imports_of(path)
    )
    assert importers == []
