"""The freshness policy on the monthly lists, so that a missed month shows in the Dagster UI.

Lists are made once a month, whenever the month's delivery lands (sensor) or on the 10th
(schedule). A list older than 32 days warns and older than 35 days fails: a month has
been missed. Time-window rather than cron because a delivery may land on any day.
"""

import datetime

import dagster as dg

LISTS_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=datetime.timedelta(days=35), warn_window=datetime.timedelta(days=32)
)
MONTHLY_OUTPUTS = dg.AssetSelection.assets(
    "risk_scores", "practice_risk_lists", "federation_summaries"
)


def with_lists_freshness(definitions: dg.Definitions) -> dg.Definitions:
    return definitions.map_resolved_asset_specs(
        func=lambda spec: dg.apply_freshness_policy(spec, LISTS_FRESHNESS),
        selection=MONTHLY_OUTPUTS,
    )
