"""The adult social care feed of one month: social_care/services.csv.

Services starting in the month: care-home placements when a person enters a care home,
reablement after an emergency stay of someone aged 65 or over, and home care and day care
for frail older people and adults with a learning disability. End dates after the extract
date are null (still ongoing). Ids come from the run's IdCounters.

Social care data is not governed by Type 1 opt-outs, so this feed must never drop an
opted-out person's rows: the pipeline has to do that itself.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from synthetic import codes
from synthetic.feed_columns import EXTRACT_LAG_DAYS, dates, lookup, uniform_day
from synthetic.ids import IdCounters
from synthetic.landing import MonthWriter
from synthetic.model import Model
from synthetic.month_state import MonthState
from synthetic.population import NEVER, Population, ages_at
from synthetic.spells import Spells


def write_month(
    writer: MonthWriter,
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: Spells,
    counters: IdCounters,
) -> None:
    """Write the month's services.csv; `emergency` are the month's emergency spells."""
    writer.write(
        "social_care/services.csv",
        _services(state, population, model, rng, ages, exposure, emergency, counters),
    )


def _services(
    state: MonthState,
    population: Population,
    model: Model,
    rng: np.random.Generator,
    ages: np.ndarray,
    exposure: np.ndarray,
    emergency: Spells,
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
    reabled = (
        (age >= 65)
        & (emergency.discharge <= state.last_day)
        & (rng.random(age.size) < 0.12)
        & ~population.died[emergency.person]
    )
    reablement_person = emergency.person[reabled]
    reablement_start = emergency.discharge[reabled]

    # Home care and day care starting for frail older people and adults with learning disability.
    people = state.present
    home = ~population.care_home[people] & (ages >= 65)
    home_care = home & (
        rng.random(people.size)
        < 0.0012 * np.exp(population.frailty[people] - model.frailty_reference) * exposure
    )
    needs_day_care = (
        population.has_condition[people, codes.CONDITION_INDEX["learning disability"]]
        & (ages >= 18)
    ) | (population.has_condition[people, codes.CONDITION_INDEX["dementia"]] & home)
    day_care = needs_day_care & (rng.random(people.size) < 0.003 * exposure)
    community = np.concatenate([np.nonzero(home_care)[0], np.nonzero(day_care)[0]])
    community_type = np.concatenate(
        [np.zeros(int(home_care.sum()), dtype=np.int64), np.full(int(day_care.sum()), 2)]
    )

    person = np.concatenate([entrants, reablement_person, people[community]])
    service = np.concatenate(
        [placement, np.ones(reablement_person.size, dtype=np.int64), community_type]
    )
    start = np.concatenate(
        [
            entry,
            reablement_start,
            uniform_day(rng, state.window_start[community], state.window_end[community]),
        ]
    )
    planned_end = np.where(service == 1, start + rng.integers(14, 43, person.size), NEVER)
    death = np.where(population.died[person], population.exit_date[person], NEVER)
    end = np.minimum(planned_end, death)
    end = np.where(end > extract_day, NEVER, end)
    frame = pl.DataFrame(
        {
            "nhs_number": population.nhs_number[person],
            "service_type": lookup(codes.SERVICE_TYPES, service),
            "start_date": dates(start),
            "end_date": dates(np.where(end == NEVER, 0, end), end == NEVER),
        }
    )
    return counters.number(frame, "service", "SC", "service_id")
