"""generate(): simulate a population month by month and write its landing zone and truth.

This module runs the others in order: the area (reference.py), the starting list and each
month (simulation.py) after calibrating the model (calibration.py), the feeds of each
month supplier by supplier (gp_activity.py, hospital_activity.py, social_care.py), the
truth at each index date (truth.py, in a background thread) and the faults (faults.py).

The run is deterministic: every random draw comes from numpy Generators seeded from
`seed` (one independent stream per purpose), outputs are sorted, and nothing depends on
wall-clock time or dict/set order. Everything is vectorised over people; the only Python
loops are over months, conditions, drug slots and practices.

It must never write identifiable-looking data: NHS numbers are synthetic (nhs_numbers.py).
"""

from __future__ import annotations

import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from synthetic import gp_activity, hospital_activity, landing, simulation, social_care
from synthetic.calibration import calibrate
from synthetic.faults import inject as inject_faults
from synthetic.ids import IdCounters
from synthetic.model import Model
from synthetic.month_state import MonthState
from synthetic.nhs_numbers import TEST_RANGE_CAPACITY
from synthetic.population import Population, ages_at, allocate_numbers
from synthetic.reference import Area, build_area
from synthetic.truth import HORIZON_MONTHS, TruthInputs, true_risk


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
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", start):
        raise ValueError(f"start must be a month as YYYY-MM (01 to 12), not {start!r}")
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
    month_starts = (
        (first_month + np.arange(months + HORIZON_MONTHS + 1))
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    labels = [str(first_month + offset) for offset in range(months)]

    area = build_area(people, area_rng)
    model = Model.from_published_rates()
    births_per_month = people_rng.poisson(people * simulation.BIRTHS_PER_YEAR / 12, size=months)
    movers_per_month = people_rng.poisson(people * simulation.MOVERS_IN_PER_MONTH, size=months)
    population = Population(capacity=people + int(births_per_month.sum() + movers_per_month.sum()))
    allocate_numbers(population, people_rng)

    start_day = int(month_starts[0])
    simulation.create_initial_list(population, model, area, people_rng, people, start_day)
    calibrate(model, population, dynamics_rng, start_day)

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
        state = simulation.simulate_month(
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
            truth_jobs.append(
                _submit_truth(executor, model, population, month, month_starts, truth_sequence)
            )

    truth_path = out / "truth.csv"
    truth = pl.concat([job.result() for job in truth_jobs]).sort(["index_date", "nhs_number"])
    executor.shutdown()
    truth_path.write_bytes(_truth_bytes(truth))
    rows["truth"] = truth.height

    faults_path: Path | None = None
    if faults:
        faults_path = inject_faults(out, labels, area, faults_rng)
    outside = max(0, population.count - TEST_RANGE_CAPACITY)
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
    emergency = hospital_activity.write_month(
        writer, state, population, model, area, rng, ages, exposure, counters
    )
    social_care.write_month(
        writer, state, population, model, rng, ages, exposure, emergency, counters
    )


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
    rng = np.random.default_rng(
        np.random.SeedSequence(truth_sequence.entropy, spawn_key=(4, month))
    )
    following = month_starts[month + 1 : month + 1 + HORIZON_MONTHS]

    def run() -> pl.DataFrame:
        risk = true_risk(model, inputs, index_day, following, rng)
        return pl.DataFrame(
            {
                "nhs_number": nhs_number,
                "index_date": pl.Series(np.full(nhs_number.size, index_day, dtype=np.int32)).cast(
                    pl.Date
                ),
                "true_risk": risk,
            }
        )

    return executor.submit(run)
