"""The riskstrat Dagster code location: `dagster dev -m pipelines.definitions`.

Configured by RISKSTRAT_LANDING and RISKSTRAT_HOME (see pipelines.settings).
"""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import lists_job, model_job, monthly_job, reference_job
from pipelines.lists import assets as lists_assets
from pipelines.lists import checks as lists_checks
from pipelines.loading import assets as loading_assets
from pipelines.loading import checks as loading_checks
from pipelines.modelling import assets as modelling_assets
from pipelines.modelling import checks as modelling_checks
from pipelines.operations import assets as operations_assets
from pipelines.operations.freshness import with_lists_freshness
from pipelines.operations.schedules import schedules
from pipelines.operations.sensors import sensors
from pipelines.resources import Warehouse, warehouse_from_environment
from pipelines.validation import assets as validation_assets
from pipelines.validation.checks import monthly_checks, reference_checks
from pipelines.validation.console import console_without_stack_traces


def build_definitions(warehouse: Warehouse) -> dg.Definitions:
    """All assets, checks and jobs, bound to one home's warehouse."""
    definitions = dg.Definitions(
        assets=[
            *dg.load_assets_from_modules([lists_assets, loading_assets, validation_assets, modelling_assets]),
            operations_assets.population_drift,
        ],
        asset_checks=[
            *dg.load_asset_checks_from_modules([lists_checks]),
            *dg.load_asset_checks_from_modules([loading_checks, modelling_checks]),
            *reference_checks,
            *monthly_checks,
        ],
        jobs=[lists_job, reference_job, monthly_job, model_job],
        schedules=schedules,
        sensors=sensors,
        resources={"warehouse": warehouse},
        loggers={"console": console_without_stack_traces},
        executor=dg.in_process_executor,
    )
    return with_lists_freshness(definitions)


defs = build_definitions(warehouse_from_environment())
