"""Tables in the Dagster UI are Dagster's own table metadata, with a description where a
column's name alone would not say what it holds."""

from __future__ import annotations

from pipelines.metadata import table


def test_a_table_keeps_its_columns_types_descriptions_and_limit() -> None:
    rows = [{"measure": name, "psi": psi} for name, psi in (("age", 0.01), ("risk", 0.3))]

    value = table(
        rows,
        {"measure": "string", "psi": "float"},
        limit=1,
        descriptions={"psi": "population stability index"},
    )

    assert [(c.name, c.type, c.description) for c in value.schema.columns] == [
        ("measure", "string", None),
        ("psi", "float", "population stability index"),
    ]
    assert [record.data for record in value.records] == [{"measure": "age", "psi": 0.01}]
