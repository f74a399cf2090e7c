"""The monthly schedule: after the expected delivery day, load the latest delivered month.

Ticks on its cron in its time zone (default the 10th at 06:00 Europe/London; set by
`build_definitions`). It requests `monthly_job` for the latest month with a manifest,
keyed by its delivery (month and manifest sha256), and skips when that delivery already
has a run (the landing-zone sensor usually got there first). The sensors in
pipelines.operations.sensors then ask the planner whether to train, and list the month.
"""

import dagster as dg

from pipelines.jobs import monthly_job
from pipelines.operations.sensors import DELIVERY_TAG, delivery_run_key
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import RunSettings
from warehouse.deliveries import manifest_digests

DEFAULT_CRON = "0 6 10 * *"
DEFAULT_TIMEZONE = "Europe/London"


def build_monthly_schedule(
    cron: str = DEFAULT_CRON, timezone: str = DEFAULT_TIMEZONE
) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="monthly_schedule",
        cron_schedule=cron,
        execution_timezone=timezone,
        job=monthly_job,
        description="Load the latest delivered month after the expected delivery day; then score and list it.",
    )
    def monthly_schedule(
        context: dg.ScheduleEvaluationContext, settings: RunSettings
    ) -> dg.RunRequest | dg.SkipReason:
        delivered = manifest_digests(settings.landing_path)
        if not delivered:
            return dg.SkipReason(
                f"No month in {settings.landing_path} has its manifest.csv yet: the delivery is late."
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

    return monthly_schedule
