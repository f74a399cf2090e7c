"""The monthly schedule: after the expected delivery day, load the latest delivered month.

Ticks on RISKSTRAT_SCHEDULE_CRON in RISKSTRAT_SCHEDULE_TIMEZONE (default the 10th at
06:00 Europe/London). It requests `monthly_job` for the latest month with a manifest,
keyed by its delivery (month and manifest sha256), and skips when that delivery already
has a run (the landing-zone sensor usually got there first). The sensors in
pipelines.operations.sensors then retrain (quarterly, or on drift) and score and list it.
"""

import dagster as dg

from pipelines.jobs import monthly_job
from pipelines.operations.deliveries import delivery_run_key, manifest_digests
from pipelines.operations.sensors import DELIVERY_TAG
from pipelines.operations.settings import operations_from_environment
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import Warehouse

SETTINGS = operations_from_environment()


@dg.schedule(
    name="monthly_schedule",
    cron_schedule=SETTINGS.cron,
    execution_timezone=SETTINGS.timezone,
    job=monthly_job,
    description="Load the latest delivered month after the expected delivery day; then score and list it.",
)
def monthly_schedule(
    context: dg.ScheduleEvaluationContext, warehouse: Warehouse
) -> dg.RunRequest | dg.SkipReason:
    delivered = manifest_digests(warehouse.landing_path)
    if not delivered:
        return dg.SkipReason(
            f"No month in {warehouse.landing_path} has its manifest.csv yet: the delivery is late."
        )
    month, digest = list(delivered.items())[-1]
    key = delivery_run_key(month, digest)
    earlier = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=monthly_job.name, tags={DELIVERY_TAG: key})
    )
    if any(run.status != dg.DagsterRunStatus.FAILURE for run in earlier):
        return dg.SkipReason(f"{month}'s delivery {digest[:12]}... already has a run.")
    if not context.instance.has_dynamic_partition(EXTRACT_MONTHS, month):
        context.instance.add_dynamic_partitions(EXTRACT_MONTHS, [month])
    return dg.RunRequest(run_key=key, partition_key=month, tags={DELIVERY_TAG: key})


schedules = [monthly_schedule]
