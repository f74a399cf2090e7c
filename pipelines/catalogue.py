"""The Dagster UI's catalogue: who owns each asset, what it holds, and which code makes it.

One table, `CATALOGUE`, gives every asset its owner, its tags (`layer`, and `identifiable`:
whether the asset's table or files hold NHS numbers, which information governance asks
first) and the code its content comes from. `with_catalogue` applies it to the definitions:

- `owners` and `tags` as written here;
- `code_version`: a digest of the source the asset's content comes from (the plain modules
  and SQL folders it calls, and its data contracts), so the UI marks an asset whose code
  changed since it was last materialised, and never one whose code did not;
- for each staged table, `dagster/column_schema` built from its data contract
  (data_contracts/reader.py knows every column: type, required, allowed values, pattern),
  and `dagster/table_name`; the raw assets load several tables each, so they carry one
  schema entry per table (`raw.<feed>`), every column text as delivered.

A new asset without an entry fails `with_catalogue` (and so `dg check defs`), so none is
left unowned.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from dataclasses import dataclass
from importlib.resources.abc import Traversable

import dagster as dg

from data_contracts.reader import Column, Contract, contract_texts, load_contracts

DATA_TEAM = "team:data"
DATA_SCIENCE = "team:data-science"

DAGSTER_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "BOOLEAN": "bool",
    "INTEGER": "int",
    "DOUBLE": "float",
}
PROVENANCE = (
    dg.TableColumn(
        "delivery_month", "string", "extract month, YYYY-MM (empty for reference files)"
    ),
    dg.TableColumn("source_file", "string", "file of the delivery, relative to its month"),
    dg.TableColumn("line_number", "int", "data row of the file, from 1"),
)

GP_FOLDER = dg.TableColumn(
    "practice_code",
    "string",
    "the practice whose gp/<practice_code>/ folder delivered the file",
    constraints=dg.TableColumnConstraints(nullable=False),
)


@dataclass(frozen=True)
class Entry:
    owner: str
    layer: str
    identifiable: bool
    code: tuple[str, ...]
    """Files and folders (package-relative, as `lists/sql`) the asset's content comes from."""
    contracts: tuple[str, ...] = ()
    table: str | None = None
    """The warehouse table the asset is, when it is one table of a data contract."""


STAGING = ("warehouse/staged.py", "data_contracts/sql.py", "data_contracts/reader.py")


def _monthly_feeds() -> tuple[str, ...]:
    return tuple(c.feed for c in load_contracts().values() if c.scope != "reference")


def _staged(feed: str) -> Entry:
    reference = load_contracts()[feed].scope == "reference"
    return Entry(DATA_TEAM, "staged", not reference, STAGING, (feed,), f"staged.{feed}")


@functools.cache
def catalogue() -> dict[str, Entry]:
    """Every asset's entry, keyed by asset key."""
    modelling = (
        "models/training.py",
        "models/boosting.py",
        "models/dataset.py",
        "models/feature_catalogue.py",
    )
    return {
        "reference_data": Entry(
            DATA_TEAM,
            "raw",
            False,
            ("warehouse/reference.py", "warehouse/deliveries.py"),
            ("practices", "lsoa_imd"),
        ),
        "deliveries": Entry(
            DATA_TEAM,
            "raw",
            True,
            ("warehouse/deliveries.py", "warehouse/sql/raw"),
            _monthly_feeds(),
        ),
        **{f"staged_{feed}": _staged(feed) for feed in load_contracts()},
        "quarantined_rows": Entry(
            DATA_TEAM, "staged", True, (*STAGING, "warehouse/sql/quarantine"), _monthly_feeds()
        ),
        "data_quality_report": Entry(
            DATA_TEAM, "staged", False, ("warehouse/quality.py", "warehouse/templates")
        ),
        "type1_opt_out_purge": Entry(DATA_TEAM, "staged", True, ("warehouse/features.py",)),
        "training_set": Entry(
            DATA_SCIENCE,
            "modelling",
            True,
            (*modelling, "warehouse/features.py", "warehouse/sql/features"),
        ),
        "admission_risk_model": Entry(
            DATA_SCIENCE,
            "modelling",
            False,
            (*modelling, "models/calibration.py", "models/registry.py", "models/explanations.py"),
        ),
        "model_evaluation": Entry(
            DATA_SCIENCE,
            "modelling",
            False,
            ("models/evaluation.py", "models/baselines.py", "models/ceiling.py"),
        ),
        "fairness_audit": Entry(DATA_SCIENCE, "modelling", False, ("models/fairness.py",)),
        "model_card": Entry(
            DATA_SCIENCE, "modelling", False, ("models/model_card.py", "models/templates")
        ),
        "risk_scores": Entry(
            DATA_TEAM,
            "lists",
            True,
            ("lists/scores.py", "lists/tiers.py", "models/scoring.py", "models/explanations.py"),
        ),
        "practice_risk_lists": Entry(
            DATA_TEAM,
            "lists",
            True,
            (
                "lists/practice_lists.py",
                "lists/documents.py",
                "lists/rendering.py",
                "lists/sql",
                "lists/templates",
            ),
        ),
        "federation_summaries": Entry(
            DATA_TEAM,
            "lists",
            False,  # counts and pseudonyms only
            ("lists/federation.py", "lists/pseudonyms.py", "lists/sql", "lists/templates"),
        ),
        "population_drift": Entry(DATA_SCIENCE, "monitoring", False, ("models/drift.py",)),
        "list_impact": Entry(
            DATA_TEAM, "monitoring", False, ("review/impact.py", "review/store.py")
        ),  # counts, rates and suppressed federation rows only
    }


def with_catalogue(definitions: dg.Definitions) -> dg.Definitions:
    """`definitions` with every asset's owner, tags, code version and, for contract tables,
    column schema. Raises KeyError naming an asset the catalogue does not know."""
    entries = catalogue()

    def describe(spec: dg.AssetSpec) -> dg.AssetSpec:
        name = spec.key.to_user_string()
        if name not in entries:
            raise KeyError(f"asset {name} has no entry in pipelines/catalogue.py")
        entry = entries[name]
        metadata = dict(spec.metadata)
        contracts = load_contracts()
        if entry.table is not None:
            [feed] = entry.contracts
            metadata["dagster/column_schema"] = dg.MetadataValue.table_schema(
                column_schema(contracts[feed])
            )
            metadata["dagster/table_name"] = dg.MetadataValue.text(entry.table)
        elif entry.layer == "raw":  # one asset loads several raw tables: a schema each
            for feed in entry.contracts:
                metadata[f"raw.{feed}"] = dg.MetadataValue.table_schema(
                    column_schema(contracts[feed], raw=True)
                )
        return spec.replace_attributes(
            owners=[entry.owner],
            tags={
                **spec.tags,
                "layer": entry.layer,
                "identifiable": "yes" if entry.identifiable else "no",
            },
            code_version=code_version(entry),
            metadata=metadata,
        )

    return definitions.map_resolved_asset_specs(func=describe)


def column_schema(contract: Contract, *, raw: bool = False) -> dg.TableSchema:
    """A contract's staged table (provenance, the practice of a GP file's folder, then every
    contract column, typed), or with `raw` its raw table: provenance and the contract's
    columns, each held as delivered, as text."""
    folder = [] if raw or contract.scope != "gp" else [GP_FOLDER]
    return dg.TableSchema(
        columns=[*PROVENANCE, *folder, *(_column(c, raw) for c in contract.columns)]
    )


def _column(column: Column, raw: bool = False) -> dg.TableColumn:
    rules = []
    if column.allowed_values:
        rules.append("one of " + ", ".join(column.allowed_values))
    if column.pattern:
        rules.append(f"matches {column.pattern}")
    if column.minimum is not None or column.maximum is not None:
        rules.append(f"between {column.minimum} and {column.maximum}")
    return dg.TableColumn(
        column.name,
        "string" if raw else DAGSTER_TYPES[column.physical_type],
        description=column.description or None,
        constraints=dg.TableColumnConstraints(nullable=not column.required, other=rules),
    )


def code_version(entry: Entry) -> str:
    """sha256 (first 12 hex digits) of the entry's source files and contracts."""
    digest = hashlib.sha256()
    for path in entry.code:
        for name, content in _sources(path):
            digest.update(name.encode() + b"\0" + content + b"\0")
    texts = contract_texts()
    for feed in entry.contracts:
        digest.update(f"contract {feed}\0".encode() + texts[feed].encode())
    return digest.hexdigest()[:12]


def sources_digest(paths: tuple[str, ...]) -> str:
    """sha256 (first 12 hex digits) of every source file under `paths` (package folders or
    files, as `warehouse`), with the data contracts: changes with any of their code."""
    digest = hashlib.sha256()
    for path in paths:
        for name, content in _sources(path):
            digest.update(name.encode() + b"\0" + content + b"\0")
    for feed, text in sorted(contract_texts().items()):
        digest.update(f"contract {feed}\0".encode() + text.encode())
    return digest.hexdigest()[:12]


def _sources(path: str) -> list[tuple[str, bytes]]:
    """(name, bytes) of a package file, or of every file under a package folder, sorted."""
    package, _, inside = path.partition("/")
    root = importlib.resources.files(package).joinpath(inside)
    if root.is_file():
        return [(path, root.read_bytes())]
    if not root.is_dir():
        raise FileNotFoundError(f"pipelines/catalogue.py names {path}, which does not exist")
    return sorted(_walk(root, path))


def _walk(folder: Traversable, name: str) -> list[tuple[str, bytes]]:
    found = []
    for entry in folder.iterdir():
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            found += _walk(entry, f"{name}/{entry.name}")
        else:
            found.append((f"{name}/{entry.name}", entry.read_bytes()))
    return found
