"""Ground truth: each person's probability of an emergency admission in the next 12 months.

true_risk is what an ideal model that knew the latent state at the index date could know.
It runs the generator's own monthly dynamics (model.py) forward from the state at the
index date with an independent random stream: two antithetic paths of frailty, new
conditions and care-home entry per person, and along each path the exact probability of
at least one emergency admission before the person dies or moves away (the admission draw
itself is integrated out). It never looks at the simulation's future random draws, so it
is the outcome's expectation, not the outcome: averaged over people it matches the
realised 12-month rate.

The arithmetic is written out here (float32, one exp and one sqrt per path-month) rather
than calling model.py's functions, because it runs for every registered person at 25
index dates; tests check the two stay in step (tests/synthetic/test_truth.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from synthetic import model as process
from synthetic.model import Model
from synthetic.population import Population, ages_at

HORIZON_MONTHS = 12


@dataclass(frozen=True)
class TruthInputs:
    """A copy of the state of the people registered at an index date.

    Copied so the calculation can run in a background thread while the simulation moves on.
    """

    date_of_birth: np.ndarray
    female: np.ndarray
    has_condition: np.ndarray
    deprivation: np.ndarray
    underserved: np.ndarray
    condition_weight: np.ndarray
    frailty: np.ndarray
    care_home: np.ndarray
    prior_admissions: np.ndarray

    @classmethod
    def capture(cls, population: Population, people: np.ndarray) -> TruthInputs:
        return cls(
            date_of_birth=population.date_of_birth[people],
            female=population.female[people],
            has_condition=population.has_condition[people],
            deprivation=population.deprivation[people],
            underserved=population.underserved[people],
            condition_weight=population.condition_weight[people],
            frailty=population.frailty[people],
            care_home=population.care_home[people],
            prior_admissions=population.prior_admissions[people],
        )


def true_risk(
    model: Model,
    state: TruthInputs,
    index_day: int,
    following_month_starts: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """P(>= 1 emergency admission in the 12 months after `index_day`) for each person.

    `following_month_starts` holds the first day of each of the 12 following months.
    """
    assert process.ADMISSION_FRAILTY_EFFECT == 1.0
    assert process.CONDITION_FRAILTY_EFFECT == 0.5 and process.DEATH_FRAILTY_EFFECT == 0.5
    count = state.frailty.size
    if count == 0:
        return np.zeros(0)
    f32 = np.float32
    date_of_birth = state.date_of_birth
    female = state.female.astype(np.int64)
    ages_now = ages_at(date_of_birth, index_day)
    # Conditions not yet had: their total monthly onset rate and mean admission weight.
    absent = ~state.has_condition
    incidence = model.incidence[:, ages_now, female].T * absent
    onset_total = incidence.sum(axis=1)
    new_weight = np.divide(
        incidence @ model.admission_weights, onset_total, out=np.zeros(count), where=onset_total > 0
    )
    onset_scale = (onset_total * model.condition_normaliser).astype(f32)
    new_condition_factor = np.exp(new_weight).astype(f32)
    care_factor = f32(np.exp(process.CARE_HOME_EFFECT))
    # Terms of the log hazard that do not change along a path.
    fixed = (
        process.DEPRIVATION_EFFECT * state.deprivation
        + process.UNDERSERVED_EFFECT * state.underserved
        + state.condition_weight
    )
    frailty_mean = model.frailty_mean(state.deprivation)
    shock_mean = process.SHOCK_PROBABILITY * process.SHOCK_SIZE / (1.0 - process.PERSISTENCE)
    pull = (
        (1.0 - process.PERSISTENCE) * (frailty_mean - shock_mean - model.frailty_reference)
    ).astype(f32)
    # Paths carry frailty relative to the reference, x = h - reference.
    x0 = (state.frailty - model.frailty_reference).astype(f32)
    x = np.stack([x0, x0.copy()])
    care_home = np.stack([state.care_home] * 2)
    multiplier = np.where(care_home, care_factor, f32(1.0)).astype(f32)
    prior = state.prior_admissions.copy()
    no_admission_yet = np.ones((2, count), dtype=f32)
    risk = np.zeros((2, count), dtype=f32)
    cap = f32(process.MAXIMUM_MONTHLY_ADMISSIONS)
    for month in range(HORIZON_MONTHS):
        ages = ages_at(date_of_birth, int(following_month_starts[month]))
        base = np.exp(
            model.emergency_intercept[ages]
            + fixed
            + process.PRIOR_ADMISSION_EFFECT
            * np.log1p(np.minimum(prior, process.PRIOR_ADMISSION_CAP))
        ).astype(f32)
        death_base = (model.death_base[ages] * model.death_normaliser).astype(f32)
        entry_base = model.care_home_entry_base[ages].astype(f32)
        leaving = model.leaving_probability(ages, np.zeros(count, dtype=bool)).astype(f32)
        step = (process.INNOVATION_SD * rng.standard_normal(count, dtype=f32)).astype(f32)
        uniform = rng.random((3, count), dtype=f32)
        for path in (0, 1):
            draws = uniform if path == 0 else f32(1.0) - uniform
            path_x = x[path]
            path_x *= f32(process.PERSISTENCE)
            path_x += pull
            if path == 0:
                path_x += step
            else:
                path_x -= step
            path_x += f32(process.SHOCK_SIZE) * (draws[0] < process.SHOCK_PROBABILITY)
            frailty_factor = np.exp(path_x)
            half = np.sqrt(frailty_factor)
            new_condition = draws[1] < onset_scale * half
            multiplier[path] = np.where(
                new_condition, multiplier[path] * new_condition_factor, multiplier[path]
            )
            entering = (draws[2] < np.minimum(entry_base * frailty_factor, f32(0.2))) & ~care_home[
                path
            ]
            care_home[path] |= entering
            multiplier[path] = np.where(entering, multiplier[path] * care_factor, multiplier[path])
            hazard = np.minimum(base * multiplier[path] * frailty_factor, cap)
            stay = np.exp(-hazard)
            risk[path] += no_admission_yet[path] * (f32(1.0) - stay)
            death = np.minimum(death_base * half, f32(0.5))
            leave = np.where(care_home[path], f32(process.LEAVING_CARE_HOME), leaving)
            no_admission_yet[path] *= stay * (f32(1.0) - death) * (f32(1.0) - leave)
        prior *= process.PRIOR_ADMISSION_DECAY
    return risk.mean(axis=0, dtype=np.float64)
