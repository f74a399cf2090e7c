"""The monthly schedule: after the expected delivery day, load the latest delivered month.

Ticks on its cron in its time zone (default the 10th at 06:00 Europe/London; set by
`build_definitions`). It requests `monthly_job` for every month the planner says the
warehouse does not hold yet (pipelines.planner.months_to_load, as `riskstrat run` and the
landing-zone sensor do), keyed by its delivery (month and manifest sha256), and skips a
delivery that already has a run (the landing-zone sensor usually got there first). The
rest run as the sensor's do: one run over each stretch of consecutive months. The sensors in
pipelines.operations.sensors then ask the planner whether to train, and list the month.
"""

import dagster as dg

from pipelines import planner
from pipelines.jobs import monthly_job
from pipelines.operations.sensors import delivered_in_run_tag, delivery_run_key, month_run_request
from pipelines.partitions import EXTRACT_MONTHS
from pipelines.resources import RunSettings, Warehouse
from warehouse.connection import WarehouseBusyError
from warehouse.deliveries import manifest_digests
from warehouse.errors import InputError

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
        context: dg.ScheduleEvaluationContext, warehouse: Warehouse, settings: RunSettings
    ) -> list[dg.RunRequest] | dg.SkipReason:
        if not manifest_digests(settings.landing_path):
            return dg.SkipReason(
                f"No month in {settings.landing_path} has its manifest.csv yet: the delivery is late."
            )
        try:
            wanted = planner.months_to_load(warehouse.paths, settings.landing_path)
        except (InputError, WarehouseBusyError) as error:
            return dg.SkipReason(f"Not now: {error}")
        keys: dict[str, str] = {}
        for item in wanted:
            if item.manifest_sha256 is None:
                continue
            key = delivery_run_key(item.month, item.manifest_sha256)
            earlier = context.instance.get_runs(
                filters=dg.RunsFilter(
                    job_name=monthly_job.name, tags={delivered_in_run_tag(item.month): key}
                )
            )
            if any(run.status != dg.DagsterRunStatus.FAILURE for run in earlier):
                continue  # the landing-zone sensor got there first
            keys[item.month] = key
        if not keys:
            return dg.SkipReason("Every delivered month is loaded or already has a run.")
        known = context.instance.get_dynamic_partitions(EXTRACT_MONTHS)
        new = [month for month in keys if month not in known]
        if new:
            context.instance.add_dynamic_partitions(EXTRACT_MONTHS, new)
        order = context.instance.get_dynamic_partitions(EXTRACT_MONTHS)
        return [month_run_request(run, keys) for run in planner.month_runs(list(keys), order)]

    return monthly_schedule
