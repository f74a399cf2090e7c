"""truth.py's streamlined arithmetic agrees with the dynamics in model.py that make the data."""

from __future__ import annotations

import numpy as np

from synthetic.calibration import calibrate
from synthetic.model import PRIOR_ADMISSION_DECAY, SHOCK_PROBABILITY, Model
from synthetic.population import Population, ages_at, allocate_numbers
from synthetic.reference import build_area
from synthetic.simulation import create_initial_list
from synthetic.truth import TruthInputs, true_risk


def _reference_risk(
    model: Model, inputs: TruthInputs, starts: np.ndarray, paths: int, rng: np.random.Generator
) -> np.ndarray:
    """Plain Monte Carlo with model.py's own functions, `paths` paths per person."""
    count = inputs.frailty.size
    repeat = lambda values: np.repeat(values, paths)  # noqa: E731
    ages_now = ages_at(inputs.date_of_birth, int(starts[0]) - 1)
    incidence = (
        model.incidence[:, ages_now, inputs.female.astype(np.int64)].T * ~inputs.has_condition
    )
    onset_total = incidence.sum(axis=1)
    new_weight = np.divide(
        incidence @ model.admission_weights, onset_total, out=np.zeros(count), where=onset_total > 0
    )
    date_of_birth, deprivation, underserved = (
        repeat(inputs.date_of_birth),
        repeat(inputs.deprivation),
        repeat(inputs.underserved),
    )
    frailty, weight, care = (
        repeat(inputs.frailty),
        repeat(inputs.condition_weight),
        repeat(inputs.care_home),
    )
    prior, onset_total, new_weight = (
        repeat(inputs.prior_admissions),
        repeat(onset_total),
        repeat(new_weight),
    )
    mean = model.frailty_mean(deprivation)
    surviving = np.ones(frailty.size)
    risk = np.zeros(frailty.size)
    for start in starts:
        ages = ages_at(date_of_birth, int(start))
        frailty = model.advance_frailty(
            frailty,
            mean,
            rng.standard_normal(frailty.size),
            rng.random(frailty.size) < SHOCK_PROBABILITY,
        )
        weight = weight + new_weight * (
            rng.random(frailty.size) < onset_total * model.onset_factor(frailty)
        )
        care = care | (rng.random(frailty.size) < model.care_home_entry_probability(ages, frailty))
        stay = np.exp(
            -np.exp(
                model.emergency_log_hazard(
                    ages, frailty, weight, care, deprivation, underserved, prior
                )
            )
        )
        risk += surviving * (1 - stay)
        no_admission = np.zeros(frailty.size, dtype=bool)
        surviving *= (
            stay
            * (1 - model.death_probability(ages, frailty, no_admission))
            * (1 - model.leaving_probability(ages, care))
        )
        prior = prior * PRIOR_ADMISSION_DECAY
    return risk.reshape(count, paths).mean(axis=1)


def test_true_risk_matches_a_plain_simulation_of_the_model() -> None:
    rng = np.random.default_rng(0)
    area = build_area(3_000, rng)
    model = Model.from_published_rates()
    population = Population(capacity=3_000)
    allocate_numbers(population, rng)
    start_day = int(np.datetime64("2024-01-01").astype(np.int64))
    create_initial_list(population, model, area, rng, 3_000, start_day)
    calibrate(model, population, rng, start_day)
    # The frailest and oldest as well as typical people, so every term matters.
    chosen = np.concatenate(
        [
            np.argsort(population.frailty[: population.count])[-150:],
            rng.choice(population.count, 150, replace=False),
        ]
    )
    inputs = TruthInputs.capture(population, chosen)
    starts = (np.datetime64("2024-01") + np.arange(12)).astype("datetime64[D]").astype(np.int64)
    repeated = np.mean(
        [
            true_risk(model, inputs, start_day - 1, starts, np.random.default_rng(seed))
            for seed in range(20)
        ],
        axis=0,
    )
    reference = _reference_risk(model, inputs, starts, 400, np.random.default_rng(99))
    assert abs(repeated.mean() - reference.mean()) / reference.mean() < 0.02
    assert np.corrcoef(repeated, reference)[0, 1] > 0.99
    assert np.median(np.abs(repeated - reference) / reference) < 0.05
