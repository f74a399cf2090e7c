"""The population month by month: the starting list, then each month's joiners, frailty,
new conditions, care-home entries, emergency admissions, deaths, moves and opt-outs.

simulate_month() changes the Population in place and returns a MonthState saying what
happened to whom, which the feed writers turn into rows. Draws come only from the
Generators passed in, in a fixed order. Nothing here writes files.
"""

from __future__ import annotations

import numpy as np

from synthetic import codes
from synthetic.model import PRIOR_ADMISSION_DECAY, SHOCK_PROBABILITY, Model, age_structure
from synthetic.month_state import MonthState
from synthetic.population import NEVER, NEVER_MONTH, Population, ages_at
from synthetic.rates import emergency_log_hazard
from synthetic.reference import Area

BIRTHS_PER_YEAR = 0.0115
MOVERS_IN_PER_MONTH = 0.0042
OPT_OUT_PER_MONTH = 0.00015


def create_initial_list(
    population: Population,
    model: Model,
    area: Area,
    rng: np.random.Generator,
    people: int,
    start_day: int,
) -> None:
    """The practice lists as they stand the day before the first extract month."""
    as_of = start_day - 1
    ages = rng.choice(age_structure().size, size=people, p=age_structure())
    date_of_birth = as_of - (ages * 365.25 + rng.random(people) * 365.0).astype(np.int64)
    years_registered = rng.exponential(9.0, size=people)
    registration_date = np.maximum(
        date_of_birth, as_of - (years_registered * 365.25).astype(np.int64)
    )
    created = population.add_people(model, area, rng, date_of_birth, registration_date, as_of, -1)
    # Care-home residents: the frailest older people, at the published share per age band.
    frailty_score = population.frailty[created] + rng.standard_normal(created.size)
    for lowest, highest, share in codes.CARE_HOME_SHARE_BY_AGE:
        in_band = (ages >= lowest) & (ages <= highest)
        if in_band.sum() == 0:
            continue
        threshold = np.quantile(frailty_score[in_band], 1.0 - share)
        population.care_home[created[in_band & (frailty_score > threshold)]] = True


def simulate_month(
    model: Model,
    population: Population,
    area: Area,
    rng: np.random.Generator,
    people_rng: np.random.Generator,
    month: int,
    label: str,
    first_day: int,
    last_day: int,
    births: int,
    movers: int,
) -> MonthState:
    """Advance everyone one month: joiners, frailty, onsets, care homes, admissions, exits."""
    days = last_day - first_day + 1
    count_before = population.count
    everyone = np.arange(count_before)
    stayers = everyone[
        (population.registration_date[:count_before] < first_day)
        & (population.exit_date[:count_before] == NEVER)
    ]

    # Joiners: babies born this month and people moving into the area.
    birth_dates = first_day + (people_rng.random(births) * days).astype(np.int64)
    birth_registration = birth_dates + (
        people_rng.random(births) * (last_day - birth_dates + 1)
    ).astype(np.int64)
    mover_shares = mover_age_shares()
    mover_ages = people_rng.choice(mover_shares.size, size=movers, p=mover_shares)
    mover_birth = first_day - (mover_ages * 365.25 + people_rng.random(movers) * 365.0).astype(
        np.int64
    )
    mover_registration = first_day + (people_rng.random(movers) * days).astype(np.int64)
    new_births = population.add_people(
        model, area, people_rng, birth_dates, birth_registration, last_day, month
    )
    new_movers = population.add_people(
        model, area, people_rng, mover_birth, mover_registration, last_day, month
    )
    joiners = np.concatenate([new_births, new_movers])

    # 1. Latent frailty.
    ages = ages_at(population.date_of_birth[stayers], first_day)
    mean = model.frailty_mean(population.deprivation[stayers])
    population.frailty[stayers] = model.advance_frailty(
        population.frailty[stayers],
        mean,
        rng.standard_normal(stayers.size),
        rng.random(stayers.size) < SHOCK_PROBABILITY,
    )
    frailty = population.frailty[stayers]

    # 2. New long-term conditions, more likely when frail. One draw per person: a new
    # condition with probability (sum over conditions not yet had of their onset
    # probabilities), then which one in proportion to those probabilities.
    female = population.female[stayers].astype(np.int64)
    onset_probability = model.incidence[:, ages, female].T * ~population.has_condition[stayers]
    total = onset_probability.sum(axis=1) * model.onset_factor(frailty)
    candidates = np.nonzero(rng.random(stayers.size) < total)[0]
    if candidates.size:
        cumulative = np.cumsum(onset_probability[candidates], axis=1)
        pick = rng.random(candidates.size) * cumulative[:, -1]
        onset_conditions = np.minimum(
            (cumulative <= pick[:, None]).sum(axis=1), cumulative.shape[1] - 1
        )
        onset_people = stayers[candidates]
        onset_day = first_day + (rng.random(candidates.size) * days).astype(np.int64)
        population.has_condition[onset_people, onset_conditions] = True
        population.diagnosis_date[onset_people, onset_conditions] = population.recorded_date(
            rng, onset_people, onset_day
        )
        np.add.at(
            population.condition_weight, onset_people, model.admission_weights[onset_conditions]
        )
        np.add.at(population.condition_count, onset_people, 1)

    # 3. Care-home entry.
    entering = (
        rng.random(stayers.size) < model.care_home_entry_probability(ages, frailty)
    ) & ~population.care_home[stayers]
    care_home_entrants = stayers[entering]
    population.care_home[care_home_entrants] = True
    care_home_entry_day = first_day + (rng.random(care_home_entrants.size) * days).astype(np.int64)

    # 4. Emergency admissions: stayers all month, joiners from registration.
    present = np.concatenate([stayers, joiners])
    present_ages = ages_at(population.date_of_birth[present], first_day)
    window_start = np.maximum(first_day, population.registration_date[present])
    exposure = (last_day - window_start + 1) / days
    hazard = np.exp(emergency_log_hazard(model, population, present, present_ages)) * exposure
    admissions = rng.poisson(hazard)
    emergency_rows = np.repeat(np.arange(present.size), admissions)
    emergency_day = window_start[emergency_rows] + (
        rng.random(emergency_rows.size) * (last_day - window_start[emergency_rows] + 1)
    ).astype(np.int64)
    last_admission = np.full(present.size, -1, dtype=np.int64)
    np.maximum.at(last_admission, emergency_rows, emergency_day)

    # 5. Deaths and moves away (stayers only: joiners have just arrived).
    admitted = admissions[: stayers.size] > 0
    death = model.death_probability(ages, frailty, admitted)
    leaving = model.leaving_probability(ages, population.care_home[stayers])
    uniform = rng.random((3, stayers.size))
    died = uniform[0] < death
    left = ~died & (uniform[1] < leaving)
    exiting = died | left
    earliest_exit = np.where(admitted, last_admission[: stayers.size], first_day)
    exit_day = earliest_exit + (uniform[2] * (last_day - earliest_exit + 1)).astype(np.int64)
    population.exit_date[stayers[exiting]] = exit_day[exiting]
    population.died[stayers[died]] = True
    window_end = np.full(present.size, last_day, dtype=np.int64)
    window_end[: stayers.size][exiting] = exit_day[exiting]

    # 6. Recent-admission history, and Type 1 opt-outs part-way through.
    population.prior_admissions[present] = (
        population.prior_admissions[present] * PRIOR_ADMISSION_DECAY + admissions
    )
    opting_out = stayers[
        (rng.random(stayers.size) < OPT_OUT_PER_MONTH)
        & (population.opt_out_month[stayers] == NEVER_MONTH)
    ]
    population.opt_out_month[opting_out] = month

    # Stayers and then joiners are both in ascending person order, so `present` is sorted.
    return MonthState(
        index=month,
        label=label,
        first_day=first_day,
        last_day=last_day,
        present=present,
        window_start=window_start,
        window_end=window_end,
        emergency_person=present[emergency_rows],
        emergency_day=emergency_day,
        care_home_entrants=care_home_entrants,
        care_home_entry_day=care_home_entry_day,
        births=new_births,
    )


def mover_age_shares() -> np.ndarray:
    """The share of each age among people moving into the area: mostly young adults and
    their children."""
    weights = age_structure() * (
        1.0 + 2.5 * np.exp(-(((np.arange(age_structure().size) - 28) / 9.0) ** 2))
    )
    weights[91:] = 0.0
    return weights / weights.sum()
