"""The monthly outputs carry a freshness policy, so a missed month shows in the Dagster UI."""

from __future__ import annotations

import dagster as dg


def test_the_lists_carry_a_freshness_policy_so_a_missed_month_shows():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in ("risk_scores", "practice_risk_lists", "federation_summaries"):
        policy = graph.get(dg.AssetKey(name)).freshness_policy
        assert isinstance(policy, dg.FreshnessPolicy), name
    assert (
        dg.AssetKey("population_drift")
        in defs.resolve_job_def("lists_job").asset_layer.executable_asset_keys
    )
