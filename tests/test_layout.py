"""The package's layout: no import circle, and imports between its parts point one way.

Run as a script to print the import graph between the parts (and any circle):

    .venv/bin/python tests/test_layout.py
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[1] / "hydra_skopt_sweeper"
# what each part may import (besides itself); a module at the package's top is a part of its own
ALLOWED = {
    "errors": set(),
    "problem": {"errors"},
    "records": {"errors"},
    "settings": {"errors", "problem"},
    "search": {"errors", "problem", "records", "settings"},
    "trial": {"errors", "problem", "records", "settings"},
    "insight": {"errors", "problem", "records", "settings", "search"},
    "sweep": {"errors", "problem", "records", "settings", "search", "insight"},
    # scikit-optimize's door is the proposer's own ask/tell: it needs no loop
    "doors": {"errors", "problem", "records", "settings", "sweep", "trial", "search", "insight"},
    # the public faces: the package's own names (the doors' imported on first use) and the
    # Lightning callback's path
    "__init__": {"trial", "doors"},
    "lightning": {"trial"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> Dict[str, Set[str]]:
    """Each module of the package -> the package's modules it imports (at any depth of its code)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                # `from . import canvas` imports the module canvas, not the package's face
                submodules = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in modules]
                imported.update(submodules)
                if len(submodules) < len(node.names) and target in modules:
                    imported.add(target)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names if alias.name in modules)
        imported.discard(name)
        graph[name] = imported
    return graph


def part(module: str) -> str:
    """``hydra_skopt_sweeper.search.model`` -> ``search``; a top-level module is its own part."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def circles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The import circles of ``graph``, each as the modules along it (first repeated last)."""
    found: List[List[str]] = []
    state: Dict[str, int] = {}
    path: List[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                found.append(path[path.index(other):] + [other])
            elif other not in state:
                visit(other)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def part_graph(graph: Dict[str, Set[str]]) -> Dict[str, Dict[str, List[str]]]:
    """part -> the parts it imports -> the imports that make the arrow (``a -> b``)."""
    arrows: Dict[str, Dict[str, List[str]]] = {}
    for module, imported in graph.items():
        for other in imported:
            if part(module) != part(other):
                arrows.setdefault(part(module), {}).setdefault(part(other), []).append(f"{module} -> {other}")
    return arrows


def test_no_module_imports_another_in_a_circle():
    assert circles(import_graph()) == []


def test_a_circle_is_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_imports_between_the_parts_point_one_way():
    arrows = part_graph(import_graph())
    assert set(arrows) <= set(ALLOWED), f"a part the layout does not know: {sorted(set(arrows) - set(ALLOWED))}"
    wrong = {f"{source} -> {target}": made for source, targets in arrows.items() for target, made in targets.items()
             if target not in ALLOWED[source]}
    assert wrong == {}


def test_the_allowed_arrows_have_no_circle_between_parts():
    assert circles({source: set(targets) for source, targets in ALLOWED.items()}) == []


def test_the_names_users_import_keep_their_paths():
    from hydra.utils import get_object

    import hydra_skopt_sweeper
    from hydra_skopt_sweeper.trial import lightning, pruning

    assert (hydra_skopt_sweeper.report, hydra_skopt_sweeper.TrialPruned) == (pruning.report, pruning.TrialPruned)
    # the callback's _target_ in a trainer config written before the package had folders
    assert get_object("hydra_skopt_sweeper.lightning.PruningCallback") is lightning.PruningCallback


if __name__ == "__main__":
    graph = import_graph()
    for source, targets in sorted(part_graph(graph).items()):
        print(f"{source} -> {', '.join(sorted(targets))}")
    found = circles(graph)
    print(f"{len(graph)} modules, {sum(map(len, graph.values()))} imports; circles: "
          + ("; ".join(" -> ".join(c) for c in found) if found else "none"))
    sys.exit(1 if found else 0)


def test_no_module_of_the_package_imports_torch_or_lightning():
    # the core runs where torch is not installed; only a trial imports Lightning, when it runs
    import subprocess

    modules = sorted(_module_name(path) for path in PACKAGE.rglob("*.py"))
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'pytorch_lightning', 'lightning'}))")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert printed.strip() == "[]", printed
