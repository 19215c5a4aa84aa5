"""The product's modules import each other in one direction: no import cycles anywhere in
`core/`, `adapters/` and `bot/` (type-checking imports included), and the layers hold — `core`
imports no adapter and no `bot`, adapters import no `bot`, and the chat platforms import only the
conversation layer, never each other."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "adapters", "bot")
PLATFORMS = ("adapters.telegram", "adapters.discord", "adapters.console")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, name: str, modules: set[str]) -> Iterator[str]:
    """Every module `path` (the module `name`) imports, absolute: `from a import b` is `a.b` when
    that is a module (a package handing out its modules is not imported for it), else `a`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules]
            yield from submodules
            if len(submodules) < len(node.names):
                yield base


def import_graph(root: Path) -> dict[str, set[str]]:
    paths = {module_name(p, root): p for package in PACKAGES for p in (root / package).rglob("*.py")}
    modules = set(paths)
    return {
        name: {m for m in imported(path, name, modules) if m in modules and m != name} for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_product_module_imports_itself_back_through_others() -> None:
    graph = import_graph(ROOT)
    assert len(graph) > 50
    assert cycles(graph) == []


def test_the_layers_point_one_way() -> None:
    wrong = []
    for module, targets in import_graph(ROOT).items():
        for target in targets:
            if module.startswith("core") and not target.startswith("core"):
                wrong.append(f"{module} → {target}")
            if module.startswith("adapters") and target.startswith("bot"):
                wrong.append(f"{module} → {target}")
            here = next((p for p in PLATFORMS if module.startswith(p)), None)
            there = next((p for p in PLATFORMS if target.startswith(p)), None)
            if here and there and here != there:
                wrong.append(f"{module} → {target}")
    assert wrong == []


def test_the_checker_finds_a_cycle_and_a_wrong_way_import(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "adapters").mkdir()
    (tmp_path / "bot").mkdir()
    (tmp_path / "core" / "a.py").write_text("from core import b\n")
    (tmp_path / "core" / "b.py").write_text("if False:\n    from core.a import x\n")
    (tmp_path / "adapters" / "c.py").write_text("from .d import y\n")
    (tmp_path / "adapters" / "d.py").write_text("import adapters.c\n")
    (tmp_path / "bot" / "e.py").write_text("from core import a\n")
    assert cycles(import_graph(tmp_path)) == [["adapters.c", "adapters.d"], ["core.a", "core.b"]]
