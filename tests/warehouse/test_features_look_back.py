"""No feature's window depends on how old the feed is (docs/features.md, "Look-back").

On a generated zone, the training date 12 months into the feed (the first a plan trains
on) and the scoring date 25 months in must see the same distribution of every "latest",
"active" and "days since" feature. The generator is stationary month to month (on 20,000
people x 36 months, seed 101: emergency admissions in 12 months 0.106 at 2023-12 and
0.097 at 2025-12; BMI missing 0.768 and 0.771), so what differs beyond sampling noise is
the feature's window. With 4,000 people a missing share near 0.7 has a standard error of
about 0.007, so 0.03 is four of them; the uncapped SQL differed by 0.13 (BMI missing) and
the mean days since an emergency admission nearly doubled.
"""

import datetime

import polars as pl
import pytest

from models.dataset import feature_frame
from models.feature_catalogue import FEATURE_NAMES
from tests.warehouse.features_fixtures import copy_warehouse, generated_warehouse

pytestmark = pytest.mark.slow

PEOPLE, MONTHS = 4_000, 25  # 2023-01 .. 2025-01
TRAINING_DATE = datetime.date(2023, 12, 31)  # 12 months of history
SCORING_DATE = datetime.date(2025, 1, 31)  # 25 months
MEASUREMENTS = ("bmi", "systolic_bp", "hba1c", "days_since_emergency_admission")
SHARE_TOLERANCE = 0.03
MEAN_TOLERANCE = 0.15  # relative; days since an admission rests on ~300 people


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> dict[datetime.date, pl.DataFrame]:
    connection = copy_warehouse(
        generated_warehouse(PEOPLE, MONTHS), tmp_path_factory.mktemp("look-back")
    )
    try:
        frame = feature_frame(connection, [TRAINING_DATE, SCORING_DATE], with_labels=False)
    finally:
        connection.close()
    return {day: frame.filter(pl.col("index_date") == day) for day in (TRAINING_DATE, SCORING_DATE)}


def test_no_window_is_longer_than_a_training_date_has():
    assert not [name for name in FEATURE_NAMES if name.endswith("_24m")]


@pytest.mark.parametrize("name", MEASUREMENTS)
def test_latest_and_days_since_agree_at_a_training_date_and_the_scoring_date(frames, name):
    training, scoring = (frames[d].get_column(name) for d in (TRAINING_DATE, SCORING_DATE))
    missing = training.is_null().mean(), scoring.is_null().mean()
    assert abs(missing[0] - missing[1]) < SHARE_TOLERANCE, f"{name} missing {missing}"
    means = training.mean(), scoring.mean()
    assert abs(means[1] / means[0] - 1) < MEAN_TOLERANCE, f"{name} mean {means}"


def test_smoking_status_is_recorded_as_often_at_both_dates(frames):
    shares = [
        (frames[d].get_column("smoking_status") == "not recorded").mean()
        for d in (TRAINING_DATE, SCORING_DATE)
    ]
    assert abs(shares[0] - shares[1]) < SHARE_TOLERANCE, shares
