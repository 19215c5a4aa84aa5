"""core/ imports only the standard library (and itself)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"


def outside_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ("core", "__future__"):
                found.append(f"{path.name} imports {name}")
    return found


def test_core_imports_only_the_standard_library():
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 5
    assert [bad for path in files for bad in outside_imports(path)] == []


def test_the_checker_catches_an_outside_import(tmp_path):
    module = tmp_path / "leaky.py"
    module.write_text("import os\nimport sqlalchemy.orm\nfrom adapters.storage import sql\nfrom core import errors\n")
    assert outside_imports(module) == ["leaky.py imports sqlalchemy.orm", "leaky.py imports adapters.storage"]
