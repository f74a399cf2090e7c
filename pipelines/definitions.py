"""The riskstrat Dagster code location: `dg dev` (or `dagster dev -m pipelines.definitions`).

`defs` reads its configuration from the environment through Dagster (`dg.EnvVar`):
RISKSTRAT_HOME (warehouse, reports, outbox; required) and RISKSTRAT_LANDING (the landing
zone; required); optionally RISKSTRAT_TRUTH, RISKSTRAT_RETRAIN_EVERY,
RISKSTRAT_DRIFT_THRESHOLD, RISKSTRAT_PSEUDONYM_KEY, RISKSTRAT_SCHEDULE_CRON and
RISKSTRAT_SCHEDULE_TIMEZONE. `riskstrat run` calls `build_definitions` with its own values.
"""

from __future__ import annotations

import dagster as dg

from models.drift import DRIFT_THRESHOLD
from models.retraining import DEFAULT_RETRAIN_EVERY
from pipelines.catalogue import with_catalogue
from pipelines.jobs import lists_job, model_job, monthly_job, reference_job
from pipelines.lists import assets as lists_assets
from pipelines.lists import checks as lists_checks
from pipelines.loading import assets as loading_assets
from pipelines.loading import checks as loading_checks
from pipelines.modelling import assets as modelling_assets
from pipelines.modelling import checks as modelling_checks
from pipelines.operations import assets as operations_assets
from pipelines.operations.freshness import with_lists_freshness
from pipelines.operations.schedules import DEFAULT_CRON, DEFAULT_TIMEZONE, build_monthly_schedule
from pipelines.operations.sensors import sensors
from pipelines.resources import RunSettings, Warehouse
from pipelines.review import assets as review_assets
from pipelines.validation import assets as validation_assets
from pipelines.validation.checks import monthly_checks, reference_checks
from pipelines.validation.console import console_without_stack_traces


def build_definitions(
    warehouse: Warehouse,
    settings: RunSettings,
    *,
    cron: str = DEFAULT_CRON,
    timezone: str = DEFAULT_TIMEZONE,
) -> dg.Definitions:
    """All assets, checks, jobs, schedules and sensors, bound to one home and its settings."""
    definitions = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules(
                [lists_assets, loading_assets, validation_assets, modelling_assets]
            ),
            operations_assets.population_drift,
            operations_assets.type1_opt_out_purge,
            review_assets.list_impact,
        ],
        asset_checks=[
            *dg.load_asset_checks_from_modules([lists_checks]),
            *dg.load_asset_checks_from_modules([loading_checks, modelling_checks]),
            *reference_checks,
            *monthly_checks,
        ],
        jobs=[lists_job, reference_job, monthly_job, model_job],
        schedules=[build_monthly_schedule(cron, timezone)],
        sensors=sensors,
        resources={"warehouse": warehouse, "settings": settings},
        loggers={"console": console_without_stack_traces},
        executor=dg.in_process_executor,
    )
    return with_lists_freshness(with_catalogue(definitions))


def _optional(name: str, default: str) -> str:
    return dg.EnvVar(name).get_value(default) or default


defs = build_definitions(
    Warehouse(home=dg.EnvVar("RISKSTRAT_HOME")),
    RunSettings(
        landing=dg.EnvVar("RISKSTRAT_LANDING"),
        truth=_optional("RISKSTRAT_TRUTH", ""),
        retrain_every_months=int(_optional("RISKSTRAT_RETRAIN_EVERY", str(DEFAULT_RETRAIN_EVERY))),
        drift_threshold=float(_optional("RISKSTRAT_DRIFT_THRESHOLD", str(DRIFT_THRESHOLD))),
        pseudonym_key=_optional("RISKSTRAT_PSEUDONYM_KEY", ""),
    ),
    cron=_optional("RISKSTRAT_SCHEDULE_CRON", DEFAULT_CRON),
    timezone=_optional("RISKSTRAT_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE),
)
