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


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    """Every import against the layers, as "module → target", sorted."""
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            if module.startswith("core") and not target.startswith("core"):
                wrong.append(f"{module} → {target}")
            if module.startswith("adapters") and target.startswith("bot"):
                wrong.append(f"{module} → {target}")
            here = next((p for p in PLATFORMS if module.startswith(p)), None)
            there = next((p for p in PLATFORMS if target.startswith(p)), None)
            if here and there and here != there:
                wrong.append(f"{module} → {target}")
    return sorted(wrong)


def test_the_layers_point_one_way() -> None:
    assert wrong_way(import_graph(ROOT)) == []


def write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_a_cycle(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "core/a.py": "from core import b\n",
            "core/b.py": "if False:\n    from core.a import x\n",
            "adapters/c.py": "from .d import y\n",
            "adapters/d.py": "import adapters.c\n",
            "bot/e.py": "from core import a\n",
        },
    )
    assert cycles(import_graph(tmp_path)) == [["adapters.c", "adapters.d"], ["core.a", "core.b"]]


def test_the_checker_finds_each_wrong_way_import_and_passes_the_right_ways(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "core/__init__.py": "",
            "core/rules.py": "from adapters.storage import db\n",  # core → adapters
            "adapters/__init__.py": "",
            "adapters/storage/__init__.py": "",
            "adapters/storage/db.py": "from core import rules\nimport bot.main\n",  # → core fine, → bot not
            "adapters/chat/__init__.py": "",
            "adapters/chat/conversation.py": "from core import rules\n",
            "adapters/telegram/__init__.py": "",
            "adapters/telegram/bot.py": (  # the conversation layer fine, another platform not
                "from adapters.chat import conversation\nfrom ..discord.client import Client\n"
            ),
            "adapters/discord/__init__.py": "",
            "adapters/discord/client.py": "from adapters.chat.conversation import Conversation\n",
            "bot/__init__.py": "",
            "bot/main.py": "from adapters.telegram import bot\nfrom adapters.discord import client\n",
        },
    )
    assert wrong_way(import_graph(tmp_path)) == [
        "adapters.storage.db → bot.main",
        "adapters.telegram.bot → adapters.discord.client",
        "core.rules → adapters.storage.db",
    ]
