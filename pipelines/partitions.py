"""Extract months are partitions that exist once a month's delivery has been seen.

Months are dynamic rather than a fixed monthly calendar because suppliers decide when a
month arrives: the landing-zone sensor and the `riskstrat run` command add a month when
its folder appears, and a month still without `manifest.csv` loads nothing.
"""

from __future__ import annotations

import dagster as dg

EXTRACT_MONTHS = "extract_months"
extract_months = dg.DynamicPartitionsDefinition(name=EXTRACT_MONTHS)

MONTH_RANGE = dg.BackfillPolicy.single_run()
"""Monthly assets materialise a range of months in one run (a first load, a backfill):
the run's fixed costs are paid once, and each asset works through the months oldest first."""

LIST_MONTHS = "list_months"
list_months = dg.DynamicPartitionsDefinition(name=LIST_MONTHS)
"""The months whose lists are published: the partitions of the scores, lists, summaries and
drift. A month joins when it is first listed (`riskstrat run`, the sensors), so the Dagster
UI shows the listed months filled, rather than every loaded month before a model existed as
"missing", inviting a backfill that could never run (no model can score those months)."""

RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
"""The tags that make a run cover a range of months (what a single-run backfill sets)."""


def range_tags(months: list[str]) -> dict[str, str]:
    """Tags of one run over `months`, consecutive partitions oldest first."""
    return {RANGE_START: months[0], RANGE_END: months[-1]}
