"""The impact report: what happened next to the people on earlier lists (review/impact.py).

Observational, suppressed for federations; metadata carries counts as the report shows
them (7 or fewer hidden, others rounded to 5), never a person.
"""

import dagster as dg

from lists.pseudonyms import PseudonymKeyError, pseudonym_key
from pipelines.lists.assets import federation_summaries
from pipelines.metadata import table
from pipelines.partitions import list_months
from pipelines.resources import RunSettings, Warehouse
from review.impact import OBSERVATIONAL, OUTCOMES, build_impact, write_impact

GROUP = "review"


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "sqlite", "csv"},
    partitions_def=list_months,
    deps=[federation_summaries],
    pool="warehouse",
)
def list_impact(
    context: dg.AssetExecutionContext, warehouse: Warehouse, settings: RunSettings
) -> dg.MaterializeResult:
    """reports/impact/: admissions, A&E attendances and deaths after each earlier list,
    beside people just below the cut-off, by tier and review decision (observational)."""
    try:
        key = pseudonym_key(warehouse.paths, settings.pseudonym_key or None)
    except PseudonymKeyError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from None
    with warehouse.connect(read_only=True) as connection:
        report = build_impact(connection, warehouse.paths, key)
    written = write_impact(warehouse.paths, report)
    headline = [
        r
        for r in report.rows
        if r["level"] == "federation" and r["breakdown"] == "all" and r["horizon_months"] == 12
    ]
    context.log.info(
        f"{context.partition_key}: impact of {len(report.list_months)} list months, "
        f"outcomes to {report.observed_until}"
    )
    return dg.MaterializeResult(
        metadata={
            "observational": OBSERVATIONAL,
            "list_months": len(report.list_months),
            "observed_until": report.observed_until or "",
            "dagster/row_count": len(report.rows),
            "twelve_months_after_each_list": table(
                (
                    {
                        "federation": r["federation_code"],
                        "practices": r["practices"],
                        "list_month": r["list_month"],
                        "group": r["group"],
                        "people": _shown(r["people"]),
                        **{o: _shown(r[f"{o}_people"]) for o in OUTCOMES},
                    }
                    for r in headline
                ),
                {
                    "federation": "string",
                    "practices": "string",
                    "list_month": "string",
                    "group": "string",
                    "people": "string",
                    **dict.fromkeys(OUTCOMES, "string"),
                },
                limit=50,
            ),
            "report": dg.MetadataValue.path(str(warehouse.paths.reports / "impact")),
            "files": ", ".join(written),
        }
    )


def _shown(count: int | None) -> str:
    return "≤7" if count is None else str(count)
