"""The house's import figures: modules, import edges between the apps, and import loops.

    .venv/bin/python -m bench.imports

Counts the imports that run (those under ``if TYPE_CHECKING:`` are left out) between the
modules of the project's apps, migrations excluded (they import nothing of the apps: tests/
test_migrations.py). An import loop is a set of modules each reachable from every other
(a strongly connected component of more than one module). The layers themselves are the
import-linter contract in pyproject.toml (``lint-imports``).
"""

from __future__ import annotations

import sys
from collections import Counter

import grimp

APPS = ("portal", "audit", "accounts", "subscriptions", "organisations")


def _app(module: str) -> str:
    return module.split(".", 1)[0]


def _loops(modules: set[str], edges: set[tuple[str, str]]) -> list[set[str]]:
    """Tarjan's strongly connected components of more than one module."""
    successors: dict[str, list[str]] = {m: [] for m in modules}
    for importer, imported in edges:
        successors[importer].append(imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    loops: list[set[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for nxt in successors[module]:
            if nxt not in index:
                visit(nxt)
                low[module] = min(low[module], low[nxt])
            elif nxt in on_stack:
                low[module] = min(low[module], index[nxt])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                loops.append(component)

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return loops


def main() -> None:
    present = [app for app in APPS if _importable(app)]
    graph = grimp.build_graph(*present, exclude_type_checking_imports=True, cache_dir=None)
    modules = {m for m in graph.modules if ".migrations" not in m}
    edges = {
        (importer, imported)
        for importer in modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported in modules and imported != importer
    }
    between = Counter((_app(a), _app(b)) for a, b in edges if _app(a) != _app(b))
    print(f"{len(modules)} modules, {len(edges)} import edges")
    for app in present:
        print(f"  {app}: {sum(1 for m in modules if _app(m) == app)} modules")
    print("between apps (importer -> imported: edges):")
    for (importer, imported), count in sorted(between.items()):
        print(f"  {importer} -> {imported}: {count}")
    loops = _loops(modules, edges)
    print(f"import loops: {len(loops)}")
    for loop in loops:
        print(f"  {len(loop)} modules: {', '.join(sorted(loop))}")


def _importable(package: str) -> bool:
    from importlib.util import find_spec

    return find_spec(package) is not None


if __name__ == "__main__":
    main()
