"""One month's rows: GP snapshots and events, hospital (SUS) activity and social care.

Turns a MonthState (who was registered, who was admitted, who died or moved) into the
spec's files and writes them through a MonthWriter. Every event is dated inside the month
and inside the person's registration window; every row is sorted on all its columns so
output bytes depend only on the seed. Type 1 opt-outs' GP clinical data never leaves the
practice (only their registration row, flagged, is extracted); hospital and social care
feeds are not governed by Type 1 opt-outs, so the pipeline must drop those rows itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from synthetic import codes
from synthetic.model import (
    CONSULTATION_FRAILTY_EFFECT,
    DEPRIVED_CONSULTATION_FACTOR,
    UNDERSERVED_CONSULTATION_FACTOR,
    Model,
)
from synthetic.month_state import MonthState
from synthetic.population import NEVER, Population, ages_at

if TYPE_CHECKING:
    from synthetic.landing import MonthWriter
    from synthetic.reference import Area

CHEMOTHERAPY_PER_MONTH = 0.04
MATERNITY_PER_MONTH = 0.0064
TRANSFER_PER_MONTH = 0.0006
REPEAT_ISSUE_PROBABILITY = 0.8
ACUTE_ISSUE_PROBABILITY = 0.3
EXTRACT_LAG_DAYS = 10  # SUS is extracted this many days after the month ends
UNKNOWN_PRACTICE_CODES = ("Y02345", "Y08811", "Y09921")

GP_FILES = ("registrations", "conditions", "consultations", "medications", "observations")

_DIAGNOSES = tuple(
    sorted(
        {code for pair in codes.CONDITION_DIAGNOSES for code in pair}
        | set(codes.CHILD_DIAGNOSES)
        | set(codes.ADULT_DIAGNOSES)
        | set(codes.OLDER_DIAGNOSES)
        | set(codes.ELECTIVE_DIAGNOSES)
        | set(codes.MATERNITY_DIAGNOSES)
        | {codes.CHEMOTHERAPY_DIAGNOSIS, codes.NEWBORN_DIAGNOSIS}
    )
)
_DIAGNOSIS_INDEX = {code: position for position, code in enumerate(_DIAGNOSES)}
_METHODS = (
    codes.EMERGENCY_METHODS + codes.ELECTIVE_METHODS + codes.MATERNITY_METHODS
    + (codes.TRANSFER_METHOD, codes.NEWBORN_METHOD)
)
_METHOD_INDEX = {code: position for position, code in enumerate(_METHODS)}
_DRUGS = tuple(
    sorted(
        {drug for slots in codes.REPEAT_DRUGS.values() for slot in slots for drug in slot}
        | set(codes.ACUTE_DRUGS)
    )
)
_DRUG_INDEX = {code: position for position, code in enumerate(_DRUGS)}
_OBSERVATION_CODES = (codes.BMI_CODE, codes.SYSTOLIC_CODE, codes.HBA1C_CODE, *codes.SMOKING_CODES)
_CONDITION_CODES = tuple(condition.snomed_code for condition in codes.CONDITIONS) + codes.OUT_OF_SCOPE_SNOMED_CODES


def consultation_rate(model: Model, population: Population, people: np.ndarray, ages: np.ndarray) -> np.ndarray:
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


def ae_rate(model: Model, population: Population, people: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Monthly A&E attendances that do not end in admission."""
    return model.ae_base[ages] * np.exp(
        0.3 * (population.frailty[people] - model.frailty_reference) + 0.1 * population.deprivation[people]
    )


def outpatient_rate(model: Model, population: Population, people: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Monthly outpatient appointments."""
    return model.outpatient_base[ages] * np.exp(
        0.2 * (population.frailty[people] - model.frailty_reference) + 0.2 * population.condition_count[people]
    )


def elective_rate(model: Model, population: Population, people: np.ndarray, ages: np.ndarray) -> np.ndarray:
    """Monthly elective admissions (chemotherapy day cases come on top)."""
    return model.elective_base[ages] * np.exp(0.15 * population.condition_count[people])


@dataclass
class IdCounters:
    """Next number for each id kind; ids stay unique across every month of a run."""

    attendance: int = 1
    appointment: int = 1
    spell: int = 1
    service: int = 1

    def number(self, frame: pl.DataFrame, kind: str, prefix: str, column: str) -> pl.DataFrame:
        """Sort a month's rows into a stable order, then give them the next ids of `kind`."""
        frame = frame.sort(frame.columns, nulls_last=True, maintain_order=True)
        start = getattr(self, kind)
        setattr(self, kind, start + frame.height)
        return frame.insert_column(0, _ids(prefix, start, frame.height).alias(column))


def _dates(days: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    series = pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)
    if null is not None and null.any():
        series = series.scatter(np.nonzero(null)[0], None)
    return series


def _lookup(values: tuple[str, ...] | list[str], index: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    series = pl.Series(list(values), dtype=pl.String).gather(np.asarray(index, dtype=np.int64))
    if null is not None and null.any():
        series = series.scatter(np.nonzero(null)[0], None)
    return series


def _yes_no(flags: np.ndarray) -> pl.Series:
    return _lookup(("N", "Y"), flags.astype(np.int64))


def _choice(rng: np.random.Generator, shares: tuple[float, ...], size: int) -> np.ndarray:
    probabilities = np.asarray(shares, dtype=float)
    return rng.choice(probabilities.size, size=size, p=probabilities / probabilities.sum())


def _uniform_day(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    return first + (rng.random(first.size) * (last - first + 1)).astype(np.int64)


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


def _ids(prefix: str, start: int, count: int) -> pl.Series:
    numbers = pl.DataFrame({"number": np.arange(start, start + count, dtype=np.int64)})
    return numbers.select(
        (pl.lit(prefix) + pl.col("number").cast(pl.String).str.zfill(9)).alias("id")
    ).to_series()


def write_month(
    writer: MonthWriter,
    state: MonthState,
    population: Population,
    model: Model,
    area: Area,
    rng: np.random.Generator,
    counters: IdCounters,
) -> None:
    """Build and write every file of one month folder (the manifest is the caller's)."""
    present = state.present
    ages = ages_at(population.date_of_birth[present], state.first_day)
    exposure = (state.window_end - state.window_start + 1) / (state.last_day - state.first_day + 1)
    sharing = population.opt_out_month[present] > state.index  # GP data may leave the practice

    gp_frames = {
        "registrations": _registrations(state, population, area),
        "conditions": _conditions(state, population, sharing),
    }
    consultations, consultation_frame = _consultations(state, population, model, rng, ages, exposure, sharing)
    gp_frames["consultations"] = consultation_frame
    gp_frames["medications"] = _medications(state, population, rng, sharing, consultations)
    gp_frames["observations"] = _observations(state, population, rng, ages, consultations)
    _write_gp(writer, gp_frames, area)

    emergency = _emergency_spells(state, population, rng)
    admissions = _admissions(state, population, model, rng, ages, exposure, emergency)
    writer.write("sus/ae_attendances.csv", _ae_attendances(state, population, model, rng, ages, exposure, emergency, area, counters))
    writer.write("sus/outpatients.csv", _outpatients(state, population, model, rng, ages, exposure, area, counters))
    writer.write("sus/admissions.csv", _finish_admissions(admissions, population, rng, area, counters))
    writer.write("social_care/services.csv", _services(state, population, model, rng, ages, exposure, emergency, counters))


def _write_gp(writer: MonthWriter, frames: dict[str, pl.DataFrame], area: Area) -> None:
    practice_codes = area.practice_codes.tolist()
    for name in GP_FILES:
        writer.write_per_practice(name, frames[name], practice_codes)


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
            "date_of_birth": _dates(population.date_of_birth[people]),
            "sex": _lookup(codes.SEX_CODES, population.sex[people]),
            "ethnic_category": _lookup(codes.ETHNIC_CODES, population.ethnicity[people]),
            "lsoa_code": _lookup(lsoa_codes, population.lsoa[people], ~population.lsoa_recorded[people]),
            "registration_date": _dates(population.registration_date[people]),
            # A death ends the registration on the same day.
            "deregistration_date": _dates(np.where(left, exit_date, 0), ~left),
            "date_of_death": _dates(np.where(died, exit_date, 0), ~died),
            "care_home": _yes_no(population.care_home[people]),
            "type1_opt_out": _yes_no(population.opt_out_month[people] <= state.index),
        }
    )
    return frame[_row_order(frame["practice"].to_numpy(), frame["nhs_number"].to_numpy())]


def _conditions(state: MonthState, population: Population, sharing: np.ndarray) -> pl.DataFrame:
    people = state.present[sharing]
    recorded = population.diagnosis_date[people] <= state.last_day
    rows, conditions = np.nonzero(recorded)
    other = (population.other_code[people] >= 0) & (population.other_code_date[people] <= state.last_day)
    other_rows = np.nonzero(other)[0]
    person = np.concatenate([people[rows], people[other_rows]])
    code = np.concatenate([conditions, len(codes.CONDITIONS) + population.other_code[people[other_rows]]])
    date = np.concatenate(
        [population.diagnosis_date[people[rows], conditions], population.other_code_date[people[other_rows]]]
    )
    frame = pl.DataFrame(
        {
            "practice": population.practice[person],
            "nhs_number": population.nhs_number[person],
            "snomed_code": _lookup(_CONDITION_CODES, code),
            "diagnosis_date": _dates(date),
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
    day = _uniform_day(rng, state.window_start[rows], state.window_end[rows])
    person = people[rows]
    frail = (ages[rows] >= 80) | population.care_home[person]
    mode = np.where(
        frail,
        _choice(rng, codes.CONSULTATION_MODE_SHARES_FRAIL, rows.size),
        _choice(rng, codes.CONSULTATION_MODE_SHARES, rows.size),
    )
    clinician = _choice(rng, codes.CLINICIAN_SHARES, rows.size)
    frame = pl.DataFrame(
        {
            "practice": population.practice[person],
            "nhs_number": population.nhs_number[person],
            "consultation_date": _dates(day),
            "mode": _lookup(codes.CONSULTATION_MODES, mode),
            "clinician": _lookup(codes.CLINICIANS, clinician),
        }
    )
    frame = frame[_row_order(population.practice[person], population.nhs_number[person], day - state.first_day, mode * 4 + clinician)]
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
        alternatives for condition in codes.CONDITIONS for alternatives in codes.REPEAT_DRUGS[condition.name]
    ]
    slot_condition = np.array(
        [position for position, condition in enumerate(codes.CONDITIONS) for _ in codes.REPEAT_DRUGS[condition.name]]
    )
    slots_of_condition = np.bincount(slot_condition, minlength=len(codes.CONDITIONS))
    first_slot = np.concatenate([[0], np.cumsum(slots_of_condition)[:-1]])
    slot_drugs = np.full((len(slot_alternatives), 3), -1)
    for position, alternatives in enumerate(slot_alternatives):
        slot_drugs[position, : len(alternatives)] = [_DRUG_INDEX[drug] for drug in alternatives]
    slot_choices = np.array([len(alternatives) for alternatives in slot_alternatives])

    diagnosed = population.diagnosis_date[people]
    rows, conditions = np.nonzero((diagnosed <= window_end[:, None]) & (slots_of_condition > 0)[None, :])
    repeats = slots_of_condition[conditions]
    rows = np.repeat(rows, repeats)
    conditions = np.repeat(conditions, repeats)
    slot = first_slot[conditions] + (np.arange(rows.size) - np.repeat(np.cumsum(repeats) - repeats, repeats))
    issued = rng.random(rows.size) < REPEAT_ISSUE_PROBABILITY
    rows, conditions, slot = rows[issued], conditions[issued], slot[issued]
    person = people[rows]
    first = np.maximum(window_start[rows], diagnosed[rows, conditions])
    choice = (population.drug_choice[person] // (3 ** (slot % 18))) % slot_choices[slot]
    persons = [person]
    days = [_uniform_day(rng, first, window_end[rows])]
    drugs = [slot_drugs[slot, choice]]
    repeat_count = sum(part.size for part in persons)
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
            "issue_date": _dates(np.concatenate(days)),
            "bnf_code": _lookup(_DRUGS, np.concatenate(drugs)),
            "repeat": _yes_no(repeat),
        }
    )
    return frame[
        _row_order(population.practice[person], population.nhs_number[person], np.concatenate(days) - state.first_day, np.concatenate(drugs))
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
    diabetic = diagnosed[:, codes.CONDITION_INDEX["type 1 diabetes"]] | diagnosed[:, codes.CONDITION_INDEX["type 2 diabetes"]]
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
                    "observation_date": _dates(day[selected]),
                    "snomed_code": _lookup(_OBSERVATION_CODES, np.full(selected.size, code)),
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
                "observation_date": _dates(day[selected]),
                "snomed_code": _lookup(_OBSERVATION_CODES, 3 + population.smoking[person[selected]]),
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


@dataclass
class EmergencySpells:
    """Emergency admissions of the month with their methods, diagnoses and discharges."""

    person: np.ndarray
    day: np.ndarray
    method: np.ndarray  # index into _METHODS
    diagnosis: np.ndarray  # index into _DIAGNOSES
    discharge: np.ndarray  # day, or NEVER while still in hospital at extraction


def _emergency_spells(state: MonthState, population: Population, rng: np.random.Generator) -> EmergencySpells:
    person = state.emergency_person
    day = state.emergency_day
    ages = ages_at(population.date_of_birth[person], state.first_day)
    method = _choice(rng, codes.EMERGENCY_METHOD_SHARES, person.size)
    diagnosis = _acute_diagnoses(population, rng, person, ages)
    length_of_stay = (rng.exponential(1.0, person.size) * (1.5 + 0.12 * np.clip(ages - 40, 0, None))).astype(np.int64)
    length_of_stay[rng.random(person.size) < 0.25] = 0
    discharge = day + length_of_stay
    death = np.where(population.died[person], population.exit_date[person], NEVER)
    discharge = np.minimum(discharge, death)  # died in hospital: discharged on the day of death
    discharge = np.where(discharge > state.last_day + EXTRACT_LAG_DAYS, NEVER, discharge)
    return EmergencySpells(person, day, method, diagnosis, discharge)


def _acute_diagnoses(
    population: Population, rng: np.random.Generator, person: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """ICD-10 for an unplanned spell: often an exacerbation of a condition the person has."""
    has = population.has_condition[person]
    pick = np.argmax(has * rng.random(has.shape), axis=1)
    use_condition = has.any(axis=1) & (rng.random(person.size) < 0.55)
    second = (rng.random(person.size) < 0.3).astype(np.int64)
    condition_lookup = np.array([[_DIAGNOSIS_INDEX[code] for code in pair] for pair in codes.CONDITION_DIAGNOSES])
    from_condition = condition_lookup[pick, second]
    generic = np.where(
        ages < 16,
        np.array([_DIAGNOSIS_INDEX[code] for code in codes.CHILD_DIAGNOSES])[rng.integers(len(codes.CHILD_DIAGNOSES), size=person.size)],
        np.where(
            ages < 65,
            np.array([_DIAGNOSIS_INDEX[code] for code in codes.ADULT_DIAGNOSES])[rng.integers(len(codes.ADULT_DIAGNOSES), size=person.size)],
            np.array([_DIAGNOSIS_INDEX[code] for code in codes.OLDER_DIAGNOSES])[rng.integers(len(codes.OLDER_DIAGNOSES), size=person.size)],
        ),
    )
    return np.where(use_condition, from_condition, generic)


@dataclass
class Spells:
    person: np.ndarray
    day: np.ndarray
    method: np.ndarray
    diagnosis: np.ndarray
    discharge: np.ndarray


def _admissions(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: EmergencySpells,
) -> Spells:
    people = state.present
    has = population.has_condition[people]
    cancer = has[:, codes.CONDITION_INDEX["cancer"]]
    elective_counts = rng.poisson(elective_rate(model, population, people, ages) * exposure)
    chemotherapy_counts = rng.poisson(CHEMOTHERAPY_PER_MONTH * cancer * exposure)
    woman = (population.sex[people] == 1) & (ages >= 16) & (ages <= 45)
    maternity_counts = rng.poisson(MATERNITY_PER_MONTH * woman * exposure)
    transfer_counts = rng.poisson(TRANSFER_PER_MONTH * (ages >= 65) * exposure)

    parts: list[Spells] = [
        # _METHODS starts with the emergency methods, so their indices carry over.
        Spells(emergency.person, emergency.day, emergency.method, emergency.diagnosis, emergency.discharge)
    ]

    def planned(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.repeat(np.arange(people.size), counts)
        return people[rows], _uniform_day(rng, state.window_start[rows], state.window_end[rows])

    person, day = planned(elective_counts)
    method = np.array([_METHOD_INDEX[code] for code in codes.ELECTIVE_METHODS])[_choice(rng, codes.ELECTIVE_METHOD_SHARES, person.size)]
    diagnosis = np.array([_DIAGNOSIS_INDEX[code] for code in codes.ELECTIVE_DIAGNOSES])[rng.integers(len(codes.ELECTIVE_DIAGNOSES), size=person.size)]
    stay = np.where(rng.random(person.size) < 0.75, 0, 1 + (rng.exponential(3.0, person.size)).astype(np.int64))
    parts.append(Spells(person, day, method, diagnosis, day + stay))

    person, day = planned(chemotherapy_counts)
    parts.append(
        Spells(person, day, np.full(person.size, _METHOD_INDEX["12"]), np.full(person.size, _DIAGNOSIS_INDEX[codes.CHEMOTHERAPY_DIAGNOSIS]), day)
    )

    person, day = planned(maternity_counts)
    method = np.array([_METHOD_INDEX[code] for code in codes.MATERNITY_METHODS])[_choice(rng, codes.MATERNITY_METHOD_SHARES, person.size)]
    diagnosis = np.array([_DIAGNOSIS_INDEX[code] for code in codes.MATERNITY_DIAGNOSES])[_choice(rng, codes.MATERNITY_DIAGNOSIS_SHARES, person.size)]
    parts.append(Spells(person, day, method, diagnosis, day + rng.integers(0, 4, person.size)))

    person, day = planned(transfer_counts)
    diagnosis = _acute_diagnoses(population, rng, person, ages_at(population.date_of_birth[person], state.first_day))
    parts.append(Spells(person, day, np.full(person.size, _METHOD_INDEX[codes.TRANSFER_METHOD]), diagnosis, day + 2 + rng.integers(0, 12, person.size)))

    person = state.births
    day = population.date_of_birth[person]
    parts.append(
        Spells(person, day, np.full(person.size, _METHOD_INDEX[codes.NEWBORN_METHOD]), np.full(person.size, _DIAGNOSIS_INDEX[codes.NEWBORN_DIAGNOSIS]), day + rng.integers(0, 3, person.size))
    )
    merged = Spells(*(np.concatenate([getattr(part, name) for part in parts]) for name in ("person", "day", "method", "diagnosis", "discharge")))
    # Planned stays that run past extraction, or past a death, are handled like emergencies.
    death = np.where(population.died[merged.person], population.exit_date[merged.person], NEVER)
    discharge = np.where(merged.discharge == NEVER, NEVER, np.minimum(merged.discharge, np.maximum(death, merged.day)))
    merged.discharge = np.where(discharge > state.last_day + EXTRACT_LAG_DAYS, NEVER, discharge)
    return merged


def _hospital_practice(
    population: Population, rng: np.random.Generator, person: np.ndarray, area: Area
) -> pl.Series:
    """The practice as the hospital recorded it: usually right, sometimes null, stale or unknown."""
    practice_codes = area.practice_codes.tolist()
    lookup = [*practice_codes, *UNKNOWN_PRACTICE_CODES]
    uniform = rng.random(person.size)
    stale = rng.integers(len(practice_codes), size=person.size)
    unknown = len(practice_codes) + rng.integers(len(UNKNOWN_PRACTICE_CODES), size=person.size)
    index = np.where(
        uniform < 0.94, population.practice[person], np.where(uniform < 0.99, stale, unknown)
    )
    null = (uniform >= 0.94) & (uniform < 0.965)
    return _lookup(lookup, index, null)


def _provider(population: Population, rng: np.random.Generator, person: np.ndarray, area: Area) -> pl.Series:
    """Each federation mostly uses its local trust."""
    local = area.practice_federation[population.practice[person]] % len(codes.PROVIDER_CODES)
    other = rng.integers(len(codes.PROVIDER_CODES), size=person.size)
    return _lookup(codes.PROVIDER_CODES, np.where(rng.random(person.size) < 0.85, local, other))


def _finish_admissions(
    spells: Spells, population: Population, rng: np.random.Generator, area: Area, counters: IdCounters
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[spells.person],
            "practice_code": _hospital_practice(population, rng, spells.person, area),
            "provider_code": _provider(population, rng, spells.person, area),
            "admission_date": _dates(spells.day),
            "discharge_date": _dates(np.where(spells.discharge == NEVER, 0, spells.discharge), spells.discharge == NEVER),
            "admission_method": _lookup(_METHODS, spells.method),
            "primary_diagnosis": _lookup(_DIAGNOSES, spells.diagnosis),
        }
    )
    return counters.number(frame, "spell", "SP", "spell_id")


def _ae_attendances(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: EmergencySpells,
    area: Area,
    counters: IdCounters,
) -> pl.DataFrame:
    people = state.present
    rate = ae_rate(model, population, people, ages)
    rows = np.repeat(np.arange(people.size), rng.poisson(rate * exposure))
    via_ae = emergency.method == 0  # method 21: admitted through A&E
    person = np.concatenate([people[rows], emergency.person[via_ae]])
    day = np.concatenate([_uniform_day(rng, state.window_start[rows], state.window_end[rows]), emergency.day[via_ae]])
    admitted = np.concatenate([np.zeros(rows.size, dtype=bool), np.ones(int(via_ae.sum()), dtype=bool)])
    age = ages_at(population.date_of_birth[person], state.first_day)
    ambulance = rng.random(person.size) < np.where(admitted, 0.45, 0.12) + np.where(age >= 75, 0.3, 0.0)
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "practice_code": _hospital_practice(population, rng, person, area),
            "provider_code": _provider(population, rng, person, area),
            "arrival_date": _dates(day),
            "arrived_by_ambulance": _yes_no(ambulance),
            "admitted": _yes_no(admitted),
        }
    )
    return counters.number(frame, "attendance", "AE", "attendance_id")


def _outpatients(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    area: Area,
    counters: IdCounters,
) -> pl.DataFrame:
    people = state.present
    rate = outpatient_rate(model, population, people, ages)
    rows = np.repeat(np.arange(people.size), rng.poisson(rate * exposure))
    person = people[rows]
    age = ages[rows]
    has = population.has_condition[person]
    pick = np.argmax(has * rng.random(has.shape), axis=1)
    functions = [*codes.TREATMENT_FUNCTIONS_GENERAL, codes.PAEDIATRIC_TREATMENT_FUNCTION, *codes.CONDITION_TREATMENT_FUNCTIONS]
    general = _choice(rng, codes.TREATMENT_FUNCTION_SHARES_GENERAL, person.size)
    paediatric = len(codes.TREATMENT_FUNCTIONS_GENERAL)
    specialty = paediatric + 1 + pick
    uniform = rng.random(person.size)
    function = np.where(
        has.any(axis=1) & (uniform < 0.55),
        specialty,
        np.where((age < 16) & (uniform < 0.85), paediatric, general),
    )
    did_not_attend = 0.035 + 0.07 * population.deprivation[person] + 0.03 * population.underserved[person]
    other_status = _choice(rng, codes.ATTENDANCE_STATUS_OTHER_SHARES, person.size)
    status = np.where(rng.random(person.size) < did_not_attend, 3, other_status)
    day = _uniform_day(rng, state.window_start[rows], state.window_end[rows])
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "practice_code": _hospital_practice(population, rng, person, area),
            "provider_code": _provider(population, rng, person, area),
            "appointment_date": _dates(day),
            "treatment_function_code": _lookup(functions, function),
            "attendance_status": _lookup(codes.ATTENDANCE_STATUS_CODES, status),
        }
    )
    return counters.number(frame, "appointment", "OP", "appointment_id")


def _services(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: EmergencySpells,
    counters: IdCounters,
) -> pl.DataFrame:
    """Adult social care services starting this month."""
    extract_day = state.last_day + EXTRACT_LAG_DAYS
    # Care-home placements start on entry (or on the last day registered, if earlier).
    entrants = state.care_home_entrants
    position = np.searchsorted(state.present, entrants)
    entry = np.minimum(state.care_home_entry_day, state.window_end[position])
    placement = np.where(rng.random(entrants.size) < 0.4, 4, 3)

    # Reablement after an emergency stay of someone aged 65+ discharged this month.
    age = ages_at(population.date_of_birth[emergency.person], state.first_day)
    reabled = (age >= 65) & (emergency.discharge <= state.last_day) & (rng.random(age.size) < 0.12) & ~population.died[emergency.person]
    reablement_person = emergency.person[reabled]
    reablement_start = emergency.discharge[reabled]

    # Home care and day care starting for frail older people and adults with learning disability.
    people = state.present
    home = ~population.care_home[people] & (ages >= 65)
    home_care = home & (rng.random(people.size) < 0.0012 * np.exp(population.frailty[people] - model.frailty_reference) * exposure)
    needs_day_care = (population.has_condition[people, codes.CONDITION_INDEX["learning disability"]] & (ages >= 18)) | (
        population.has_condition[people, codes.CONDITION_INDEX["dementia"]] & home
    )
    day_care = needs_day_care & (rng.random(people.size) < 0.003 * exposure)
    community = np.concatenate([np.nonzero(home_care)[0], np.nonzero(day_care)[0]])
    community_type = np.concatenate([np.zeros(int(home_care.sum()), dtype=np.int64), np.full(int(day_care.sum()), 2)])

    person = np.concatenate([entrants, reablement_person, people[community]])
    service = np.concatenate([placement, np.ones(reablement_person.size, dtype=np.int64), community_type])
    start = np.concatenate([entry, reablement_start, _uniform_day(rng, state.window_start[community], state.window_end[community])])
    planned_end = np.where(service == 1, start + rng.integers(14, 43, person.size), NEVER)
    death = np.where(population.died[person], population.exit_date[person], NEVER)
    end = np.minimum(planned_end, death)
    end = np.where(end > extract_day, NEVER, end)
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "service_type": _lookup(codes.SERVICE_TYPES, service),
            "start_date": _dates(start),
            "end_date": _dates(np.where(end == NEVER, 0, end), end == NEVER),
        }
    )
    return counters.number(frame, "service", "SC", "service_id")
