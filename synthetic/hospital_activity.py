"""The hospital feed of one month: sus/ae_attendances.csv, outpatients.csv and admissions.csv.

Spells are the month's emergency admissions (from the simulation) with drawn methods,
diagnoses and discharges, plus elective, chemotherapy, maternity, transfer and newborn
spells; A&E attendances include every emergency admission that came through A&E.
Discharges after the extract date are null, as they would be in the real extract. The
practice code is as the hospital recorded it: usually right, sometimes null, stale or
unknown. Ids come from the run's IdCounters, so they are unique across months.

Hospital data is not governed by Type 1 opt-outs, so this feed must never drop an
opted-out person's rows: the pipeline must drop them itself, and a feed that did it for
the pipeline would hide a failure to.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import codes
from synthetic.feed_columns import EXTRACT_LAG_DAYS, choice, dates, lookup, uniform_day, yes_no
from synthetic.ids import IdCounters
from synthetic.landing import MonthWriter
from synthetic.model import Model
from synthetic.month_state import MonthState
from synthetic.population import NEVER, Population, ages_at
from synthetic.rates import CHEMOTHERAPY_PER_MONTH, ae_rate, elective_rate, outpatient_rate
from synthetic.reference import Area
from synthetic.spells import Spells

MATERNITY_PER_MONTH = 0.0064
TRANSFER_PER_MONTH = 0.0006
UNKNOWN_PRACTICE_CODES = ("Y02345", "Y08811", "Y09921")

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
    codes.EMERGENCY_METHODS
    + codes.ELECTIVE_METHODS
    + codes.MATERNITY_METHODS
    + (codes.TRANSFER_METHOD, codes.NEWBORN_METHOD)
)
_METHOD_INDEX = {code: position for position, code in enumerate(_METHODS)}


def write_month(
    writer: MonthWriter,
    state: MonthState,
    population: Population,
    model: Model,
    area: Area,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    counters: IdCounters,
) -> Spells:
    """Write the month's three hospital files; return its emergency spells for social care.

    `ages` and `exposure` (the share of the month registered) are per present person.
    """
    emergency = _emergency_spells(state, population, rng)
    spells = _admission_spells(state, population, model, rng, ages, exposure, emergency)
    writer.write(
        "sus/ae_attendances.csv",
        _ae_attendances(state, population, model, rng, ages, exposure, emergency, area, counters),
    )
    writer.write(
        "sus/outpatients.csv",
        _outpatients(state, population, model, rng, ages, exposure, area, counters),
    )
    writer.write("sus/admissions.csv", _admissions(spells, population, rng, area, counters))
    return emergency


def _emergency_spells(
    state: MonthState, population: Population, rng: np.random.Generator
) -> Spells:
    """The month's emergency admissions with their methods, diagnoses and discharges."""
    person = state.emergency_person
    day = state.emergency_day
    ages = ages_at(population.date_of_birth[person], state.first_day)
    method = choice(rng, codes.EMERGENCY_METHOD_SHARES, person.size)
    diagnosis = _acute_diagnoses(population, rng, person, ages)
    length_of_stay = (
        rng.exponential(1.0, person.size) * (1.5 + 0.12 * np.clip(ages - 40, 0, None))
    ).astype(np.int64)
    length_of_stay[rng.random(person.size) < 0.25] = 0
    discharge = day + length_of_stay
    death = np.where(population.died[person], population.exit_date[person], NEVER)
    discharge = np.minimum(discharge, death)  # died in hospital: discharged on the day of death
    discharge = np.where(discharge > state.last_day + EXTRACT_LAG_DAYS, NEVER, discharge)
    return Spells(person, day, method, diagnosis, discharge)


def _acute_diagnoses(
    population: Population, rng: np.random.Generator, person: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    """ICD-10 for an unplanned spell: often an exacerbation of a condition the person has."""
    has = population.has_condition[person]
    pick = np.argmax(has * rng.random(has.shape), axis=1)
    use_condition = has.any(axis=1) & (rng.random(person.size) < 0.55)
    second = (rng.random(person.size) < 0.3).astype(np.int64)
    condition_lookup = np.array(
        [[_DIAGNOSIS_INDEX[code] for code in pair] for pair in codes.CONDITION_DIAGNOSES]
    )
    from_condition = condition_lookup[pick, second]
    generic = np.where(
        ages < 16,
        np.array([_DIAGNOSIS_INDEX[code] for code in codes.CHILD_DIAGNOSES])[
            rng.integers(len(codes.CHILD_DIAGNOSES), size=person.size)
        ],
        np.where(
            ages < 65,
            np.array([_DIAGNOSIS_INDEX[code] for code in codes.ADULT_DIAGNOSES])[
                rng.integers(len(codes.ADULT_DIAGNOSES), size=person.size)
            ],
            np.array([_DIAGNOSIS_INDEX[code] for code in codes.OLDER_DIAGNOSES])[
                rng.integers(len(codes.OLDER_DIAGNOSES), size=person.size)
            ],
        ),
    )
    return np.where(use_condition, from_condition, generic)


def _admission_spells(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: Spells,
) -> Spells:
    people = state.present
    has = population.has_condition[people]
    cancer = has[:, codes.CONDITION_INDEX["cancer"]]
    elective_counts = rng.poisson(elective_rate(model, population, people, ages) * exposure)
    chemotherapy_counts = rng.poisson(CHEMOTHERAPY_PER_MONTH * cancer * exposure)
    woman = (population.sex[people] == 1) & (ages >= 16) & (ages <= 45)
    maternity_counts = rng.poisson(MATERNITY_PER_MONTH * woman * exposure)
    transfer_counts = rng.poisson(TRANSFER_PER_MONTH * (ages >= 65) * exposure)

    # _METHODS starts with the emergency methods, so their indices carry over.
    parts: list[Spells] = [emergency]

    def planned(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = np.repeat(np.arange(people.size), counts)
        return people[rows], uniform_day(rng, state.window_start[rows], state.window_end[rows])

    person, day = planned(elective_counts)
    method = np.array([_METHOD_INDEX[code] for code in codes.ELECTIVE_METHODS])[
        choice(rng, codes.ELECTIVE_METHOD_SHARES, person.size)
    ]
    diagnosis = np.array([_DIAGNOSIS_INDEX[code] for code in codes.ELECTIVE_DIAGNOSES])[
        rng.integers(len(codes.ELECTIVE_DIAGNOSES), size=person.size)
    ]
    stay = np.where(
        rng.random(person.size) < 0.75, 0, 1 + (rng.exponential(3.0, person.size)).astype(np.int64)
    )
    parts.append(Spells(person, day, method, diagnosis, day + stay))

    person, day = planned(chemotherapy_counts)
    parts.append(
        Spells(
            person,
            day,
            np.full(person.size, _METHOD_INDEX["12"]),
            np.full(person.size, _DIAGNOSIS_INDEX[codes.CHEMOTHERAPY_DIAGNOSIS]),
            day,
        )
    )

    person, day = planned(maternity_counts)
    method = np.array([_METHOD_INDEX[code] for code in codes.MATERNITY_METHODS])[
        choice(rng, codes.MATERNITY_METHOD_SHARES, person.size)
    ]
    diagnosis = np.array([_DIAGNOSIS_INDEX[code] for code in codes.MATERNITY_DIAGNOSES])[
        choice(rng, codes.MATERNITY_DIAGNOSIS_SHARES, person.size)
    ]
    parts.append(Spells(person, day, method, diagnosis, day + rng.integers(0, 4, person.size)))

    person, day = planned(transfer_counts)
    diagnosis = _acute_diagnoses(
        population, rng, person, ages_at(population.date_of_birth[person], state.first_day)
    )
    parts.append(
        Spells(
            person,
            day,
            np.full(person.size, _METHOD_INDEX[codes.TRANSFER_METHOD]),
            diagnosis,
            day + 2 + rng.integers(0, 12, person.size),
        )
    )

    person = state.births
    day = population.date_of_birth[person]
    parts.append(
        Spells(
            person,
            day,
            np.full(person.size, _METHOD_INDEX[codes.NEWBORN_METHOD]),
            np.full(person.size, _DIAGNOSIS_INDEX[codes.NEWBORN_DIAGNOSIS]),
            day + rng.integers(0, 3, person.size),
        )
    )
    merged = Spells(
        *(
            np.concatenate([getattr(part, name) for part in parts])
            for name in ("person", "day", "method", "diagnosis", "discharge")
        )
    )
    # Planned stays that run past extraction, or past a death, are handled like emergencies.
    death = np.where(population.died[merged.person], population.exit_date[merged.person], NEVER)
    discharge = np.where(
        merged.discharge == NEVER,
        NEVER,
        np.minimum(merged.discharge, np.maximum(death, merged.day)),
    )
    merged.discharge = np.where(discharge > state.last_day + EXTRACT_LAG_DAYS, NEVER, discharge)
    return merged


def _hospital_practice(
    population: Population, rng: np.random.Generator, person: np.ndarray, area: Area
) -> pl.Series:
    """The practice as the hospital recorded it: usually right, sometimes null, stale or unknown."""
    practice_codes = area.practice_codes.tolist()
    recorded_codes = [*practice_codes, *UNKNOWN_PRACTICE_CODES]
    uniform = rng.random(person.size)
    stale = rng.integers(len(practice_codes), size=person.size)
    unknown = len(practice_codes) + rng.integers(len(UNKNOWN_PRACTICE_CODES), size=person.size)
    index = np.where(
        uniform < 0.94, population.practice[person], np.where(uniform < 0.99, stale, unknown)
    )
    null = (uniform >= 0.94) & (uniform < 0.965)
    return lookup(recorded_codes, index, null)


def _provider(
    population: Population, rng: np.random.Generator, person: np.ndarray, area: Area
) -> pl.Series:
    """Each federation mostly uses its local trust."""
    local = area.practice_federation[population.practice[person]] % len(codes.PROVIDER_CODES)
    other = rng.integers(len(codes.PROVIDER_CODES), size=person.size)
    return lookup(codes.PROVIDER_CODES, np.where(rng.random(person.size) < 0.85, local, other))


def _admissions(
    spells: Spells,
    population: Population,
    rng: np.random.Generator,
    area: Area,
    counters: IdCounters,
) -> pl.DataFrame:
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[spells.person],
            "practice_code": _hospital_practice(population, rng, spells.person, area),
            "provider_code": _provider(population, rng, spells.person, area),
            "admission_date": dates(spells.day),
            "discharge_date": dates(
                np.where(spells.discharge == NEVER, 0, spells.discharge), spells.discharge == NEVER
            ),
            "admission_method": lookup(_METHODS, spells.method),
            "primary_diagnosis": lookup(_DIAGNOSES, spells.diagnosis),
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
    emergency: Spells,
    area: Area,
    counters: IdCounters,
) -> pl.DataFrame:
    people = state.present
    rate = ae_rate(model, population, people, ages)
    rows = np.repeat(np.arange(people.size), rng.poisson(rate * exposure))
    via_ae = emergency.method == 0  # method 21: admitted through A&E
    person = np.concatenate([people[rows], emergency.person[via_ae]])
    day = np.concatenate(
        [uniform_day(rng, state.window_start[rows], state.window_end[rows]), emergency.day[via_ae]]
    )
    admitted = np.concatenate(
        [np.zeros(rows.size, dtype=bool), np.ones(int(via_ae.sum()), dtype=bool)]
    )
    age = ages_at(population.date_of_birth[person], state.first_day)
    ambulance = rng.random(person.size) < np.where(admitted, 0.45, 0.12) + np.where(
        age >= 75, 0.3, 0.0
    )
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "practice_code": _hospital_practice(population, rng, person, area),
            "provider_code": _provider(population, rng, person, area),
            "arrival_date": dates(day),
            "arrived_by_ambulance": yes_no(ambulance),
            "admitted": yes_no(admitted),
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
    functions = [
        *codes.TREATMENT_FUNCTIONS_GENERAL,
        codes.PAEDIATRIC_TREATMENT_FUNCTION,
        *codes.CONDITION_TREATMENT_FUNCTIONS,
    ]
    general = choice(rng, codes.TREATMENT_FUNCTION_SHARES_GENERAL, person.size)
    paediatric = len(codes.TREATMENT_FUNCTIONS_GENERAL)
    specialty = paediatric + 1 + pick
    uniform = rng.random(person.size)
    function = np.where(
        has.any(axis=1) & (uniform < 0.55),
        specialty,
        np.where((age < 16) & (uniform < 0.85), paediatric, general),
    )
    did_not_attend = (
        0.035 + 0.07 * population.deprivation[person] + 0.03 * population.underserved[person]
    )
    other_status = choice(rng, codes.ATTENDANCE_STATUS_OTHER_SHARES, person.size)
    status = np.where(rng.random(person.size) < did_not_attend, 3, other_status)
    day = uniform_day(rng, state.window_start[rows], state.window_end[rows])
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "practice_code": _hospital_practice(population, rng, person, area),
            "provider_code": _provider(population, rng, person, area),
            "appointment_date": dates(day),
            "treatment_function_code": lookup(functions, function),
            "attendance_status": lookup(codes.ATTENDANCE_STATUS_CODES, status),
        }
    )
    return counters.number(frame, "appointment", "OP", "appointment_id")
