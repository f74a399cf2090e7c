"""The packages keep their layers: plain Python below pipelines/, and nothing imports upwards.

Everything below `pipelines/` runs and tests without Dagster, and a package sits above what
it uses (docs/architecture.md): `synthetic` stands alone (a supplier stand-in, importing no
project package), then `data_contracts` < `warehouse` < `models` < `lists` < `review` < `pipelines`.
`tests` and `benchmarks` may import anything.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

# Packages (or modules) that must never import dagster, directly or through another module.
PLAIN = (
    "synthetic",
    "data_contracts",
    "warehouse",
    "models",
    "lists",
    "review",
    "pipelines.planner",
)

# Module prefix -> layer; the longest matching prefix wins.
LAYER_OF_PREFIX = {
    "synthetic": "synthetic",
    "data_contracts": "data_contracts",
    "warehouse": "warehouse",
    "models": "models",
    "lists": "lists",
    "review": "review",
    "pipelines": "pipelines",
}
LAYERS = ("data_contracts", "warehouse", "models", "lists", "review", "pipelines")


def project_modules() -> dict[str, Path]:
    """Every module of the layered packages, by name."""
    files = [
        path
        for top in LAYER_OF_PREFIX
        if "." not in top
        for path in sorted((REPOSITORY / top).rglob("*.py"))
    ]
    assert files, "found no source files"
    return {module_name(path): path for path in files}


Imports = dict[str, list[tuple[str, int]]]
"""Each project module's imports (`imported_modules`), by module name."""


def project_imports() -> Imports:
    return {name: imported_modules(path) for name, path in project_modules().items()}


def project_module(imported: str, imports: Imports) -> str | None:
    """The project module an import names (`from a.b import name` names `a.b`), else None."""
    parts = imported.split(".")
    for length in range(len(parts), 0, -1):
        if ".".join(parts[:length]) in imports:
            return ".".join(parts[:length])
    return None


def packages_run_by(module: str) -> list[str]:
    """Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` before it."""
    parts = module.split(".")
    return [".".join(parts[:length]) for length in range(1, len(parts))]


def dagster_chain(start: str, imports: Imports) -> list[str] | None:
    """The import chain (module:line) by which importing `start` reaches dagster, else None.

    Read from the source (every import, at the top or inside a function, as the layer scan
    sees them), following project modules and the packages they run: the question an
    interpreter importing each module and watching for dagster answered, without the
    interpreter (which cost ~10 s of CPU importing lightgbm, scikit-learn and GX). Only a
    third-party package importing dagster would escape it; none of the plain packages' does.
    """
    queue = [*packages_run_by(start), start]
    found_by: dict[str, tuple[str, int] | None] = dict.fromkeys(queue)
    while queue:
        module = queue.pop(0)
        for imported, line in imports[module]:
            if imported.split(".")[0].split("_")[0] == "dagster":
                chain, step = [f"{module}:{line}"], found_by[module]
                while step is not None:
                    chain.insert(0, f"{step[0]}:{step[1]}")
                    step = found_by[step[0]]
                return chain
            target = project_module(imported, imports)
            for reached in [*packages_run_by(target), target] if target else []:
                if reached not in found_by:
                    found_by[reached] = (module, line)
                    queue.append(reached)
    return None


def test_the_plain_packages_never_import_dagster() -> None:
    imports = project_imports()
    plain = [name for name in imports if any(name == p or name.startswith(p + ".") for p in PLAIN)]
    assert len(plain) > len(PLAIN), "found no plain modules"
    chains = {name: dagster_chain(name, imports) for name in plain}
    reaching = {name: chain for name, chain in chains.items() if chain is not None}
    assert not reaching, "\n".join(
        f"importing {name} imports dagster, through {' -> '.join(chain)}"
        for name, chain in sorted(reaching.items())
    )


def test_the_dagster_scan_follows_imports_through_modules_and_packages() -> None:
    imports: Imports = {
        "models": [],
        "models.a": [("os.path", 1), ("models.b.helper", 3)],
        "models.b": [("pipelines.x", 5)],
        "pipelines": [],
        "pipelines.x": [("dagster_duckdb.DuckDBResource", 7)],
        "lists": [("lists.c", 2)],
        "lists.c": [("polars", 1)],
        "lists.d": [("lists.c.thing", 4)],
        "review": [("dagster", 9)],
        "review.e": [],
    }
    assert dagster_chain("models.a", imports) == ["models.a:3", "models.b:5", "pipelines.x:7"]
    assert dagster_chain("lists.d", imports) is None
    assert dagster_chain("review.e", imports) == ["review:9"]  # its package runs first
    assert dagster_chain("review", imports) == ["review:9"]
    assert dagster_chain("pipelines.runner", project_imports()) is not None


@dataclass(frozen=True)
class Violation:
    module: str
    imported: str
    line: int

    @property
    def layer(self) -> str:
        return layer_of(self.module)

    @property
    def imported_layer(self) -> str:
        return layer_of(self.imported)

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}, {self.layer}) imports {self.imported} ({self.imported_layer})"


def layer_of(module: str) -> str:
    matches = [p for p in LAYER_OF_PREFIX if module == p or module.startswith(p + ".")]
    return LAYER_OF_PREFIX[max(matches, key=len)] if matches else ""


def may_import(importer: str, imported: str) -> bool:
    if not imported or importer == imported:
        return True
    if importer == "synthetic" or imported == "synthetic":
        # synthetic imports no project package; anything above may use the generator.
        return importer != "synthetic"
    return LAYERS.index(imported) <= LAYERS.index(importer)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """Every module the file imports, at the top or inside functions, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found += [
                (f"{base}.{alias.name}" if base else alias.name, node.lineno)
                for alias in node.names
            ]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, node.lineno))
    return found


def layer_violations() -> list[Violation]:
    violations = []
    for importer, path in project_modules().items():
        for imported, line in imported_modules(path):
            if not may_import(layer_of(importer), layer_of(imported)):
                violations.append(Violation(importer, imported, line))
    return violations


def test_no_module_imports_a_package_above_its_layer() -> None:
    violations = layer_violations()
    assert not violations, "imports above the importer's layer:\n" + "\n".join(map(str, violations))


def test_the_layer_scan_sees_imports_in_every_form() -> None:
    assert layer_of("lists.tables") == "lists" and layer_of("warehouse.home") == "warehouse"
    assert not may_import("models", "lists") and not may_import("synthetic", "warehouse")
    assert may_import("pipelines", "synthetic") and may_import("warehouse", "data_contracts")
    modules = dict(imported_modules(REPOSITORY / "warehouse" / "validation.py"))
    # A function-level import is seen as well as the top-level ones.
    assert "data_contracts.expectations.expectation_suite" in modules
