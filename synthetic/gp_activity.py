"""The GP practice feeds of one month: gp/<practice_code>/*.csv for every practice.

Registrations and conditions are snapshots at the month's last day; consultations,
medications and observations are events dated inside the month and inside the person's
registration window. Rows are sorted on all their columns (one packed integer key), so
output bytes depend only on the seed.

A Type 1 opt-out's GP data must never leave the practice: from the month they opt out,
only their registration row, flagged `type1_opt_out = Y`, is extracted; no condition,
consultation, medication or observation of theirs is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthetic import codes
from synthetic.feed_columns import choice, dates, lookup, uniform_day, yes_no
from synthetic.landing import MonthWriter
from synthetic.model import Model
from synthetic.month_state import MonthState
from synthetic.population import Population, ages_at
from synthetic.rates import consultation_rate
from synthetic.reference import Area

REPEAT_ISSUE_PROBABILITY = 0.8
ACUTE_ISSUE_PROBABILITY = 0.3

GP_FILES = ("registrations", "conditions", "consultations", "medications", "observations")

_DRUGS = tuple(
    sorted(
        {drug for slots in codes.REPEAT_DRUGS.values() for slot in slots for drug in slot}
        | set(codes.ACUTE_DRUGS)
    )
)
_DRUG_INDEX = {code: position for position, code in enumerate(_DRUGS)}
_OBSERVATION_CODES = (codes.BMI_CODE, codes.SYSTOLIC_CODE, codes.HBA1C_CODE, *codes.SMOKING_CODES)
_CONDITION_CODES = (
    tuple(condition.snomed_code for condition in codes.CONDITIONS) + codes.OUT_OF_SCOPE_SNOMED_CODES
)


def write_month(
    writer: MonthWriter,
    state: MonthState,
    population: Population,
    model: Model,
    area: Area,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
) -> None:
    """Write every practice's five files for the month (the manifest is the caller's).

    `ages` and `exposure` (the share of the month registered) are per present person.
    """
    sharing = (
        population.opt_out_month[state.present] > state.index
    )  # GP data may leave the practice
    frames = {
        "registrations": _registrations(state, population, area),
        "conditions": _conditions(state, population, sharing),
    }
    consultations, frames["consultations"] = _consultations(
        state, population, model, rng, ages, exposure, sharing
    )
    frames["medications"] = _medications(state, population, rng, sharing, consultations)
    frames["observations"] = _observations(state, population, rng, ages, consultations)
    practice_codes = area.practice_codes.tolist()
    for name in GP_FILES:
        writer.write_per_practice(name, frames[name], practice_codes)


def _row_order(
    practice: np.ndarray,
    nhs_number: np.ndarray,
    day_in_month: np.ndarray | None = None,
    code: np.ndarray | None = None,
) -> np.ndarray:
    """Row order of a GP file: practice, NHS number, day, code, packed in one int64 key.

    One integer sort instead of a multi-column string sort. numpy's default sort is
    deterministic, so rows with equal keys still come out in the same order every run.
    """
    key = (practice.astype(np.int64) << 45) | (nhs_number.astype(np.int64) << 11)
    if day_in_month is not None:
        key |= day_in_month.astype(np.int64) << 6
    if code is not None:
        key |= code.astype(np.int64)
    return np.argsort(key)


def _registrations(state: MonthState, population: Population, area: Area) -> pl.DataFrame:
    people = state.present
    exit_date = population.exit_date[people]
    died = population.died[people] & (exit_date <= state.last_day)
    left = exit_date <= state.last_day
    lsoa_codes = area.lsoas["lsoa_code"].to_list()
    frame = pl.DataFrame(
        {
            "practice": population.practice[people],
            "nhs_number": population.nhs_number[people],
            "date_of_birth": dates(population.date_of_birth[people]),
            "sex": lookup(codes.SEX_CODES, population.sex[people]),
            "ethnic_category": lookup(codes.ETHNIC_CODES, population.ethnicity[people]),
            "lsoa_code": lookup(
                lsoa_codes, population.lsoa[people], ~population.lsoa_recorded[people]
            ),
            "registration_date": dates(population.registration_date[people]),
            # A death ends the registration on the same day.
            "deregistration_date": dates(np.where(left, exit_date, 0), ~left),
            "date_of_death": dates(np.where(died, exit_date, 0), ~died),
            "care_home": yes_no(population.care_home[people]),
            "type1_opt_out": yes_no(population.opt_out_month[people] <= state.index),
        }
    )
    return frame[_row_order(frame["practice"].to_numpy(), frame["nhs_number"].to_numpy())]


def _conditions(state: MonthState, population: Population, sharing: np.ndarray) -> pl.DataFrame:
    people = state.present[sharing]
    recorded = population.diagnosis_date[people] <= state.last_day
    rows, conditions = np.nonzero(recorded)
    other = (population.other_code[people] >= 0) & (
        population.other_code_date[people] <= state.last_day
    )
    other_rows = np.nonzero(other)[0]
    person = np.concatenate([people[rows], people[other_rows]])
    code = np.concatenate(
        [conditions, len(codes.CONDITIONS) + population.other_code[people[other_rows]]]
    )
    date = np.concatenate(
        [
            population.diagnosis_date[people[rows], conditions],
            population.other_code_date[people[other_rows]],
        ]
    )
    frame = pl.DataFrame(
        {
            "practice": population.practice[person],
            "nhs_number": population.nhs_number[person],
            "snomed_code": lookup(_CONDITION_CODES, code),
            "diagnosis_date": dates(date),
        }
    )
    return frame[_row_order(population.practice[person], population.nhs_number[person], code=code)]


@dataclass
class Consultations:
    """Consultation rows before they become a frame, for the files that hang off them."""

    person: np.ndarray
    day: np.ndarray


def _consultations(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    sharing: np.ndarray,
) -> tuple[Consultations, pl.DataFrame]:
    people = state.present
    rate = consultation_rate(model, population, people, ages) * exposure
    counts = rng.poisson(rate) * sharing
    rows = np.repeat(np.arange(people.size), counts)
    day = uniform_day(rng, state.window_start[rows], state.window_end[rows])
    person = people[rows]
    frail = (ages[rows] >= 80) | population.care_home[person]
    mode = np.where(
        frail,
        choice(rng, codes.CONSULTATION_MODE_SHARES_FRAIL, rows.size),
        choice(rng, codes.CONSULTATION_MODE_SHARES, rows.size),
    )
    clinician = choice(rng, codes.CLINICIAN_SHARES, rows.size)
    frame = pl.DataFrame(
        {
            "practice": population.practice[person],
            "nhs_number": population.nhs_number[person],
            "consultation_date": dates(day),
            "mode": lookup(codes.CONSULTATION_MODES, mode),
            "clinician": lookup(codes.CLINICIANS, clinician),
        }
    )
    frame = frame[
        _row_order(
            population.practice[person],
            population.nhs_number[person],
            day - state.first_day,
            mode * 4 + clinician,
        )
    ]
    return Consultations(person=person, day=day), frame


def _medications(
    state: MonthState,
    population: Population,
    rng: np.random.Generator,
    sharing: np.ndarray,
    consultations: Consultations,
) -> pl.DataFrame:
    people = state.present[sharing]
    window_start = state.window_start[sharing]
    window_end = state.window_end[sharing]
    # Every (person, condition, drug slot) on treatment, from one pass over the record.
    slot_alternatives = [
        alternatives
        for condition in codes.CONDITIONS
        for alternatives in codes.REPEAT_DRUGS[condition.name]
    ]
    slot_condition = np.array(
        [
            position
            for position, condition in enumerate(codes.CONDITIONS)
            for _ in codes.REPEAT_DRUGS[condition.name]
        ]
    )
    slots_of_condition = np.bincount(slot_condition, minlength=len(codes.CONDITIONS))
    first_slot = np.concatenate([[0], np.cumsum(slots_of_condition)[:-1]])
    slot_drugs = np.full((len(slot_alternatives), 3), -1)
    for position, alternatives in enumerate(slot_alternatives):
        slot_drugs[position, : len(alternatives)] = [_DRUG_INDEX[drug] for drug in alternatives]
    slot_choices = np.array([len(alternatives) for alternatives in slot_alternatives])

    diagnosed = population.diagnosis_date[people]
    rows, conditions = np.nonzero(
        (diagnosed <= window_end[:, None]) & (slots_of_condition > 0)[None, :]
    )
    repeats = slots_of_condition[conditions]
    rows = np.repeat(rows, repeats)
    conditions = np.repeat(conditions, repeats)
    slot = first_slot[conditions] + (
        np.arange(rows.size) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    )
    issued = rng.random(rows.size) < REPEAT_ISSUE_PROBABILITY
    rows, conditions, slot = rows[issued], conditions[issued], slot[issued]
    person = people[rows]
    first = np.maximum(window_start[rows], diagnosed[rows, conditions])
    alternative = (population.drug_choice[person] // (3 ** (slot % 18))) % slot_choices[slot]
    persons = [person]
    days = [uniform_day(rng, first, window_end[rows])]
    drugs = [slot_drugs[slot, alternative]]
    repeat_count = person.size
    acute = rng.random(consultations.person.size) < ACUTE_ISSUE_PROBABILITY
    persons.append(consultations.person[acute])
    days.append(consultations.day[acute])
    acute_lookup = np.array([_DRUG_INDEX[drug] for drug in codes.ACUTE_DRUGS])
    drugs.append(acute_lookup[rng.integers(acute_lookup.size, size=int(acute.sum()))])
    person = np.concatenate(persons)
    repeat = np.zeros(person.size, dtype=bool)
    repeat[:repeat_count] = True
    frame = pl.DataFrame(
        {
            "practice": population.practice[person],
            "nhs_number": population.nhs_number[person],
            "issue_date": dates(np.concatenate(days)),
            "bnf_code": lookup(_DRUGS, np.concatenate(drugs)),
            "repeat": yes_no(repeat),
        }
    )
    return frame[
        _row_order(
            population.practice[person],
            population.nhs_number[person],
            np.concatenate(days) - state.first_day,
            np.concatenate(drugs),
        )
    ]


def _observations(
    state: MonthState,
    population: Population,
    rng: np.random.Generator,
    ages: np.ndarray,
    consultations: Consultations,
) -> pl.DataFrame:
    person = consultations.person
    day = consultations.day
    age = ages_at(population.date_of_birth[person], state.first_day)
    adult = age >= 16
    diagnosed = population.diagnosis_date[person] <= state.last_day
    hypertensive = diagnosed[:, codes.CONDITION_INDEX["hypertension"]]
    diabetic = (
        diagnosed[:, codes.CONDITION_INDEX["type 1 diabetes"]]
        | diagnosed[:, codes.CONDITION_INDEX["type 2 diabetes"]]
    )
    uniform = rng.random((4, person.size))
    noise = rng.standard_normal((3, person.size))
    take_bmi = adult & (uniform[0] < 0.07)
    take_pressure = (uniform[1] < np.where(hypertensive | (age >= 40), 0.2, 0.03)) & adult
    take_hba1c = uniform[2] < np.where(diabetic, 0.3, np.where(age >= 40, 0.02, 0.0))
    take_smoking = adult & (uniform[3] < 0.08)

    bmi = np.round(population.body_mass_index[person] + 0.7 * noise[0], 1)
    pressure = np.round(population.systolic_pressure[person] + 10 * noise[1])
    hba1c = np.round(np.clip(np.where(diabetic, 58 + 12 * noise[2], 38 + 4 * noise[2]), 25, 150))
    parts = []
    for take, code, values in (
        (take_bmi, 0, pl.Series(bmi).cast(pl.String)),
        (take_pressure, 1, pl.Series(pressure.astype(np.int64)).cast(pl.String)),
        (take_hba1c, 2, pl.Series(hba1c.astype(np.int64)).cast(pl.String)),
    ):
        selected = np.nonzero(take)[0]
        parts.append(
            pl.DataFrame(
                {
                    "practice": population.practice[person[selected]],
                    "nhs_number": population.nhs_number[person[selected]],
                    "observation_date": dates(day[selected]),
                    "snomed_code": lookup(_OBSERVATION_CODES, np.full(selected.size, code)),
                    "value": values.gather(selected),
                    "_code": np.full(selected.size, code),
                }
            )
        )
    selected = np.nonzero(take_smoking)[0]
    parts.append(
        pl.DataFrame(
            {
                "practice": population.practice[person[selected]],
                "nhs_number": population.nhs_number[person[selected]],
                "observation_date": dates(day[selected]),
                "snomed_code": lookup(_OBSERVATION_CODES, 3 + population.smoking[person[selected]]),
                "value": pl.Series([None] * selected.size, dtype=pl.String),
                "_code": 3 + population.smoking[person[selected]].astype(np.int64),
            }
        )
    )
    frame = pl.concat(parts)
    order = _row_order(
        frame["practice"].to_numpy(),
        frame["nhs_number"].to_numpy(),
        frame["observation_date"].to_physical().to_numpy() - state.first_day,
        frame["_code"].to_numpy(),
    )
    return frame[order].drop("_code")
