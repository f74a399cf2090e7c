"""synthetic/'s modules import each other in one direction only: no import circles.

Every `import synthetic...` and `from synthetic... import ...` counts, wherever it sits:
at the top, under `if TYPE_CHECKING:` or inside a function. A lazy import that hides a
circle is still a circle; the fix is to move the shared type to a module of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import synthetic

PACKAGE = Path(synthetic.__file__).parent


def module_name(path: Path) -> str:
    return "synthetic" if path.name == "__init__.py" else f"synthetic.{path.stem}"


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The modules of synthetic/ that the module at `path` imports, anywhere in its body."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = "synthetic" if node.level else (node.module or "")
            if node.level and node.module:
                base = f"synthetic.{node.module}"
            if base not in modules:
                continue
            # `from synthetic import codes` imports the module synthetic.codes;
            # `from synthetic import generate` imports the package itself.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                imported.add(submodule if submodule in modules else base)
    return imported


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.glob("*.py"))
    modules = {module_name(path) for path in paths}
    return {
        module_name(path): imported_modules(path, modules) - {module_name(path)} for path in paths
    }


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each back edge found by a depth-first search."""
    cycles: list[list[str]] = []
    finished: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for imported in sorted(graph[module]):
            if imported in path:
                cycles.append([*path[path.index(imported) :], imported])
            elif imported not in finished:
                visit(imported, [*path, imported])
        finished.add(module)

    for module in sorted(graph):
        if module not in finished:
            visit(module, [module])
    return cycles


def test_the_import_graph_finds_every_module_and_a_planted_cycle() -> None:
    graph = import_graph()
    assert "synthetic.generator" in graph["synthetic"]
    assert len(graph) == len(list(PACKAGE.glob("*.py")))
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_no_module_of_synthetic_imports_one_that_imports_it_back() -> None:
    cycles = import_cycles(import_graph())
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)
