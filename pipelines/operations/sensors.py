"""Sensors: a month's delivery starts its run; a loaded month goes on to the model or the lists.

`landing_zone_sensor` watches RISKSTRAT_LANDING and requests `monthly_job` (load and
validate) once per delivery: the run key is the month and its manifest's sha256, and the
cursor keeps the digest seen for each month, so a second tick requests nothing and a
re-delivered month (new manifest) runs again. A month folder without manifest.csv is
still being delivered and yields nothing.

`month_loaded_sensor` follows a successful `monthly_job`: for the latest loaded month it
requests `model_job` when retraining is due (models.retraining), otherwise
`lists_job` (score with the current model, lists, drift). `model_trained_sensor` follows
a successful `model_job` with `lists_job` for the month that asked for it.
"""

import json

import dagster as dg

from models.retraining import retraining_decision
from pipelines.jobs import lists_job, model_job, monthly_job
from pipelines.operations.deliveries import delivery_run_key, manifest_digests
from pipelines.operations.settings import operations_from_environment
from pipelines.partitions import EXTRACT_MONTHS, extract_months
from pipelines.resources import Warehouse

DELIVERY_TAG = "riskstrat/delivery"
MONTH_TAG = "riskstrat/month"
PARTITION_TAG = "dagster/partition"


def seen_deliveries(cursor: str | None) -> dict[str, str]:
    """The cursor: {month: manifest sha256} of every delivery already requested."""
    return dict(json.loads(cursor)) if cursor else {}


@dg.sensor(
    job=monthly_job,
    minimum_interval_seconds=60,
    description="Loads and validates a month when its manifest.csv arrives (once per delivery).",
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse
) -> dg.SensorResult | dg.SkipReason:
    seen = seen_deliveries(context.cursor)
    delivered = manifest_digests(warehouse.landing_path)
    new = {month: digest for month, digest in delivered.items() if seen.get(month) != digest}
    if not new:
        return dg.SkipReason(
            f"No new delivery in {warehouse.landing_path} ({len(delivered)} month(s) seen)."
        )
    for month, digest in new.items():
        what = "re-delivered" if month in seen else "delivered"
        context.log.info(f"{month} {what} (manifest sha256 {digest[:12]}...)")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=delivery_run_key(month, digest),
                partition_key=month,
                tags={DELIVERY_TAG: delivery_run_key(month, digest)},
            )
            for month, digest in new.items()
        ],
        dynamic_partitions_requests=[extract_months.build_add_request(list(new))],
        cursor=json.dumps({**seen, **new}, sort_keys=True),
    )


def latest_loaded_month(context: dg.RunStatusSensorContext) -> str | None:
    """The latest extract month partition known to the instance."""
    months = sorted(context.instance.get_dynamic_partitions(EXTRACT_MONTHS))
    return months[-1] if months else None


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[monthly_job],
    request_jobs=[model_job, lists_job],
    description="After a month loads: retrain when due (cadence or drift), else score and list it.",
)
def month_loaded_sensor(
    context: dg.RunStatusSensorContext, warehouse: Warehouse
) -> dg.RunRequest | dg.SkipReason:
    month = context.dagster_run.tags.get(PARTITION_TAG)
    if month is None:
        return dg.SkipReason("The monthly run had no partition.")
    latest = latest_loaded_month(context)
    if latest is not None and month < latest:
        # A backfill of an older month: its lists are scored by the current model.
        if not (warehouse.home_path / "models" / "current.json").is_file():
            return dg.SkipReason(f"{month} loaded; no model yet to score it.")
        return lists_request(month, context.dagster_run.run_id)
    decision = retraining_decision(
        warehouse.home_path, month, every_months=operations_from_environment().retrain_every_months
    )
    context.log.info(f"{month}: {'retrain' if decision.retrain else 'score'}: {decision.reason}")
    if decision.retrain:
        return dg.RunRequest(
            run_key=f"retrain:{context.dagster_run.run_id}",
            job_name=model_job.name,
            tags={MONTH_TAG: month, "riskstrat/retrain_reason": decision.reason[:200]},
        )
    return lists_request(month, context.dagster_run.run_id)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[model_job],
    request_job=lists_job,
    description="After retraining: score the month that asked for it and publish its lists.",
)
def model_trained_sensor(context: dg.RunStatusSensorContext) -> dg.RunRequest | dg.SkipReason:
    month = context.dagster_run.tags.get(MONTH_TAG) or latest_loaded_month(context)
    if month is None:
        return dg.SkipReason("No extract month to score.")
    return lists_request(month, context.dagster_run.run_id)


def lists_request(month: str, after_run: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"lists:{month}:{after_run}", job_name=lists_job.name, partition_key=month,
        tags={MONTH_TAG: month},
    )


sensors = [landing_zone_sensor, month_loaded_sensor, model_trained_sensor]
