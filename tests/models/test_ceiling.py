"""The feature ceiling: the same features and learner fitted to the generator's true risk."""

import numpy as np
import polars as pl
from scipy.stats import spearmanr

from models.boosting import SEED
from models.ceiling import feature_ceiling_risk
from models.registry import fit_encoding
from models.training import PARAMETERS
from tests.models.conftest import FEATURES


def known_truth(frame: pl.DataFrame) -> pl.DataFrame:
    """A true risk that is a function of the features alone, so a perfect fit ranks by it."""
    linear = (
        -3.0
        + 0.04 * (pl.col("age") - 50)
        + 1.2 * pl.col("heart_failure")
        + 0.3 * pl.col("ltc_count")
    )
    return frame.select("nhs_number", "index_date", (1 / (1 + (-linear).exp())).alias("true_risk"))


def test_the_ceiling_learns_the_true_risk_and_never_reads_it_at_the_validation_date(
    training_set,
):
    training, validation = training_set.training, training_set.validation
    encoding = fit_encoding([training, validation], FEATURES)
    truth = known_truth(training_set.frame)
    ceiling = feature_ceiling_risk(training, validation, truth, encoding, PARAMETERS, seed=SEED)
    at_validation = known_truth(validation).get_column("true_risk").to_numpy()
    assert spearmanr(ceiling, at_validation).statistic > 0.95

    shuffled = truth.with_columns(
        pl.when(pl.col("index_date") == training_set.plan.validation_date)
        .then(pl.col("true_risk").shuffle(seed=1))
        .otherwise(pl.col("true_risk"))
    )
    again = feature_ceiling_risk(training, validation, shuffled, encoding, PARAMETERS, seed=SEED)
    np.testing.assert_array_equal(again, ceiling)
