"""The retry policy docs/operations.md describes is the one every job carries.

The delays are Dagster's own (`dagster._core.definitions.policy.calculate_delay`, without
jitter), so the documented figures cannot drift from what the daemon waits.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
from dagster._core.definitions.policy import calculate_delay

from pipelines.jobs import TRANSIENT_RETRY, lists_job, model_job, monthly_job, reference_job

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_retries() -> tuple[int, list[int], int]:
    """Retries, the delay before each, and the jitter, as docs/operations.md states them."""
    text = " ".join(OPERATIONS.read_text().split())
    found = re.search(
        r"`TRANSIENT_RETRY` \((\d+) retries, (\d+) s then (\d+) s, each give or take up to (\d+) s\)",
        text,
    )
    assert found, f"{OPERATIONS} no longer states TRANSIENT_RETRY's retries and delays"
    retries, first, second, jitter = map(int, found.groups())
    return retries, [first, second], jitter


def test_the_documented_retries_and_delays_are_the_policys():
    retries, delays, jitter = documented_retries()

    assert TRANSIENT_RETRY.max_retries == retries == len(delays)
    waited = [
        calculate_delay(attempt, TRANSIENT_RETRY.backoff, None, TRANSIENT_RETRY.delay or 0)
        for attempt in range(1, retries + 1)
    ]
    assert waited == delays
    # Dagster's PLUS_MINUS jitter moves each delay by up to the base delay either way.
    assert TRANSIENT_RETRY.jitter is dg.Jitter.PLUS_MINUS and jitter == TRANSIENT_RETRY.delay


def test_every_job_carries_the_policy():
    for job in (reference_job, monthly_job, model_job, lists_job):
        assert job.op_retry_policy is TRANSIENT_RETRY, job.name
