"""Checks on the lists: the information-governance rules, re-read from what was written."""

import dagster as dg

from lists.audit import (
    delivery_problems,
    list_members_not_listable,
    nhs_numbers_in_federation_files,
)
from pipelines.lists.assets import federation_summaries, practice_risk_lists
from pipelines.partitions import extract_months
from pipelines.resources import Warehouse


@dg.asset_check(asset=practice_risk_lists, partitions_def=extract_months, blocking=True)
def practice_risk_lists_hold_only_registered_patients(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Everyone on a practice's list was registered there on the score date, alive, not opted out."""
    with warehouse.connect() as connection:
        wrong = list_members_not_listable(connection, context.partition_key)
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={"practices_with_unlistable_people": dg.MetadataValue.json(wrong)},
    )


@dg.asset_check(asset=practice_risk_lists, partitions_def=extract_months)
def practice_risk_lists_verify_against_manifests(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every delivery folder of the month matches its manifest and is readable by its owner only."""
    problems = delivery_problems(warehouse.paths.outbox, context.partition_key)
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": dg.MetadataValue.json(problems)}
    )


@dg.asset_check(asset=federation_summaries, partitions_def=extract_months)
def federation_summaries_hold_no_nhs_number(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """No federation file holds a 10-digit number or any NHS number of the warehouse."""
    with warehouse.connect() as connection:
        files = nhs_numbers_in_federation_files(
            connection, warehouse.paths.outbox, context.partition_key
        )
    return dg.AssetCheckResult(
        passed=not files, metadata={"files_with_nhs_numbers": dg.MetadataValue.json(files)}
    )
