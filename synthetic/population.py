"""The synthetic people: one array per attribute, preallocated for everyone ever registered.

People are created at the start (the existing list) and each month (births and people
moving into the area). Creation gives them demographics, a residence, a latent frailty and
the long-term conditions a person of that age, sex and frailty would already have, with
the diagnosis dates their GP would have coded. Nothing here writes files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from synthetic import codes, nhs_numbers
from synthetic.model import (
    CONDITION_FRAILTY_EFFECT,
    FRAILTY_VARIANCE,
    MAXIMUM_AGE,
    RECORDING_LAG_DAYS,
    RECORDING_PROBABILITY,
    UNDERSERVED_RECORDING_LAG_DAYS,
    UNDERSERVED_RECORDING_PROBABILITY,
    Model,
)
from synthetic.reference import Area

NEVER = np.iinfo(np.int32).max  # a date that never comes: still registered, not recorded
NEVER_MONTH = np.iinfo(np.int16).max
CONDITION_COUNT = len(codes.CONDITIONS)


def ages_at(date_of_birth: np.ndarray, day: int | np.ndarray) -> np.ndarray:
    """Whole years of age at `day` (days since 1970-01-01), capped at the model's maximum."""
    return np.clip((np.asarray(day) - date_of_birth) // 365.25, 0, MAXIMUM_AGE).astype(np.int64)


@dataclass
class Population:
    """Every person's attributes and state, indexed by person number."""

    capacity: int
    count: int = 0
    nhs_number: np.ndarray = field(init=False)
    date_of_birth: np.ndarray = field(init=False)
    sex: np.ndarray = field(init=False)  # index into codes.SEX_CODES
    female: np.ndarray = field(init=False)
    ethnicity: np.ndarray = field(init=False)  # index into codes.ETHNIC_CODES
    underserved: np.ndarray = field(init=False)
    lsoa: np.ndarray = field(init=False)  # LSOA index of residence
    lsoa_recorded: np.ndarray = field(init=False)  # False: lsoa_code is null in the extract
    deprivation: np.ndarray = field(init=False)  # 0 least .. 1 most deprived
    practice: np.ndarray = field(init=False)
    registration_date: np.ndarray = field(init=False)
    exit_date: np.ndarray = field(init=False)  # deregistration or death, NEVER if neither
    died: np.ndarray = field(init=False)
    care_home: np.ndarray = field(init=False)
    opt_out_month: np.ndarray = field(init=False)  # month index from which opted out
    frailty: np.ndarray = field(init=False)
    prior_admissions: np.ndarray = field(init=False)  # decaying count of emergency admissions
    has_condition: np.ndarray = field(init=False)  # [person, condition] truly has it
    diagnosis_date: np.ndarray = field(init=False)  # [person, condition] coded on, or NEVER
    condition_weight: np.ndarray = field(init=False)  # sum of admission weights of true conditions
    condition_count: np.ndarray = field(init=False)
    other_code: np.ndarray = field(init=False)  # index into OUT_OF_SCOPE_SNOMED_CODES or -1
    other_code_date: np.ndarray = field(init=False)
    smoking: np.ndarray = field(init=False)
    body_mass_index: np.ndarray = field(init=False)
    systolic_pressure: np.ndarray = field(init=False)
    drug_choice: np.ndarray = field(init=False)  # picks among alternative drugs
    numbers: np.ndarray = field(init=False)  # NHS numbers reserved for this run

    def __post_init__(self) -> None:
        size = self.capacity
        self.nhs_number = np.zeros(size, dtype=np.int64)
        self.date_of_birth = np.zeros(size, dtype=np.int64)
        self.sex = np.zeros(size, dtype=np.int8)
        self.female = np.zeros(size, dtype=bool)
        self.ethnicity = np.zeros(size, dtype=np.int8)
        self.underserved = np.zeros(size, dtype=bool)
        self.lsoa = np.zeros(size, dtype=np.int64)
        self.lsoa_recorded = np.zeros(size, dtype=bool)
        self.deprivation = np.zeros(size, dtype=np.float64)
        self.practice = np.zeros(size, dtype=np.int64)
        self.registration_date = np.zeros(size, dtype=np.int64)
        self.exit_date = np.full(size, NEVER, dtype=np.int64)
        self.died = np.zeros(size, dtype=bool)
        self.care_home = np.zeros(size, dtype=bool)
        self.opt_out_month = np.full(size, NEVER_MONTH, dtype=np.int64)
        self.frailty = np.zeros(size, dtype=np.float64)
        self.prior_admissions = np.zeros(size, dtype=np.float64)
        self.has_condition = np.zeros((size, CONDITION_COUNT), dtype=bool)
        self.diagnosis_date = np.full((size, CONDITION_COUNT), NEVER, dtype=np.int32)
        self.condition_weight = np.zeros(size, dtype=np.float64)
        self.condition_count = np.zeros(size, dtype=np.int64)
        self.other_code = np.full(size, -1, dtype=np.int8)
        self.other_code_date = np.zeros(size, dtype=np.int64)
        self.smoking = np.zeros(size, dtype=np.int8)
        self.body_mass_index = np.zeros(size, dtype=np.float64)
        self.systolic_pressure = np.zeros(size, dtype=np.float64)
        self.drug_choice = np.zeros(size, dtype=np.int64)

    def add_people(
        self,
        model: Model,
        area: Area,
        rng: np.random.Generator,
        date_of_birth: np.ndarray,
        registration_date: np.ndarray,
        as_of: int,
        opt_out_month: int,
    ) -> np.ndarray:
        """Create people born on `date_of_birth`, registered on `registration_date`.

        Their conditions are those they would have at day `as_of`. Returns their indices.
        """
        count = date_of_birth.size
        people = np.arange(self.count, self.count + count)
        self.count += count
        if self.count > self.capacity:
            raise RuntimeError("population capacity exceeded")
        self.nhs_number[people] = self.numbers[people]
        self.date_of_birth[people] = date_of_birth
        self.registration_date[people] = registration_date
        self.sex[people] = rng.choice(len(codes.SEX_CODES), size=count, p=codes.SEX_SHARES)
        self.female[people] = self.sex[people] != 0
        ethnicity = rng.choice(
            len(codes.ETHNIC_CODES),
            size=count,
            p=np.array(codes.ETHNIC_SHARES) / sum(codes.ETHNIC_SHARES),
        )
        self.ethnicity[people] = ethnicity
        underserved_codes = [
            codes.ETHNIC_CODES.index(code) for code in codes.UNDERSERVED_ETHNIC_CODES
        ]
        self.underserved[people] = np.isin(ethnicity, underserved_codes)

        practice = rng.choice(area.practice_weights.size, size=count, p=area.practice_weights)
        self.practice[people] = practice
        # Most live in their practice's catchment; some further away.
        in_catchment = area.catchment_start[practice] + (
            rng.random(count) * area.catchment_size[practice]
        ).astype(np.int64)
        anywhere = rng.integers(area.lsoa_deprivation.size, size=count)
        lsoa = np.where(rng.random(count) < 0.9, in_catchment, anywhere)
        self.lsoa[people] = lsoa
        self.lsoa_recorded[people] = rng.random(count) >= 0.01
        deprivation = area.lsoa_deprivation[lsoa]
        self.deprivation[people] = deprivation
        self.opt_out_month[people] = np.where(
            rng.random(count) < codes.TYPE1_OPT_OUT_SHARE, opt_out_month, NEVER_MONTH
        )

        # Latent frailty drawn from the process's stationary distribution.
        frailty = model.frailty_mean(deprivation) + np.sqrt(FRAILTY_VARIANCE) * rng.standard_normal(
            count
        )
        self.frailty[people] = frailty
        self.prior_admissions[people] = 0.0

        ages = ages_at(date_of_birth, as_of)
        female = self.female[people].astype(np.int64)
        score = condition_liability(model, frailty, rng, count)
        has = score > model.prevalence_threshold[:, ages, female].T
        self.has_condition[people] = has
        # Onset somewhere in the years before `as_of`, never before the condition's youngest age.
        minimum_age_days = np.array([condition.minimum_age * 365 for condition in codes.CONDITIONS])
        earliest = np.maximum(date_of_birth[:, None] + minimum_age_days[None, :], as_of - 20 * 365)
        earliest = np.minimum(earliest, as_of)
        onset = earliest + (rng.random((count, CONDITION_COUNT)) * (as_of - earliest + 1)).astype(
            np.int64
        )
        self.diagnosis_date[people] = np.where(has, self.recorded_date(rng, people, onset), NEVER)
        self.condition_weight[people] = has @ model.admission_weights
        self.condition_count[people] = has.sum(axis=1)

        other = rng.random(count) < 0.08
        self.other_code[people] = np.where(
            other, rng.integers(len(codes.OUT_OF_SCOPE_SNOMED_CODES), size=count), -1
        )
        span = np.maximum(as_of - date_of_birth, 1)
        self.other_code_date[people] = as_of - (rng.random(count) * np.minimum(span, 3650)).astype(
            np.int64
        )
        adult = ages >= 16
        self.smoking[people] = np.where(adult, rng.choice(3, size=count, p=codes.SMOKING_SHARES), 2)
        self.body_mass_index[people] = np.where(
            adult,
            np.clip(rng.normal(27.5, 5.0, count), 15, 60),
            np.clip(rng.normal(18, 3, count), 12, 30),
        )
        hypertensive = has[:, codes.CONDITION_INDEX["hypertension"]]
        self.systolic_pressure[people] = np.where(hypertensive, 142.0, 124.0) + rng.normal(
            0, 8, count
        )
        self.drug_choice[people] = rng.integers(0, 1 << 30, size=count)
        return people

    def recorded_date(
        self, rng: np.random.Generator, people: np.ndarray, onset: np.ndarray
    ) -> np.ndarray:
        """Date each onset is coded by the GP (NEVER if it never is): later and rarer for
        the under-served subgroup, who consult less for the same need."""
        underserved = self.underserved[people]
        if onset.ndim == 2:
            underserved = underserved[:, None]
        probability = np.where(
            underserved, UNDERSERVED_RECORDING_PROBABILITY, RECORDING_PROBABILITY
        )
        lag = np.where(underserved, UNDERSERVED_RECORDING_LAG_DAYS, RECORDING_LAG_DAYS)
        recorded = rng.random(onset.shape) < probability
        delay = (rng.exponential(1.0, onset.shape) * lag).astype(np.int64)
        return np.where(recorded, onset + delay, NEVER).astype(np.int32)


def condition_liability(
    model: Model, frailty: np.ndarray, rng: np.random.Generator, count: int
) -> np.ndarray:
    """Liability to each condition: frailty shared across conditions plus individual noise."""
    shared = CONDITION_FRAILTY_EFFECT * (frailty - model.frailty_reference)
    return shared[:, None] + rng.standard_normal((count, CONDITION_COUNT))


def allocate_numbers(population: Population, rng: np.random.Generator) -> None:
    """Reserve a distinct NHS number for everyone the run can create."""
    population.numbers = nhs_numbers.allocate(population.capacity, rng)
