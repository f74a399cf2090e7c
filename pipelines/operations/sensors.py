"""Sensors: a month's delivery starts its run; a loaded month goes on to the model or the lists.

`landing_zone_sensor` asks the planner (pipelines.planner.months_to_load) which months the
warehouse does not hold and requests `monthly_job` for them once per delivery, one run over each stretch of
consecutive months (planner.month_runs: a first load or a restaging is one run, not one a
month): a month's run key is the month and its manifest's sha256 (a range's, the digest of
its months' keys), and the cursor keeps the digest requested for
each month, so a second tick requests nothing while the runs are on their way, and a
re-delivered month (new manifest) runs again, followed by every later month (restaged
oldest first, as `riskstrat run` does). A month folder without manifest.csv is still
being delivered and yields nothing here.

`month_loaded_sensor` follows a successful `monthly_job` and asks the planner what comes
next (pipelines.planner.after_loading, the same call `riskstrat run` makes): `model_job`
when training is due, else `lists_job` for the month to list, else nothing (no model yet
and too little history). `model_trained_sensor` follows a successful `model_job` with
`lists_job` for the month the planner lists.
"""

import hashlib
import json

import dagster as dg

from pipelines import planner
from pipelines.jobs import lists_job, model_job, monthly_job
from pipelines.partitions import EXTRACT_MONTHS, LIST_MONTHS, extract_months, range_tags
from pipelines.resources import RunSettings, Warehouse
from warehouse.connection import WarehouseBusyError
from warehouse.errors import InputError

DELIVERY_TAG = "riskstrat/delivery"
MONTH_TAG = "riskstrat/month"


def delivery_run_key(month: str, digest: str) -> str:
    """One run key per delivery: a re-delivered month (new manifest) gets a new key."""
    return f"{month}:{digest}"


def seen_deliveries(cursor: str | None) -> dict[str, str]:
    """The cursor: {month: manifest sha256} of every delivery already requested."""
    return dict(json.loads(cursor)) if cursor else {}


@dg.sensor(
    job=monthly_job,
    minimum_interval_seconds=60,
    description="Loads and validates a month when its manifest.csv arrives (once per delivery).",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, settings: RunSettings
) -> dg.SensorResult | dg.SkipReason:
    seen = seen_deliveries(context.cursor)
    try:
        wanted = planner.months_to_load(warehouse.paths, settings.landing_path)
    except (
        InputError,
        WarehouseBusyError,
    ) as error:  # no landing zone yet, or a run holds the warehouse
        return dg.SkipReason(f"Not now: {error}")
    complete = [
        (item.month, item.manifest_sha256, item.reason) for item in wanted if item.manifest_sha256
    ]
    new = {month: digest for month, digest, _ in complete if seen.get(month) != digest}
    if not new:
        return dg.SkipReason(f"No new delivery in {settings.landing_path}.")
    # The first new delivery names the restaging of every later month (planner), so that a
    # month restaged after each re-delivery gets a run key of its own.
    trigger = delivery_run_key(*next(iter(new.items())))
    first_new = min(new)
    keys: dict[str, str] = {}
    for month, digest, reason in complete:
        if month < first_new:
            continue  # requested on an earlier tick (cursor) and not loaded yet: still on its way
        delivery = delivery_run_key(month, digest)
        context.log.info(f"{month}: {reason} (manifest sha256 {digest[:12]}...)")
        keys[month] = delivery if month in new else f"{delivery}:after:{trigger}"
    known = list(context.instance.get_dynamic_partitions(EXTRACT_MONTHS))
    order = known + [month for month in keys if month not in known]  # as the request adds them
    requests = [month_run_request(run, keys) for run in planner.month_runs(list(keys), order)]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[
            extract_months.build_add_request(added) for added in [order[len(known) :]] if added
        ],
        cursor=json.dumps({**seen, **new}, sort_keys=True),
    )


def month_run_request(run: str | list[str], keys: dict[str, str]) -> dg.RunRequest:
    """One month's run keyed by its delivery, or one run over a range of months keyed by
    the digest of their delivery keys. Every month's delivery key is also a tag of its own
    (`delivered_in_run_tag`), so the schedule can see which deliveries have a run."""
    months = [run] if isinstance(run, str) else run
    tags = {DELIVERY_TAG: keys[months[0]]}
    tags |= {delivered_in_run_tag(month): keys[month] for month in months}
    if isinstance(run, str):
        return dg.RunRequest(run_key=keys[run], partition_key=run, tags=tags)
    joined = "\n".join(keys[month] for month in run).encode()
    return dg.RunRequest(
        run_key=f"{run[0]}..{run[-1]}:{hashlib.sha256(joined).hexdigest()}",
        tags=tags | range_tags(run),
    )


def delivered_in_run_tag(month: str) -> str:
    return f"{DELIVERY_TAG}/{month}"


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[monthly_job],
    request_jobs=[model_job, lists_job],
    description="After a month loads: train when the planner says so, else score and list the latest month.",
)
def month_loaded_sensor(
    context: dg.RunStatusSensorContext, warehouse: Warehouse, settings: RunSettings
) -> dg.RunRequest | dg.SkipReason:
    steps = planner.after_loading(
        warehouse.paths, retrain_every_months=settings.retrain_every_months
    )
    context.log.info(
        f"{'train' if steps.train else 'no training'}: {steps.train_reason}; "
        f"list {steps.list_month or 'nothing'}: {steps.list_reason}"
    )
    if steps.train:
        return dg.RunRequest(
            run_key=f"retrain:{context.dagster_run.run_id}",
            job_name=model_job.name,
            tags={
                MONTH_TAG: steps.list_month or "",
                "riskstrat/retrain_reason": steps.train_reason[:200],
            },
        )
    if steps.list_month is None:
        return dg.SkipReason(f"Nothing to list: {steps.list_reason} ({steps.train_reason}).")
    return lists_request(steps.list_month, context.dagster_run.run_id, context.instance)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[model_job],
    request_job=lists_job,
    description="After training: score the latest loaded month and publish its lists.",
)
def model_trained_sensor(
    context: dg.RunStatusSensorContext, warehouse: Warehouse, settings: RunSettings
) -> dg.RunRequest | dg.SkipReason:
    steps = planner.after_loading(
        warehouse.paths, retrain_every_months=settings.retrain_every_months
    )
    if steps.list_month is None:
        return dg.SkipReason(f"Nothing to list: {steps.list_reason}.")
    return lists_request(steps.list_month, context.dagster_run.run_id, context.instance)


def lists_request(month: str, after_run: str, instance: dg.DagsterInstance) -> dg.RunRequest:
    """A lists run for `month`, which joins the list months (the list assets' partitions)."""
    if not instance.has_dynamic_partition(LIST_MONTHS, month):
        instance.add_dynamic_partitions(LIST_MONTHS, [month])
    return dg.RunRequest(
        run_key=f"lists:{month}:{after_run}",
        job_name=lists_job.name,
        partition_key=month,
        tags={MONTH_TAG: month},
    )


sensors = [landing_zone_sensor, month_loaded_sensor, model_trained_sensor]
