"""Fairness audit of the risk scores on the out-of-time window.

By age band, sex, ethnicity group, IMD quintile and practice:
- observed / expected admissions (expected = sum of predicted risks), with an exact
  Poisson 95% interval. Flagged (`observed_to_expected`) when the interval excludes 1 and
  the ratio is outside 0.9-1.1: mis-calibration that is both real and large enough to
  matter. (The earlier 0.8-1.25 band let an O/E of 1.17, CI 1.01-1.35, pass.) Groups
  with fewer than `MIN_EXPECTED` expected admissions are marked too small to judge, but
  the interval still lets a clear case be flagged.
- AUROC within the group.
- its share of the top 5% by predicted risk against its share of admissions: flagged
  (`top_5pct_share`) when below `TOP_SHARE_RATIO` of it, for a group with at least
  `MIN_ADMISSIONS_FOR_SHARE` admissions. Read it beside the O/E: a group whose
  admissions are spread thinly over many people (young adults) is rightly rarer in the
  top 5% than in admissions, so this flag asks a question rather than answers it.
- the Obermeyer check (Obermeyer et al., Science 2019): at each decile of predicted
  risk, the mean number of long-term conditions (and the mean true risk, when the truth
  file is present) in each group, and each group's average excess over everyone at the
  same decile (`need_at_equal_score`). Equal predicted risk should mean equal need; a
  group that is sicker at the same score is under-served by the score: flagged
  (`need_at_equal_score`) when its excess is at least `NEED_LTC_EXCESS` long-term
  conditions or, with truth, `NEED_TRUE_RISK_EXCESS` true risk, in a group of at least
  `MIN_PEOPLE_FOR_NEED` people.

Reports groups and counts only: no identifiers ever leave this module.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import chi2
from sklearn.metrics import roc_auc_score

from warehouse.files import write_text_atomic

OE_LOW, OE_HIGH = 0.9, 1.1
MIN_EXPECTED = 10.0
TOP_SHARE_RATIO = 0.8
MIN_ADMISSIONS_FOR_SHARE = 20
NEED_LTC_EXCESS = 0.3
NEED_TRUE_RISK_EXCESS = 0.01
MIN_PEOPLE_FOR_NEED = 100
TOP_FRACTION = 0.05
AGE_BANDS = (
    (0, 17, "0-17"),
    (18, 44, "18-44"),
    (45, 64, "45-64"),
    (65, 74, "65-74"),
    (75, 84, "75-84"),
    (85, 200, "85+"),
)


def age_band(age: pl.Expr) -> pl.Expr:
    expression: Any = pl.when(age.is_null()).then(pl.lit("unknown"))
    for low, high, name in AGE_BANDS:
        expression = expression.when((age >= low) & (age <= high)).then(pl.lit(name))
    result: pl.Expr = expression.otherwise(pl.lit("unknown"))
    return result


def imd_quintile(decile: pl.Expr) -> pl.Expr:
    quintile = ((decile.cast(pl.Float64) + 1) // 2).cast(pl.Int64)
    return (
        pl.when(decile.is_null())
        .then(pl.lit("unknown"))
        .when(quintile == 1)
        .then(pl.lit("1 (most deprived)"))
        .when(quintile == 5)
        .then(pl.lit("5 (least deprived)"))
        .otherwise(quintile.cast(pl.Utf8))
    )


def with_attributes(predictions: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Add the audit's grouping columns that the frame allows; return the frame and their names."""
    columns = []
    attributes = []
    if "age" in predictions.columns:
        columns.append(age_band(pl.col("age")).alias("age_band"))
        attributes.append("age_band")
    for name in ("sex", "ethnicity_group"):
        if name in predictions.columns:
            columns.append(pl.col(name).cast(pl.Utf8).fill_null("unknown").alias(name))
            attributes.append(name)
    if "imd_decile" in predictions.columns:
        columns.append(imd_quintile(pl.col("imd_decile")).alias("imd_quintile"))
        attributes.append("imd_quintile")
    if "practice_code" in predictions.columns:
        columns.append(pl.col("practice_code").cast(pl.Utf8).fill_null("unknown").alias("practice"))
        attributes.append("practice")
    return predictions.with_columns(columns), attributes


def poisson_interval(observed: float, expected: float) -> list[float | None]:
    if expected <= 0:
        return [None, None]
    low = chi2.ppf(0.025, 2 * observed) / 2 if observed > 0 else 0.0
    high = chi2.ppf(0.975, 2 * observed + 2) / 2
    return [round(float(low / expected), 3), round(float(high / expected), 3)]


def group_rows(
    frame: pl.DataFrame, attribute: str, total_admissions: int, top_count: int
) -> list[dict[str, Any]]:
    rows = []
    for (group,), members in sorted(frame.group_by([attribute]), key=lambda item: str(item[0][0])):
        y = members.get_column("admitted").to_numpy()
        risk = members.get_column("risk").to_numpy()
        observed, expected = float(y.sum()), float(risk.sum())
        ratio = observed / expected if expected > 0 else None
        interval = poisson_interval(observed, expected)
        share_of_admissions = observed / total_admissions if total_admissions else 0.0
        share_of_top = int(members.get_column("in_top").sum()) / top_count
        flags = []
        if ratio is not None and excludes_one(interval) and not OE_LOW <= ratio <= OE_HIGH:
            flags.append("observed_to_expected")
        if (
            observed >= MIN_ADMISSIONS_FOR_SHARE
            and share_of_top < TOP_SHARE_RATIO * share_of_admissions
        ):
            flags.append("top_5pct_share")
        rows.append(
            {
                "group": str(group),
                "people": int(members.height),
                "observed": int(observed),
                "expected": round(expected, 2),
                "observed_to_expected": None if ratio is None else round(ratio, 3),
                "observed_to_expected_ci": interval,
                "auroc": round(float(roc_auc_score(y, risk)), 4) if 0 < y.sum() < y.size else None,
                "share_of_population": round(members.height / frame.height, 4),
                "share_of_admissions": round(share_of_admissions, 4) if total_admissions else None,
                "share_of_top_5pct": round(share_of_top, 4),
                "judged": expected >= MIN_EXPECTED,
                "flags": flags,
                "flagged": bool(flags),
            }
        )
    return rows


def excludes_one(interval: list[float | None]) -> bool:
    low, high = interval
    return low is not None and high is not None and (low > 1 or high < 1)


def flag_need(rows: list[dict[str, Any]], excess: dict[str, dict[str, float]]) -> None:
    """Add the `need_at_equal_score` flag to the rows of groups sicker at the same score."""
    for row in rows:
        group = excess.get(row["group"], {})
        sicker = group.get("ltc_count_excess", 0.0) >= NEED_LTC_EXCESS or (
            group.get("true_risk_excess", 0.0) >= NEED_TRUE_RISK_EXCESS
        )
        if sicker and row["people"] >= MIN_PEOPLE_FOR_NEED:
            row["flags"].append("need_at_equal_score")
            row["flagged"] = True


def obermeyer_table(frame: pl.DataFrame, attribute: str) -> list[dict[str, Any]]:
    """Mean long-term conditions (and true risk) per predicted-risk decile and group."""
    aggregations = [
        pl.len().alias("people"),
        pl.col("admitted").mean().round(4).alias("observed_rate"),
    ]
    if "ltc_count" in frame.columns:
        aggregations.append(pl.col("ltc_count").mean().round(3).alias("mean_ltc_count"))
    if "true_risk" in frame.columns and frame.get_column("true_risk").null_count() < frame.height:
        aggregations.append(pl.col("true_risk").mean().round(4).alias("mean_true_risk"))
    table = (
        frame.group_by("risk_decile", attribute).agg(aggregations).sort("risk_decile", attribute)
    )
    return [
        {"decile": row.pop("risk_decile"), "group": str(row.pop(attribute)), **row}
        for row in table.to_dicts()
    ]


def need_at_equal_score(frame: pl.DataFrame, attribute: str) -> dict[str, dict[str, float]]:
    """Per group, how much sicker its members are than everyone at the same risk decile.

    The mean over the group's members of (their long-term condition count, or true risk,
    minus the mean of their risk decile). Near 0 for every group when equal scores mean
    equal need; clearly positive for a group the score under-serves.
    """
    measures = [
        m
        for m in ("ltc_count", "true_risk")
        if m in frame.columns and frame.get_column(m).null_count() < frame.height
    ]
    if not measures:
        return {}
    excess = frame.with_columns(
        (pl.col(m) - pl.col(m).mean().over("risk_decile")).alias(f"{m}_excess") for m in measures
    )
    table = (
        excess.group_by(attribute)
        .agg(pl.col(f"{m}_excess").mean().round(4) for m in measures)
        .sort(attribute)
    )
    return {str(row.pop(attribute)): row for row in table.to_dicts()}


def audit(predictions: pl.DataFrame) -> dict[str, Any]:
    """The fairness audit as a dict (fairness.json). Columns: admitted, risk, and what exists of
    age, sex, ethnicity_group, imd_decile, practice_code, ltc_count, true_risk."""
    frame, attributes = with_attributes(predictions)
    top_count = max(1, math.ceil(TOP_FRACTION * frame.height))
    # Deterministic top 5%: highest risk first, ties by row order.
    order = np.argsort(-frame.get_column("risk").to_numpy(), kind="stable")
    in_top = np.zeros(frame.height, dtype=bool)
    in_top[order[:top_count]] = True
    deciles = np.empty(frame.height, dtype=np.int64)
    for decile, members in enumerate(np.array_split(order[::-1], 10), start=1):
        deciles[members] = decile
    frame = frame.with_columns(pl.Series("in_top", in_top), pl.Series("risk_decile", deciles))
    total_admissions = int(frame.get_column("admitted").sum())
    groups = {a: group_rows(frame, a, total_admissions, top_count) for a in attributes}
    obermeyer = {a: obermeyer_table(frame, a) for a in attributes if a != "practice"}
    need = {a: need_at_equal_score(frame, a) for a in obermeyer}
    for attribute, excess in need.items():
        flag_need(groups[attribute], excess)
    flagged = [
        {
            "attribute": a,
            "group": r["group"],
            "flags": r["flags"],
            "observed_to_expected": r["observed_to_expected"],
            "observed_to_expected_ci": r["observed_to_expected_ci"],
            "share_of_admissions": r["share_of_admissions"],
            "share_of_top_5pct": r["share_of_top_5pct"],
        }
        for a, rows in groups.items()
        for r in rows
        if r["flagged"]
    ]
    return {
        "people": frame.height,
        "admissions": total_admissions,
        "observed_to_expected_band": [OE_LOW, OE_HIGH],
        "minimum_expected_to_judge": MIN_EXPECTED,
        "rules": RULES,
        "groups": groups,
        "flagged": flagged,
        "obermeyer": {
            "by_risk_decile": obermeyer,
            "need_at_equal_score": need,
            "truth_present": "true_risk" in frame.columns
            and frame.get_column("true_risk").null_count() < frame.height,
        },
    }


RULES = {
    "observed_to_expected": f"the exact Poisson 95% CI of observed/expected excludes 1 and the ratio is outside {OE_LOW}-{OE_HIGH}",
    "top_5pct_share": f"the group's share of the top 5% by risk is below {TOP_SHARE_RATIO} x its share of admissions (groups with {MIN_ADMISSIONS_FOR_SHARE}+ admissions)",
    "need_at_equal_score": f"at the same risk decile the group has {NEED_LTC_EXCESS}+ more long-term conditions, or {NEED_TRUE_RISK_EXCESS}+ more true risk, than everyone (groups of {MIN_PEOPLE_FOR_NEED}+ people)",
}


def write_audit(report: dict[str, Any], folder: Path) -> Path:
    """`folder`/fairness.json (reports/model), 0600."""
    path = folder / "fairness.json"
    write_text_atomic(path, json.dumps(report, indent=2) + "\n")
    return path
