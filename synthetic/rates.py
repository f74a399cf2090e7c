"""Each person's expected activity in a month, from the latent state the simulation keeps.

The calibration scales each rate's base so the starting population reproduces the
published figures; the feed writers draw counts of events from the same rates. Rates are
per person per month of registration; the emergency-admission hazard, which the
simulation draws admissions from, is here too. Nothing here draws random numbers or
writes files.
"""

from __future__ import annotations

import numpy as np

from synthetic.model import (
    CONSULTATION_FRAILTY_EFFECT,
    DEPRIVED_CONSULTATION_FACTOR,
    UNDERSERVED_CONSULTATION_FACTOR,
    Model,
)
from synthetic.population import Population

CHEMOTHERAPY_PER_MONTH = 0.04  # day cases per person with cancer, on top of elective_rate


def consultation_rate(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """Monthly GP consultations: need (age, sex, frailty, conditions) times access, which
    is lower for the under-served subgroup and the most deprived for the same need."""
    access = np.where(
        population.underserved[people],
        UNDERSERVED_CONSULTATION_FACTOR,
        np.where(population.deprivation[people] > 0.85, DEPRIVED_CONSULTATION_FACTOR, 1.0),
    )
    need = np.exp(
        CONSULTATION_FRAILTY_EFFECT * (population.frailty[people] - model.frailty_reference)
        + 0.12 * population.condition_count[people]
    )
    return model.consultation_base[ages, population.female[people].astype(np.int64)] * need * access


def ae_rate(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """Monthly A&E attendances that do not end in admission."""
    return model.ae_base[ages] * np.exp(
        0.3 * (population.frailty[people] - model.frailty_reference)
        + 0.1 * population.deprivation[people]
    )


def outpatient_rate(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """Monthly outpatient appointments."""
    return model.outpatient_base[ages] * np.exp(
        0.2 * (population.frailty[people] - model.frailty_reference)
        + 0.2 * population.condition_count[people]
    )


def elective_rate(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """Monthly elective admissions (chemotherapy day cases come on top)."""
    return model.elective_base[ages] * np.exp(0.15 * population.condition_count[people])


def emergency_log_hazard(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """Log of the monthly emergency-admission hazard of `people`, aged `ages`."""
    return model.emergency_log_hazard(
        ages,
        population.frailty[people],
        population.condition_weight[people],
        population.care_home[people],
        population.deprivation[people],
        population.underserved[people],
        population.prior_admissions[people],
    )
