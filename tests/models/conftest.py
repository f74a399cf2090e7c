"""Synthetic feature frames with a known relation to the label, shaped like models.dataset's.

Until (and besides) the real feature catalogue, model code is tested on these: a few
numeric, flag and categorical features, and an outcome drawn from a known logistic
model with an interaction and a threshold LightGBM can find and a linear model cannot.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl
import pytest

LABEL = "emergency_admission_12m"


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Literal["numeric", "categorical", "flag"]
    group: str
    description: str
    phrase: str


FEATURES = (
    Feature("age", "numeric", "demographics", "age in years", "aged {value:.0f}"),
    Feature("sex", "categorical", "demographics", "sex", "{value}"),
    Feature(
        "ethnicity_group", "categorical", "demographics", "ethnicity group", "{value} ethnicity"
    ),
    Feature(
        "imd_decile", "numeric", "demographics", "IMD decile", "lives in IMD decile {value:.0f}"
    ),
    Feature("care_home", "flag", "social", "lives in a care home", "lives in a care home"),
    Feature("heart_failure", "flag", "conditions", "heart failure", "heart failure"),
    Feature(
        "ltc_count",
        "numeric",
        "conditions",
        "long-term conditions",
        "{value:.0f} long-term conditions",
    ),
    Feature(
        "emergency_admissions_12m",
        "numeric",
        "activity",
        "emergency admissions, 12 months",
        "{value:.0f} emergency admissions in the last 12 months",
    ),
    Feature(
        "bnf_sections_12m",
        "numeric",
        "medicines",
        "BNF sections",
        "medicines from {value:.0f} BNF sections",
    ),
    Feature(
        "latest_hba1c", "numeric", "measurements", "latest HbA1c", "HbA1c {value:.0f} mmol/mol"
    ),
)


def month_end(year: int, month: int) -> datetime.date:
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return following - datetime.timedelta(days=1)


def index_dates(months: int, start: tuple[int, int] = (2023, 1)) -> list[datetime.date]:
    year, month = start
    return [
        month_end(year + (month - 1 + k) // 12, (month - 1 + k) % 12 + 1) for k in range(months)
    ]


def synthetic_frame(
    people: int = 3000,
    dates: list[datetime.date] | None = None,
    seed: int = 1,
    with_labels: bool = True,
) -> pl.DataFrame:
    """Rows per (index_date, person); the same people age and accumulate conditions."""
    rng = np.random.default_rng(seed)
    dates = dates if dates is not None else index_dates(18)
    base_age = rng.integers(18, 95, people)
    sex = rng.choice(["female", "male"], people)
    ethnicity = rng.choice(
        ["White", "Asian", "Black", "Mixed", "Other"], people, p=[0.7, 0.12, 0.08, 0.05, 0.05]
    )
    imd = rng.integers(1, 11, people)
    frailty = rng.gamma(2.0, 0.5, people)
    practice = rng.choice(["P001", "P002", "P003", "P004"], people)
    frames = []
    for step, date in enumerate(dates):
        age = base_age + step // 12
        ltc = rng.poisson(frailty * (age / 40))
        heart_failure = (rng.random(people) < 0.02 + 0.05 * (age > 70)).astype(np.int8)
        care_home = (rng.random(people) < 0.01 + 0.08 * (age > 85)).astype(np.int8)
        admissions = rng.poisson(0.1 + 0.3 * frailty * (age > 65))
        bnf = rng.poisson(1 + ltc * 1.5)
        hba1c = np.where(rng.random(people) < 0.3, rng.normal(50, 10, people), np.nan)
        linear = (
            -4.2
            + 0.035 * (age - 50)
            + 0.25 * ltc
            + 0.6 * np.minimum(admissions, 3)
            + 0.9 * heart_failure
            + 0.8 * care_home
            + 0.5 * (frailty > 1.5) * (age > 75)
            + 0.04 * (5 - imd)
            + 0.3 * (ethnicity == "Black")
        )
        label = (rng.random(people) < 1 / (1 + np.exp(-linear))).astype(np.int8)
        columns = {
            "nhs_number": [f"{9_000_000_000 + i}" for i in range(people)],
            "index_date": [date] * people,
            "practice_code": practice,
            "age": age.astype(np.float64),
            "sex": sex,
            "ethnicity_group": ethnicity,
            "imd_decile": imd.astype(np.float64),
            "care_home": care_home,
            "heart_failure": heart_failure,
            "ltc_count": ltc.astype(np.float64),
            "emergency_admissions_12m": admissions.astype(np.float64),
            "bnf_sections_12m": bnf.astype(np.float64),
            "latest_hba1c": hba1c,
        }
        frame = pl.DataFrame(columns).with_columns(
            pl.col("index_date").cast(pl.Date),
            pl.col("care_home", "heart_failure").cast(pl.Int8),
            pl.col("latest_hba1c").fill_nan(None),
        )
        if with_labels:
            frame = frame.with_columns(pl.Series(LABEL, label, dtype=pl.Int8))
        frames.append(frame)
    return pl.concat(frames).sort("index_date", "nhs_number")


@pytest.fixture(scope="session")
def labelled_frame() -> pl.DataFrame:
    return synthetic_frame()


@pytest.fixture(scope="session")
def training_set(labelled_frame):
    from models.training import TrainingSet, plan_training

    plan = plan_training(labelled_frame.get_column("index_date").unique().sort().to_list())
    return TrainingSet(
        plan=plan, frame=labelled_frame.filter(pl.col("index_date").is_in(plan.all_dates))
    )


@pytest.fixture(scope="session")
def training_result(training_set):
    from models.training import train

    return train(training_set, FEATURES, LABEL)
