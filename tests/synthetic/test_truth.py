"""truth.csv: who it covers, and that true_risk is calibrated against the realised data."""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import GenerationSummary
from synthetic.codes import UNDERSERVED_ETHNIC_CODES
from tests.synthetic.spec import EMERGENCY_METHODS, read_kind


def _truth(summary: GenerationSummary) -> pl.DataFrame:
    truth = pl.read_csv(
        summary.truth, schema_overrides={"nhs_number": pl.String, "index_date": pl.Date}
    )
    assert truth.columns == ["nhs_number", "index_date", "true_risk"]
    return truth


def _outcomes(summary: GenerationSummary) -> pl.DataFrame:
    """Each truth row with whether an emergency admission followed within 12 months."""
    truth = _truth(summary)
    last_day = pl.select(pl.lit(summary.last_month + "-01").str.to_date().dt.month_end()).item()
    truth = truth.filter(pl.col("index_date").dt.offset_by("12mo").dt.month_end() <= last_day)
    admissions = (
        read_kind(summary.landing, "admissions")
        .filter(pl.col("admission_method").is_in(list(EMERGENCY_METHODS)))
        .select("nhs_number", admission_date=pl.col("admission_date").str.to_date())
    )
    followed = (
        truth.join(admissions, on="nhs_number", how="inner")
        .filter(
            (pl.col("admission_date") > pl.col("index_date"))
            & (pl.col("admission_date") <= pl.col("index_date").dt.offset_by("12mo").dt.month_end())
        )
        .select("nhs_number", "index_date")
        .unique()
        .with_columns(admitted=pl.lit(True))
    )
    return truth.join(followed, on=["nhs_number", "index_date"], how="left").with_columns(
        pl.col("admitted").fill_null(False)
    )


def test_index_dates_and_people(small: GenerationSummary) -> None:
    truth = _truth(small)
    # Month ends with 12 full months of follow-up (Nov and Dec 2023), and the final month's end.
    assert sorted(set(truth["index_date"].cast(pl.String))) == [
        "2023-11-30",
        "2023-12-31",
        "2024-12-31",
    ]
    assert truth["true_risk"].is_between(0, 1).all()
    registrations = read_kind(small.landing, "registrations")
    for index_date in ("2023-11-30", "2024-12-31"):
        month = index_date[:7]
        registered = registrations.filter(
            (pl.col("month") == month)
            & pl.col("deregistration_date").is_null()
            & pl.col("date_of_death").is_null()
        )
        in_truth = truth.filter(pl.col("index_date").cast(pl.String) == index_date)
        assert set(in_truth["nhs_number"]) == set(registered["nhs_number"])
        assert in_truth["nhs_number"].is_unique().all()


def test_true_risk_is_calibrated(larger: GenerationSummary) -> None:
    outcomes = _outcomes(larger)
    assert outcomes.height > 15_000
    predicted = outcomes["true_risk"].mean()
    observed = outcomes["admitted"].mean()
    assert isinstance(predicted, float) and isinstance(observed, float)
    assert abs(predicted - observed) / observed < 0.12
    # Higher predicted risk really is higher realised risk.
    ranked = outcomes.with_columns(
        fifth=(pl.col("true_risk").rank("ordinal") * 5 / pl.len()).floor().clip(0, 4)
    )
    by_fifth = (
        ranked.group_by("fifth")
        .agg(pl.col("admitted").mean(), pl.col("true_risk").mean())
        .sort("fifth")
    )
    assert np.all(np.diff(by_fifth["admitted"].to_numpy()) > 0)
    top = by_fifth.row(4, named=True)
    assert abs(top["admitted"] - top["true_risk"]) / top["true_risk"] < 0.15


def test_underserved_subgroup_consults_less_for_the_same_need(larger: GenerationSummary) -> None:
    """The documented subgroup (Pakistani, Bangladeshi, Black) sees the GP less per unit of
    latent need, has fewer recorded conditions, and no lower admission risk."""
    truth = _truth(larger).filter(pl.col("index_date") == pl.col("index_date").min())
    registrations = read_kind(larger.landing, "registrations", months=[larger.first_month]).filter(
        pl.col("type1_opt_out") == "N"
    )
    people = truth.join(
        registrations.select("nhs_number", "ethnic_category"), on="nhs_number"
    ).with_columns(
        underserved=pl.col("ethnic_category").is_in(list(UNDERSERVED_ETHNIC_CODES)),
        need=(pl.col("true_risk").rank("ordinal") * 5 / pl.len()).floor().clip(0, 4),
    )
    consultations = (
        read_kind(larger.landing, "consultations").group_by("nhs_number").len("consultations")
    )
    conditions = (
        read_kind(larger.landing, "conditions", months=[larger.first_month])
        .group_by("nhs_number")
        .len("conditions")
    )
    people = people.join(consultations, on="nhs_number", how="left").join(
        conditions, on="nhs_number", how="left"
    )
    people = people.with_columns(pl.col("consultations", "conditions").fill_null(0))
    by_need = people.group_by("need", "underserved").agg(
        pl.col("consultations").mean(), pl.col("conditions").mean(), pl.col("true_risk").mean()
    )
    wide = by_need.pivot(
        on="underserved", index="need", values=["consultations", "conditions", "true_risk"]
    ).sort("need")
    consult_ratio = (wide["consultations_true"] / wide["consultations_false"]).to_numpy()
    assert np.all(consult_ratio < 0.85), consult_ratio
    assert consult_ratio.mean() < 0.75
    # Fewer recorded conditions in the upper need bands, where conditions are common.
    condition_ratio = (wide["conditions_true"] / wide["conditions_false"]).to_numpy()[2:]
    assert np.all(condition_ratio < 1.0), condition_ratio
    # Same or higher true risk for the same need band.
    risk_ratio = (wide["true_risk_true"] / wide["true_risk_false"]).to_numpy()
    assert np.all(risk_ratio > 0.95), risk_ratio
