"""Checks on the lists: the information-governance rules, re-read from the files written.

Each check of a list reads the outbox, not the tables the lists were made from, so a bug
in what chose or wrote the people cannot also pass its check. Every failure has severity
ERROR; the registration check blocks (a list holding someone it must not stops the
federation summaries built after it), and so does the scores' check (no list is made from
risks that are not probabilities or ranks that repeat).
"""

import dagster as dg

from lists.audit import (
    delivery_problems,
    listed_people_not_registered,
    nhs_numbers_in_federation_files,
)
from pipelines.lists.assets import federation_summaries, practice_risk_lists, risk_scores
from pipelines.partitions import list_months
from pipelines.resources import Warehouse


@dg.asset_check(asset=practice_risk_lists, partitions_def=list_months, blocking=True)
def practice_risk_lists_hold_only_registered_patients(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Blocking: everyone in each practice's published risk_list.csv, read back from the
    outbox, is registered at that practice on the score date, alive and not opted out, by a
    query of the staged registrations of its own (not the SQL that chose them)."""
    month = context.partition_key
    with warehouse.connect() as connection:
        audit = listed_people_not_registered(connection, warehouse.paths.outbox, month)
    if audit.passed:
        summary = (
            f"{month}: all {audit.people_read:,} people in {audit.files_read} practice lists "
            "are registered at their practice, alive and not opted out."
        )
    else:
        summary = "; ".join(
            [
                *(
                    f"{month}: {practice}'s risk_list.csv holds "
                    + ", ".join(
                        f"{people} {rule.replace('_', ' ')}" for rule, people in rules.items()
                    )
                    for practice, rules in audit.wrong.items()
                ),
                *(f"{month}: {problem}" for problem in audit.problems),
            ]
        )
    return dg.AssetCheckResult(
        passed=audit.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={
            "summary": summary,
            "files_read": audit.files_read,
            "people_read": audit.people_read,
            "practices_with_unlistable_people": dg.MetadataValue.json(audit.wrong),
            "problems": dg.MetadataValue.json(audit.problems),
        },
    )


@dg.asset_check(asset=practice_risk_lists, partitions_def=list_months)
def practice_risk_lists_verify_against_manifests(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Every delivery folder of the month matches its manifest and is readable by its owner only."""
    problems = delivery_problems(warehouse.paths.outbox, context.partition_key)
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": dg.MetadataValue.json(problems)}
    )


@dg.asset_check(asset=federation_summaries, partitions_def=list_months)
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


SCORES_AUDIT = """
SELECT
    count(*) AS people,
    count(*) FILTER (WHERE isnan(risk) OR risk < 0 OR risk > 1) AS risks_not_probabilities,
    count(*) - count(DISTINCT area_rank) AS repeated_area_ranks,
    count(*) - count(DISTINCT (practice_code, practice_rank)) AS repeated_practice_ranks,
    count(*) FILTER (WHERE area_rank < 1 OR area_rank > people_in_area) AS area_ranks_out_of_range
FROM (SELECT *, count(*) OVER () AS people_in_area FROM scores.risk_scores
      WHERE delivery_month = $month)
"""


@dg.asset_check(asset=risk_scores, partitions_def=list_months, blocking=True, pool="warehouse")
def risk_scores_are_probabilities_ranked_once(
    context: dg.AssetCheckExecutionContext, warehouse: Warehouse
) -> dg.AssetCheckResult:
    """Blocking: the month's scores are not empty, every risk is a probability, and the area's
    and each practice's ranks run without repeats (a list is cut by rank: a repeated rank
    lists two people in one place, or drops one)."""
    month = context.partition_key
    with warehouse.connect() as connection:
        cursor = connection.execute(SCORES_AUDIT, {"month": month})
        names = [column[0] for column in cursor.description]
        counts = dict(zip(names, cursor.fetchone() or (), strict=True))
    people = counts.pop("people")
    wrong = {name: count for name, count in counts.items() if count}
    summary = (
        f"{month}: no one is scored."
        if not people
        else "; ".join(f"{month}: {n:,} {name.replace('_', ' ')}" for name, n in wrong.items())
        or f"{month}: {people:,} people scored, risks within 0-1, ranks without repeats."
    )
    return dg.AssetCheckResult(
        passed=bool(people) and not wrong,
        severity=dg.AssetCheckSeverity.ERROR,
        description=summary,
        metadata={"summary": summary, "people_scored": people, **counts},
    )
