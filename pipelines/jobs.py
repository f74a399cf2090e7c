"""Jobs the CLI, schedules and sensors launch."""

from __future__ import annotations

import dagster as dg

from pipelines.lists.assets import federation_summaries, practice_risk_lists, risk_scores
from pipelines.loading.assets import deliveries, reference_data
from pipelines.operations.assets import population_drift, type1_opt_out_purge
from pipelines.review.assets import list_impact
from pipelines.validation.assets import data_quality_report, staged_extract_month, staged_reference

TRANSIENT_RETRY = dg.RetryPolicy(
    max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
"""Retries a step that failed on a transient error (the warehouse still locked after its own
60 s wait, a file share blip). Steps that fail on the data raise dg.Failure(allow_retries=False)
and are not retried."""

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(reference_data, staged_reference),
    description="Reload the practices and LSOA reference files, and stage them.",
    op_retry_policy=TRANSIENT_RETRY,
)

monthly_job = dg.define_asset_job(
    "monthly_job",
    selection=dg.AssetSelection.assets(
        deliveries, staged_extract_month, data_quality_report, type1_opt_out_purge
    ),
    description="Load and validate one extract month; purge Type 1 opt-outs from every derived table.",
    op_retry_policy=TRANSIENT_RETRY,
)

model_job = dg.define_asset_job(
    "model_job",
    selection=dg.AssetSelection.groups("modelling"),
    description="Train, evaluate and audit the admission-risk model on every loaded month.",
    op_retry_policy=TRANSIENT_RETRY,
)

lists_job = dg.define_asset_job(
    "lists_job",
    selection=dg.AssetSelection.assets(
        risk_scores, practice_risk_lists, federation_summaries, population_drift, list_impact
    ),
    description="Score one month with the current model and write the practice lists, federation "
    "summaries and the impact report.",
    op_retry_policy=TRANSIENT_RETRY,
)
