"""Tiers by area rank, and the record of the tiers each month was scored with.

Default tiers, in the spirit of the Kaiser pyramid: very high = top 0.5% of the area,
high = the next 4.5%, rising = the next 15%, low = the rest. Ranks are deterministic:
risk descending, then NHS number ascending, so equal risks always fall in the same order.
The policy a month was scored with is kept in ``scores.tier_policies``, so its lists and
summaries describe exactly the tiers in ``scores.risk_scores``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb
import polars as pl

from lists.tables import TIER_POLICIES, ensure_scores_schema

LOW_TIER = "low"


@dataclass(frozen=True)
class Tier:
    name: str
    cumulative_share: float  # the tier holds area ranks up to ceil(share * people)


@dataclass(frozen=True)
class TierPolicy:
    """Tiers by area rank, highest first; everyone below the last is `otherwise`.

    A tier's boundary is rounded up (ceil), so the top tier is never empty while anyone is
    scored: with 1,500 people, very high is the top 8, high ranks 9-75, rising 76-300.
    """

    tiers: tuple[Tier, ...] = (
        Tier("very high", 0.005),
        Tier("high", 0.05),
        Tier("rising", 0.20),
    )
    otherwise: str = LOW_TIER

    def __post_init__(self) -> None:
        shares = [t.cumulative_share for t in self.tiers]
        if (
            any(not 0 < s <= 1 for s in shares)
            or shares != sorted(shares)
            or len(set(shares)) != len(shares)
        ):
            raise ValueError(f"tier shares must rise strictly within (0, 1]: {shares}")
        names = [t.name for t in self.tiers] + [self.otherwise]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must differ: {names}")

    @property
    def names(self) -> tuple[str, ...]:
        """Tier names, highest risk first, ending with `otherwise`."""
        return (*(t.name for t in self.tiers), self.otherwise)

    def describe(self) -> str:
        """E.g. 'very high = top 0.5% of the area; high = next 4.5%; rising = next 15%; low = the rest'."""
        parts, previous = [], 0.0
        for index, tier in enumerate(self.tiers):
            share = f"{round((tier.cumulative_share - previous) * 100, 6):g}%"
            parts.append(
                f"{tier.name} = {'top' if index == 0 else 'next'} {share}"
                + (" of the area" if index == 0 else "")
            )
            previous = tier.cumulative_share
        return "; ".join([*parts, f"{self.otherwise} = the rest"])

    def boundaries(self, people: int) -> list[tuple[str, int]]:
        """(tier, last area rank in it) for a population of `people`."""
        return [(t.name, math.ceil(round(t.cumulative_share * people, 9))) for t in self.tiers]


DEFAULT_TIERS = TierPolicy()


def rank_and_tier(scores: pl.DataFrame, tiers: TierPolicy = DEFAULT_TIERS) -> pl.DataFrame:
    """Add area/practice ranks, percentiles and tiers to a frame with nhs_number, practice_code, risk.

    Sorted by area rank. Percentile = share of the population (area or practice) whose risk
    ranks at or below this person's, in percent: 100 for the top rank.
    """
    people = scores.height
    ordered = scores.sort(["risk", "nhs_number"], descending=[True, False]).with_columns(
        pl.int_range(1, people + 1, dtype=pl.Int32).alias("area_rank"),
    )
    ordered = ordered.with_columns(
        (pl.col("area_rank").cum_count().over("practice_code"))
        .cast(pl.Int32)
        .alias("practice_rank"),
        pl.len().over("practice_code").alias("_practice_people"),
    )
    tier = pl.lit(tiers.otherwise)
    for name, last_rank in reversed(tiers.boundaries(people)):
        tier = pl.when(pl.col("area_rank") <= last_rank).then(pl.lit(name)).otherwise(tier)
    return ordered.with_columns(
        ((people - pl.col("area_rank") + 1) * 100.0 / max(people, 1))
        .round(2)
        .alias("area_percentile"),
        (
            (pl.col("_practice_people") - pl.col("practice_rank") + 1)
            * 100.0
            / pl.col("_practice_people")
        )
        .round(2)
        .alias("practice_percentile"),
        tier.alias("tier"),
    ).drop("_practice_people")


def write_tier_policy(connection: duckdb.DuckDBPyConnection, month: str, tiers: TierPolicy) -> None:
    """Record the tiers `month` was scored with: name and cumulative share, highest first."""
    ensure_scores_schema(connection)
    rule = tiers.describe()
    shares: list[tuple[str, float | None]] = [
        *((t.name, t.cumulative_share) for t in tiers.tiers),
        (tiers.otherwise, None),
    ]
    connection.execute(f"DELETE FROM {TIER_POLICIES} WHERE delivery_month = $m", {"m": month})
    connection.executemany(
        f"INSERT INTO {TIER_POLICIES} VALUES (?, ?, ?, ?, ?)",
        [
            [month, position, name, share, rule]
            for position, (name, share) in enumerate(shares, start=1)
        ],
    )


def read_tier_policy(
    connection: duckdb.DuckDBPyConnection, month: str
) -> tuple[tuple[str, ...], str]:
    """(tier names highest first, the rule in words) of a scored month; the defaults if unrecorded."""
    ensure_scores_schema(connection)
    rows = connection.execute(
        f"SELECT tier, rule FROM {TIER_POLICIES} WHERE delivery_month = $m ORDER BY position",
        {"m": month},
    ).fetchall()
    if not rows:
        return DEFAULT_TIERS.names, DEFAULT_TIERS.describe()
    return tuple(str(tier) for tier, _rule in rows), str(rows[0][1])
