"""A run killed at any moment (SIGKILL, the OOM killer) never bricks the home.

Each test kills `riskstrat run` in a subprocess, then runs it again with a time limit (a
rerun waiting forever on the dead run's `warehouse` pool slot is a failure), and compares
the home with one a clean run made: outbox, reports (all but Data Docs, which hold run
times), models and every warehouse table. Every home shares one pseudonym key.

- `test_a_run_killed_inside_a_warehouse_step_is_recovered_by_the_next_run`: the normal
  suite; a two-month zone, killed while it holds the pool slot.
- `test_a_run_killed_at_any_moment_is_recovered_by_the_next_run`: marked slow; twenty
  seeded kill moments spread over load, validate, train and publish on a generated zone
  that trains and lists.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import compare_homes
from tests import supplier
from tests.killed_writer import kill_a_writer

RISKSTRAT = [sys.executable, "-m", "pipelines.cli"]
PSEUDONYM_KEY = "recovery-tests-share-this-one-pseudonym-key"  # 32+ characters
RERUN_LIMIT_SECONDS = int(os.environ.get("RERUN_LIMIT", 600))
COMPARED = ("outbox", "reports", "models")  # reports/data_docs (run times) is skipped


def environment() -> dict[str, str]:
    names = ("DAGSTER_HOME", "RISKSTRAT_HOME", "RISKSTRAT_LANDING", "RISKSTRAT_TRUTH")
    env = {k: v for k, v in os.environ.items() if k not in names}
    return env | {"RISKSTRAT_PSEUDONYM_KEY": PSEUDONYM_KEY, "PYTHONUNBUFFERED": "1"}


def start_run(landing: Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(),
    )


def run_to_end(landing: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """A plain run; a hang (the old failure) ends the test instead of the suite."""
    try:
        return subprocess.run(
            [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home)],
            capture_output=True,
            text=True,
            env=environment(),
            timeout=RERUN_LIMIT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the rerun on {home} was still waiting after {RERUN_LIMIT_SECONDS} s")


def differences(clean: Path, rerun: Path) -> list[str]:
    """Compared files and warehouse tables that differ (benchmarks/compare_homes.py)."""
    return compare_homes.differences(clean, rerun, COMPARED)


def slot_holders(home: Path) -> set[str]:
    """Runs holding a `warehouse` pool slot, read from the home's Dagster instance."""
    import dagster as dg

    if not (home / "dagster" / "dagster.yaml").is_file():
        return set()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        info = instance.event_log_storage.get_concurrency_info("warehouse")
        return {slot.run_id for slot in info.claimed_slots}


def test_a_run_killed_inside_a_warehouse_step_is_recovered_by_the_next_run(tmp_path: Path):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean_run = start_run(landing, clean)
    victim = start_run(landing, killed)

    assert victim.stdout is not None
    for line in victim.stdout:  # the monthly run is next: wait for it to hold the slot
        if "reference_job: done" in line:
            break
    deadline = time.monotonic() + 300
    while not slot_holders(killed):
        assert victim.poll() is None, "the run ended before a monthly step held the slot"
        assert time.monotonic() < deadline, "no step ever held the warehouse slot"
        time.sleep(0.2)
    victim.kill()
    victim.wait()
    assert slot_holders(killed), "the dead run should still hold its slot before the rerun"
    kill_a_writer(killed / "reports" / "lists" / "2024-02.json")  # as if killed mid-write

    rerun = run_to_end(landing, killed)
    _, clean_err = clean_run.communicate(timeout=RERUN_LIMIT_SECONDS)

    assert clean_run.returncode == 0, clean_err
    assert rerun.returncode == 0, rerun.stderr
    assert "recovered: monthly_job run" in rerun.stdout
    # The victim may have been killed mid-write too: its file is counted in the same line.
    swept = re.search(
        r"recovered: removed (\d+) half-written file\(s\) .* left in (.*)", rerun.stdout
    )
    assert swept and "reports/lists" in swept[2].split(", "), rerun.stdout
    assert not slot_holders(killed)
    assert differences(clean, killed) == []


# The slow harness: twenty seeded kill moments over the phases the run prints.

PHASES = {
    # phase: the progress line that starts it (None: the process start), and the one ending it
    # (a regular expression: jobs also print a line as they start and as each step starts)
    "reference": (None, "reference_job: done"),  # start-up, then the reference files
    "monthly": ("reference_job: done", r"monthly_job for .*: done"),  # load, validate 26 months
    "model": ("plan: train", "model_job: done"),  # train, evaluate, audit
    "lists": ("model_job: done", r"lists_job for .*: done"),  # score and publish
}
GENERATED = "--people 1000 --months 26 --seed 7"
KILL_MOMENTS = 20
SEED = 20261129


@dataclass(frozen=True)
class KillMoment:
    phase: str
    fraction: float  # of the phase's length in the clean run

    def __str__(self) -> str:
        return f"{self.phase}-{self.fraction:.2f}"


def kill_moments() -> list[KillMoment]:
    """Five moments a phase, each at a seeded random point of its own fifth of the phase."""
    rng = random.Random(SEED)
    phases = list(PHASES)
    return [
        KillMoment(phases[i % 4], round((i // 4 + rng.random()) / 5, 2))
        for i in range(KILL_MOMENTS)
    ]


@dataclass
class Timings:
    starts: dict[str, float]  # seconds from the process start to each phase's start
    lengths: dict[str, float]


def timed_run(landing: Path, home: Path) -> Timings:
    """A clean run, timing when each phase starts and ends from its progress lines."""
    started = time.monotonic()
    process = start_run(landing, home)
    seen: dict[str, float] = {}
    assert process.stdout is not None
    for line in process.stdout:
        for phase, (first, last) in PHASES.items():
            now = time.monotonic() - started
            if first is not None and re.search(first, line):
                seen[f"{phase} start"] = now
            if re.search(last, line):
                seen[f"{phase} end"] = now
    _, err = process.communicate()
    assert process.returncode == 0, err
    seen["reference start"] = 0.0
    starts = {phase: seen[f"{phase} start"] for phase in PHASES}
    lengths = {phase: seen[f"{phase} end"] - seen[f"{phase} start"] for phase in PHASES}
    return Timings(starts, lengths)


def kill_at(landing: Path, home: Path, moment: KillMoment, timings: Timings) -> str:
    """Start a run, SIGKILL it at `moment`; says where the run was when it died."""
    process = start_run(landing, home)
    lines: list[str] = []
    phase_started = threading.Event()
    first = PHASES[moment.phase][0]
    if first is None:
        phase_started.set()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.strip())
            if first is not None and re.search(first, line):
                phase_started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while not phase_started.wait(0.1):
        if process.poll() is not None:
            return "ended before the phase began"
    time.sleep(moment.fraction * timings.lengths[moment.phase])
    if process.poll() is not None:
        return "finished before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait()
    reader.join(5)
    return f"killed after: {lines[-1] if lines else 'nothing printed'}"


def share_key(clean: Path, home: Path) -> None:
    """Give `home` the clean home's pseudonym key file, should a run have made one."""
    key = clean / "secrets" / "pseudonym.key"
    if key.is_file():
        (home / "secrets").mkdir(mode=0o700, parents=True)
        shutil.copy2(key, home / "secrets" / "pseudonym.key")


@pytest.fixture(scope="module")
def trained_zone(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path], Timings]:
    """A zone that trains and lists (26 months), a clean run's home and timings, and the
    same home after a second plain run (which may retrain on the first run's drift report:
    a kill after that report is written leaves this state, as an uninterrupted history
    of two runs would)."""
    root = tmp_path_factory.mktemp("kill-harness")
    subprocess.run(
        [*RISKSTRAT, "generate", "--out", str(root / "zone"), *GENERATED.split()],
        check=True,
        capture_output=True,
        env=environment(),
    )
    landing = root / "zone" / "landing"
    timings = timed_run(landing, root / "clean")
    shutil.copytree(root / "clean", root / "clean-then-rerun")
    assert run_to_end(landing, root / "clean-then-rerun").returncode == 0
    return landing, [root / "clean", root / "clean-then-rerun"], timings


@pytest.mark.slow
@pytest.mark.parametrize("moment", kill_moments(), ids=str)
def test_a_run_killed_at_any_moment_is_recovered_by_the_next_run(
    trained_zone: tuple[Path, list[Path], Timings], moment: KillMoment, tmp_path: Path
):
    landing, references, timings = trained_zone
    home = tmp_path / "home"
    share_key(references[0], home)

    where = kill_at(landing, home, moment, timings)
    rerun = run_to_end(landing, home)

    assert rerun.returncode == 0, f"{where}\n{rerun.stderr}"
    found = [differences(reference, home) for reference in references]
    assert [] in found, f"{where}: differs from a clean run in {found[0]}, from two in {found[1]}"
