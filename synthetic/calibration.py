"""Fitting the model's base rates to published-rates.md on the starting population.

calibrate() sets the emergency-admission intercepts per age band, the death normaliser,
care-home entries and the bases of consultations, A&E, outpatients and elective
admissions, so the first months reproduce the published figures. It changes the Model
(and burns in the starting population's recent-admission history); it never writes files.
"""

from __future__ import annotations

import numpy as np

from synthetic import codes
from synthetic.model import DEATH_AFTER_ADMISSION_FACTOR, PRIOR_ADMISSION_DECAY, Model, band_of
from synthetic.population import Population, ages_at
from synthetic.rates import (
    CHEMOTHERAPY_PER_MONTH,
    ae_rate,
    consultation_rate,
    elective_rate,
    emergency_log_hazard,
    outpatient_rate,
)

# The frailest older people die first, so a band's rate drifts below its starting value;
# the older bands start a little high to land on the published rates over the run.
SURVIVOR_UPLIFT = (1.0, 1.0, 1.0, 1.0, 1.03, 1.1, 1.25)


def calibrate(
    model: Model, population: Population, rng: np.random.Generator, start_day: int
) -> None:
    """Fit the intercepts so the starting population reproduces the published rates.

    Emergency-admission intercepts are fitted per age band, then recent-admission history
    is burnt in (twice) so the self-exciting term starts near its steady state.
    """
    people = np.arange(population.count)
    ages = ages_at(population.date_of_birth[people], start_day)
    bands = band_of(ages, codes.EMERGENCY_AGE_BANDS)

    def fit_emergency_intercepts() -> None:
        # A very low provisional intercept keeps the hazard cap out of the first fit; a
        # few fixed-point steps then account for the cap on the frailest people.
        model.emergency_intercept[:] = -20.0
        for _step in range(5):
            hazard = np.exp(emergency_log_hazard(model, population, people, ages))
            for band, rate in enumerate(codes.EMERGENCY_RATE_PER_1000):
                in_band = bands == band
                low, high = codes.EMERGENCY_AGE_BANDS[band]
                ages_in_band = slice(low, min(high, model.emergency_intercept.size - 1) + 1)
                target = rate * SURVIVOR_UPLIFT[band] / 12_000.0
                if in_band.any():
                    model.emergency_intercept[ages_in_band] += np.log(
                        target / hazard[in_band].mean()
                    )
                else:
                    # Nobody of this age yet (tiny runs): the band's rate at average risk.
                    model.emergency_intercept[ages_in_band] = np.log(target)

    fit_emergency_intercepts()
    for _ in range(2):
        prior = np.zeros(people.size)
        for _month in range(12):
            population.prior_admissions[people] = prior
            hazard = np.exp(emergency_log_hazard(model, population, people, ages))
            prior = prior * PRIOR_ADMISSION_DECAY + rng.poisson(hazard)
        population.prior_admissions[people] = prior
        fit_emergency_intercepts()

    hazard = np.exp(emergency_log_hazard(model, population, people, ages))
    frailty = population.frailty[people]
    admitted = 1.0 - np.exp(-hazard)
    model.death_normaliser = 1.0
    raw_death = model.death_probability(ages, frailty, np.zeros(people.size, dtype=bool))
    expected = raw_death * (1.0 + (DEATH_AFTER_ADMISSION_FACTOR - 1.0) * admitted)
    model.death_normaliser = codes.DEATHS_PER_YEAR / 12.0 * people.size / expected.sum()

    # Care-home entries replace residents who die, keeping the share steady.
    care_home = population.care_home[people]
    resident_deaths = (
        model.death_probability(ages, frailty, np.zeros(people.size, dtype=bool)) * care_home
    ).sum()
    raw_entries = (model.care_home_entry_probability(ages, frailty) * ~care_home).sum()
    if raw_entries > 0:
        model.care_home_entry_base *= 1.4 * resident_deaths / raw_entries

    consultations = consultation_rate(model, population, people, ages)
    model.consultation_base *= codes.CONSULTATIONS_PER_PERSON / 12.0 / consultations.mean()
    emergency_per_1000 = hazard.mean() * 12_000.0
    ae_target = (
        codes.AE_ATTENDANCES_PER_1000 - codes.EMERGENCY_METHOD_SHARES[0] * emergency_per_1000
    )
    model.ae_base *= ae_target / 12_000.0 / ae_rate(model, population, people, ages).mean()
    model.outpatient_base *= (
        codes.OUTPATIENTS_PER_1000
        / 12_000.0
        / outpatient_rate(model, population, people, ages).mean()
    )
    chemotherapy = (
        CHEMOTHERAPY_PER_MONTH
        * population.has_condition[people, codes.CONDITION_INDEX["cancer"]].mean()
        * 12_000.0
    )
    model.elective_base *= (
        (codes.ELECTIVE_ADMISSIONS_PER_1000 - chemotherapy)
        / 12_000.0
        / elective_rate(model, population, people, ages).mean()
    )
