"""What the lists are made of: a practice, its list, a federation's summary, and what was sent.

Plain values, no I/O: ``practice_lists`` and ``federation`` make them, ``rendering`` and
``outbox`` turn them into files. A ``PracticeList`` holds NHS numbers and goes to its
practice's folder only; a ``FederationSummary`` holds counts and pseudonyms; the
``Published*`` records hold counts and paths, never an NHS number, and are fit for logs,
reports and Dagster metadata.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import polars as pl

# The columns of risk_list.csv and of the workbook's list, in order.
CSV_COLUMNS = (
    "nhs_number",
    "rank",
    "risk_score",
    "tier",
    "new_to_list",
    "tier_last_month",
    "change",
    "age",
    "sex",
    "reason_1",
    "reason_2",
    "reason_3",
    "long_term_conditions",
    "ltc_count",
    "last_emergency_admission",
    "emergency_admissions_12m",
    "ae_attendances_12m",
    "care_home",
)


def tier_column(tier: str) -> str:
    """A federation summary's column of people per tier, e.g. 'tier_very_high'."""
    return "tier_" + tier.replace(" ", "_")


@dataclass(frozen=True)
class Practice:
    code: str
    name: str
    federation_code: str
    federation_name: str
    vanguard: bool


@dataclass
class PracticeList:
    """One practice's list for a month. Holds NHS numbers: goes to the practice's folder only."""

    practice: Practice
    month: str
    index_date: datetime.date
    model_version: str
    model_label: str  # the model in words a GP reads, e.g. "model of June 2025, trained on data to June 2024"
    reference: str  # list fingerprint: the same scores give the same reference
    population: int  # the practice's scored, listable patients
    length_rule: str
    tier_names: tuple[str, ...]
    tier_rule: str
    rows: list[dict[str, Any]]
    population_per_tier: dict[str, int]
    listed_per_tier: dict[str, int]
    new_to_list: int
    changed_tier: int
    first_list: bool
    data_quality: str
    moved_up: int = 0  # listed both months, in a higher tier than last month
    moved_down: int = 0
    still_listed: int = 0  # listed both months, same tier
    left_list: int = 0  # on last month's list, not on this one


@dataclass(frozen=True)
class PublishedList:
    """What was written for one practice: counts and paths, no NHS numbers."""

    practice_code: str
    federation_code: str
    folder: str
    population: int
    listed: int
    listed_per_tier: dict[str, int]
    new_to_list: int
    changed_tier: int
    data_quality: str
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


@dataclass(frozen=True)
class PublishedLists:
    month: str
    model_version: str
    reference: str
    lists: list[PublishedList]
    dropped_scores: (
        int  # scored people not listable (not registered at that practice, deceased, opted out)
    )

    def report(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "model_version": self.model_version,
            "list_reference": self.reference,
            "dropped_scores": self.dropped_scores,
            "practices": [
                {
                    "practice_code": p.practice_code,
                    "federation_code": p.federation_code,
                    "folder": p.folder,
                    "population": p.population,
                    "listed": p.listed,
                    "listed_per_tier": p.listed_per_tier,
                    "new_to_list": p.new_to_list,
                    "changed_tier": p.changed_tier,
                    "data_quality": p.data_quality,
                    "files": p.files,
                }
                for p in self.lists
            ],
        }


@dataclass
class FederationSummary:
    """One federation's month by practice, and its pseudonymised tiers. No NHS number."""

    federation_code: str
    federation_name: str
    month: str
    index_date: datetime.date
    model_version: str
    reference: str
    tier_names: tuple[str, ...]
    tier_rule: str
    practices: list[dict[str, Any]]
    model_label: str  # the model by its dates, as on the practice lists
    totals: dict[str, Any]
    pseudonymised: pl.DataFrame = field(repr=False)

    @property
    def columns(self) -> list[str]:
        return [
            "practice_code",
            "practice_name",
            "vanguard",
            "registered_list_size",
            "people_scored",
            *(tier_column(t) for t in self.tier_names),
            "people_listed",
            "new_to_list",
            "expected_people_admitted_next_12m",
            "observed_people_admitted_last_12m",
            "data_quality",
        ]


@dataclass(frozen=True)
class PublishedSummary:
    """What was written for one federation: counts and file rows, no NHS numbers."""

    federation_code: str
    folder: str
    practices: int
    people_scored: int
    people_per_tier: dict[str, int]
    expected_people_admitted_next_12m: float  # sum of risks
    observed_people_admitted_last_12m: int  # people with at least one admission
    files: dict[str, int]  # name -> rows
