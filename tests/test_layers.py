"""The packages keep their layers: plain Python below pipelines/, and nothing imports upwards.

Everything below `pipelines/` runs and tests without Dagster, and a package sits above what
it uses (docs/architecture.md): `synthetic` stands alone (a supplier stand-in, importing no
project package), then `data_contracts` < `warehouse` < `models` < `lists` < `review` < `pipelines`.
`tests` and `benchmarks` may import anything.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
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

# Run in a fresh interpreter: import every module of the plain packages, and note which
# project modules were being imported when dagster first was.
_IMPORT_EVERY_MODULE = r"""
import importlib, importlib.abc, json, pkgutil, sys, traceback

repository, targets = sys.argv[1], json.loads(sys.argv[2])
culprit = []

class WatchForDagster(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "dagster" and not culprit:
            culprit.extend(
                f"{frame.filename.removeprefix(repository + '/')}:{frame.lineno}"
                for frame in traceback.extract_stack()
                if frame.filename.startswith(repository) and "/tests/" not in frame.filename
            )
        return None

sys.meta_path.insert(0, WatchForDagster())
names = []
for target in targets:
    module = importlib.import_module(target)
    names.append(target)
    if hasattr(module, "__path__"):
        names += [info.name for info in pkgutil.walk_packages(module.__path__, target + ".")]
first = None
for name in names:
    importlib.import_module(name)
    if first is None and "dagster" in sys.modules:
        first = name
print(json.dumps({"modules": names, "first": first, "chain": culprit}))
"""


def present(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def test_the_plain_packages_never_import_dagster() -> None:
    targets = [name for name in PLAIN if present(name)]
    completed = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE, str(REPOSITORY), json.dumps(targets)],
        cwd=REPOSITORY, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])
    assert len(result["modules"]) > len(targets), "walked no modules"
    assert result["first"] is None, (
        f"importing {result['first']} imports dagster, through "
        + " -> ".join(result["chain"] or ["(no project frame)"])
    )


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
    files = [
        path
        for top in LAYER_OF_PREFIX
        if "." not in top
        for path in sorted((REPOSITORY / top).rglob("*.py"))
    ]
    assert files, "found no source files"
    for path in files:
        importer = module_name(path)
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
