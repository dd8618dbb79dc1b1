"""The loader's tree stays easy to find one's way in: small modules, no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.harness import ROOT

LOADER = ROOT / "loader"
MODULES = {
    ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
    for p in LOADER.rglob("*.py")
}


def _imports(name: str, path: Path) -> set[str]:
    """The loader modules ``name`` imports, at its top or inside a function (a lazy import is
    still a dependency), leaving out ``if TYPE_CHECKING:`` blocks."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*parts, *([base] if base else [])])
                submodules = {f"{base}.{a.name}" for a in child.names} & MODULES.keys()
                found.update(submodules)
                if len(submodules) < len(child.names):
                    found.add(base)
            visit(child)

    visit(ast.parse(path.read_text()))
    return (found & MODULES.keys()) - {name}


def test_no_import_cycle_in_the_loader() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    cycles = []

    def walk(name: str, trail: list[str]) -> None:
        for other in sorted(graph[name]):
            if other in trail:
                cycles.append([*trail[trail.index(other) :], other])
            elif other not in done:
                walk(other, [*trail, other])
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            walk(name, [name])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_loader_module_is_over_350_lines() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in MODULES.values()}
    assert {path: n for path, n in sizes.items() if n > 350} == {}
