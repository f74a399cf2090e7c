"""generate(): simulate a population month by month and write its landing zone and truth.

The run is deterministic: every random draw comes from numpy Generators seeded from
`seed` (one independent stream per purpose), outputs are sorted, and nothing depends on
wall-clock time or dict/set order. Everything is vectorised over people; the only Python
loops are over months, conditions, drug slots and practices.

It must never write identifiable-looking data: NHS numbers are synthetic (nhs_numbers.py).
"""

from __future__ import annotations

import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from synthetic import codes, gp_activity, hospital_activity, landing, social_care
from synthetic.faults import inject as inject_faults
from synthetic.ids import IdCounters
from synthetic.model import (
    DEATH_AFTER_ADMISSION_FACTOR,
    PRIOR_ADMISSION_DECAY,
    SHOCK_PROBABILITY,
    Model,
    age_structure,
    band_of,
)
from synthetic.month_state import MonthState
from synthetic.population import NEVER, NEVER_MONTH, Population, ages_at, allocate_numbers
from synthetic.rates import (
    CHEMOTHERAPY_PER_MONTH,
    ae_rate,
    consultation_rate,
    elective_rate,
    outpatient_rate,
)
from synthetic.reference import Area, build_area
from synthetic.truth import HORIZON_MONTHS, TruthInputs, true_risk

BIRTHS_PER_YEAR = 0.0115
MOVERS_IN_PER_MONTH = 0.0042
OPT_OUT_PER_MONTH = 0.00015
# The frailest older people die first, so a band's rate drifts below its starting value;
# the older bands start a little high to land on the published rates over the run.
SURVIVOR_UPLIFT = (1.0, 1.0, 1.0, 1.0, 1.03, 1.1, 1.25)
GP_FILES = ("registrations", "conditions", "consultations", "medications", "observations")
SUS_FILES = ("ae_attendances", "outpatients", "admissions")


@dataclass(frozen=True)
class GenerationSummary:
    """What a generate() run produced."""

    people: int
    months: int
    practices: int
    federations: int
    rows: dict[str, int] = field(hash=False)
    first_month: str
    last_month: str
    landing: Path
    truth: Path
    faults: Path | None
    people_ever_registered: int
    nhs_numbers_outside_test_range: int


def generate(
    out: Path,
    people: int = 50_000,
    months: int = 36,
    seed: int = 42,
    start: str = "2023-01",
    faults: bool = False,
) -> GenerationSummary:
    """Write `out/landing/` (the landing zone), `out/truth.csv` and, with faults, `out/faults.json`."""
    if people < 10:
        raise ValueError("people must be at least 10")
    if months < 1:
        raise ValueError("months must be at least 1")
    out = Path(out)
    landing_folder = out / "landing"
    for stale in (landing_folder, out / "truth.csv", out / "faults.json"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    streams = np.random.SeedSequence(seed).spawn(6)
    area_rng, people_rng, dynamics_rng, activity_rng, _, faults_rng = (
        np.random.default_rng(stream) for stream in streams
    )
    truth_sequence = streams[4]

    first_month = np.datetime64(start, "M")
    month_starts = (first_month + np.arange(months + HORIZON_MONTHS + 1)).astype("datetime64[D]").astype(np.int64)
    labels = [str(first_month + offset) for offset in range(months)]

    area = build_area(people, area_rng)
    model = Model.from_published_rates()
    births_per_month = people_rng.poisson(people * BIRTHS_PER_YEAR / 12, size=months)
    movers_per_month = people_rng.poisson(people * MOVERS_IN_PER_MONTH, size=months)
    population = Population(capacity=people + int(births_per_month.sum() + movers_per_month.sum()))
    allocate_numbers(population, people_rng)

    start_day = int(month_starts[0])
    _create_initial_list(population, model, area, people_rng, people, start_day)
    _calibrate(model, population, dynamics_rng, start_day)

    reference_folder = landing_folder / "reference"
    reference_folder.mkdir(parents=True, exist_ok=True)
    (reference_folder / "practices.csv").write_bytes(landing.csv_bytes(area.practices))
    (reference_folder / "lsoa_imd.csv").write_bytes(landing.csv_bytes(area.lsoas))

    index_months = [month for month in range(months) if month + HORIZON_MONTHS < months]
    index_months.append(months - 1)
    # The truth for an index date runs in a background thread on a copy of the state,
    # overlapping with the next months' simulation and writing (numpy releases the GIL).
    executor = ThreadPoolExecutor(max_workers=1)
    truth_jobs: list[Future[pl.DataFrame]] = []
    rows: dict[str, int] = {}
    counters = IdCounters()
    for month in range(months):
        state = _simulate_month(
            model,
            population,
            area,
            dynamics_rng,
            people_rng,
            month,
            labels[month],
            int(month_starts[month]),
            int(month_starts[month + 1]) - 1,
            int(births_per_month[month]),
            int(movers_per_month[month]),
        )
        writer = landing.MonthWriter(landing_folder / "extracts" / labels[month])
        _write_feeds(writer, state, population, model, area, activity_rng, counters)
        writer.write_manifest()
        for kind, count in writer.rows_by_kind.items():
            rows[kind] = rows.get(kind, 0) + count
        if month in index_months:
            truth_jobs.append(_submit_truth(executor, model, population, month, month_starts, truth_sequence))

    truth_path = out / "truth.csv"
    truth = pl.concat([job.result() for job in truth_jobs]).sort(["index_date", "nhs_number"])
    executor.shutdown()
    truth_path.write_bytes(_truth_bytes(truth))
    rows["truth"] = truth.height

    faults_path: Path | None = None
    if faults:
        faults_path = inject_faults(out, labels, area, faults_rng)
    outside = max(0, population.count - 909_091)
    return GenerationSummary(
        people=people,
        months=months,
        practices=int(area.practice_codes.size),
        federations=area.federations,
        rows=dict(sorted(rows.items())),
        first_month=labels[0],
        last_month=labels[-1],
        landing=landing_folder,
        truth=truth_path,
        faults=faults_path,
        people_ever_registered=population.count,
        nhs_numbers_outside_test_range=outside,
    )


def _write_feeds(
    writer: landing.MonthWriter,
    state: MonthState,
    population: Population,
    model: Model,
    area: Area,
    rng: np.random.Generator,
    counters: IdCounters,
) -> None:
    """Write every file of one month folder, supplier by supplier (the manifest is the caller's).

    The order is fixed: the suppliers draw from one stream, GP, then hospital, then social care.
    """
    ages = ages_at(population.date_of_birth[state.present], state.first_day)
    exposure = (state.window_end - state.window_start + 1) / (state.last_day - state.first_day + 1)
    gp_activity.write_month(writer, state, population, model, area, rng, ages, exposure)
    emergency = hospital_activity.write_month(writer, state, population, model, area, rng, ages, exposure, counters)
    social_care.write_month(writer, state, population, model, rng, ages, exposure, emergency, counters)


def _truth_bytes(truth: pl.DataFrame) -> bytes:
    frame = truth.with_columns(pl.col("true_risk").round(6))
    return landing.csv_bytes(frame.select("nhs_number", "index_date", "true_risk"))


def _submit_truth(
    executor: ThreadPoolExecutor,
    model: Model,
    population: Population,
    month: int,
    month_starts: np.ndarray,
    truth_sequence: np.random.SeedSequence,
) -> Future[pl.DataFrame]:
    """Start true_risk at the last day of `month` for everyone registered and alive then."""
    index_day = int(month_starts[month + 1]) - 1
    everyone = np.arange(population.count)
    registered = everyone[
        (population.registration_date[: population.count] <= index_day)
        & (population.exit_date[: population.count] > index_day)
    ]
    inputs = TruthInputs.capture(population, registered)
    nhs_number = population.nhs_number[registered]
    # A stream per index date: the truth at one date never shifts another's draws.
    rng = np.random.default_rng(np.random.SeedSequence(truth_sequence.entropy, spawn_key=(4, month)))
    following = month_starts[month + 1 : month + 1 + HORIZON_MONTHS]

    def run() -> pl.DataFrame:
        risk = true_risk(model, inputs, index_day, following, rng)
        return pl.DataFrame(
            {
                "nhs_number": nhs_number,
                "index_date": pl.Series(np.full(nhs_number.size, index_day, dtype=np.int32)).cast(pl.Date),
                "true_risk": risk,
            }
        )

    return executor.submit(run)


def _create_initial_list(
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
    registration_date = np.maximum(date_of_birth, as_of - (years_registered * 365.25).astype(np.int64))
    created = population.add_people(model, area, rng, date_of_birth, registration_date, as_of, -1)
    # Care-home residents: the frailest older people, at the published share per age band.
    frailty_score = population.frailty[created] + rng.standard_normal(created.size)
    for lowest, highest, share in codes.CARE_HOME_SHARE_BY_AGE:
        in_band = (ages >= lowest) & (ages <= highest)
        if in_band.sum() == 0:
            continue
        threshold = np.quantile(frailty_score[in_band], 1.0 - share)
        population.care_home[created[in_band & (frailty_score > threshold)]] = True


def _calibrate(model: Model, population: Population, rng: np.random.Generator, start_day: int) -> None:
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
            hazard = np.exp(_emergency_log_hazard(model, population, people, ages))
            for band, rate in enumerate(codes.EMERGENCY_RATE_PER_1000):
                in_band = bands == band
                low, high = codes.EMERGENCY_AGE_BANDS[band]
                ages_in_band = slice(low, min(high, model.emergency_intercept.size - 1) + 1)
                target = rate * SURVIVOR_UPLIFT[band] / 12_000.0
                if in_band.any():
                    model.emergency_intercept[ages_in_band] += np.log(target / hazard[in_band].mean())
                else:
                    # Nobody of this age yet (tiny runs): the band's rate at average risk.
                    model.emergency_intercept[ages_in_band] = np.log(target)

    fit_emergency_intercepts()
    for _ in range(2):
        prior = np.zeros(people.size)
        for _month in range(12):
            population.prior_admissions[people] = prior
            hazard = np.exp(_emergency_log_hazard(model, population, people, ages))
            prior = prior * PRIOR_ADMISSION_DECAY + rng.poisson(hazard)
        population.prior_admissions[people] = prior
        fit_emergency_intercepts()

    hazard = np.exp(_emergency_log_hazard(model, population, people, ages))
    frailty = population.frailty[people]
    admitted = 1.0 - np.exp(-hazard)
    model.death_normaliser = 1.0
    raw_death = model.death_probability(ages, frailty, np.zeros(people.size, dtype=bool))
    expected = raw_death * (1.0 + (DEATH_AFTER_ADMISSION_FACTOR - 1.0) * admitted)
    model.death_normaliser = codes.DEATHS_PER_YEAR / 12.0 * people.size / expected.sum()

    # Care-home entries replace residents who die, keeping the share steady.
    care_home = population.care_home[people]
    resident_deaths = (model.death_probability(ages, frailty, np.zeros(people.size, dtype=bool)) * care_home).sum()
    raw_entries = (model.care_home_entry_probability(ages, frailty) * ~care_home).sum()
    if raw_entries > 0:
        model.care_home_entry_base *= 1.4 * resident_deaths / raw_entries

    consultations = consultation_rate(model, population, people, ages)
    model.consultation_base *= codes.CONSULTATIONS_PER_PERSON / 12.0 / consultations.mean()
    emergency_per_1000 = hazard.mean() * 12_000.0
    ae_target = codes.AE_ATTENDANCES_PER_1000 - codes.EMERGENCY_METHOD_SHARES[0] * emergency_per_1000
    model.ae_base *= ae_target / 12_000.0 / ae_rate(model, population, people, ages).mean()
    model.outpatient_base *= (
        codes.OUTPATIENTS_PER_1000 / 12_000.0 / outpatient_rate(model, population, people, ages).mean()
    )
    chemotherapy = CHEMOTHERAPY_PER_MONTH * population.has_condition[
        people, codes.CONDITION_INDEX["cancer"]
    ].mean() * 12_000.0
    model.elective_base *= (
        (codes.ELECTIVE_ADMISSIONS_PER_1000 - chemotherapy)
        / 12_000.0
        / elective_rate(model, population, people, ages).mean()
    )


def _emergency_log_hazard(
    model: Model, population: Population, people: np.ndarray, ages: np.ndarray
) -> np.ndarray:
    return model.emergency_log_hazard(
        ages,
        population.frailty[people],
        population.condition_weight[people],
        population.care_home[people],
        population.deprivation[people],
        population.underserved[people],
        population.prior_admissions[people],
    )


def _simulate_month(
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
    birth_registration = birth_dates + (people_rng.random(births) * (last_day - birth_dates + 1)).astype(np.int64)
    mover_ages = people_rng.choice(model_mover_ages().size, size=movers, p=model_mover_ages())
    mover_birth = first_day - (mover_ages * 365.25 + people_rng.random(movers) * 365.0).astype(np.int64)
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
        onset_conditions = np.minimum((cumulative <= pick[:, None]).sum(axis=1), cumulative.shape[1] - 1)
        onset_people = stayers[candidates]
        onset_day = first_day + (rng.random(candidates.size) * days).astype(np.int64)
        population.has_condition[onset_people, onset_conditions] = True
        population.diagnosis_date[onset_people, onset_conditions] = population.recorded_date(
            rng, onset_people, onset_day
        )
        np.add.at(population.condition_weight, onset_people, model.admission_weights[onset_conditions])
        np.add.at(population.condition_count, onset_people, 1)

    # 3. Care-home entry.
    entering = (rng.random(stayers.size) < model.care_home_entry_probability(ages, frailty)) & ~population.care_home[stayers]
    care_home_entrants = stayers[entering]
    population.care_home[care_home_entrants] = True
    care_home_entry_day = first_day + (rng.random(care_home_entrants.size) * days).astype(np.int64)

    # 4. Emergency admissions: stayers all month, joiners from registration.
    present = np.concatenate([stayers, joiners])
    present_ages = ages_at(population.date_of_birth[present], first_day)
    window_start = np.maximum(first_day, population.registration_date[present])
    exposure = (last_day - window_start + 1) / days
    hazard = np.exp(_emergency_log_hazard(model, population, present, present_ages)) * exposure
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
    population.prior_admissions[present] = population.prior_admissions[present] * PRIOR_ADMISSION_DECAY + admissions
    opting_out = stayers[
        (rng.random(stayers.size) < OPT_OUT_PER_MONTH) & (population.opt_out_month[stayers] == NEVER_MONTH)
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


def model_mover_ages() -> np.ndarray:
    """Ages of people moving into the area: mostly young adults and their children."""
    weights = age_structure() * (1.0 + 2.5 * np.exp(-(((np.arange(age_structure().size) - 28) / 9.0) ** 2)))
    weights[91:] = 0.0
    return weights / weights.sum()
