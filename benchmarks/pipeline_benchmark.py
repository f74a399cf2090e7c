"""The whole pipeline against a plain pandas + LightGBM baseline, side by side, per zone.

    .venv/bin/python benchmarks/pipeline_benchmark.py                       # 100000x26,1000000x36
    .venv/bin/python benchmarks/pipeline_benchmark.py --sizes 3000x26 --new-month --skip-make-test

For each size PEOPLExMONTHS: generates a zone (`riskstrat generate`, seed 42; MONTHS+1
months with --new-month, the last one held back), then runs, each as a child process:
  1. `riskstrat run --landing ZONE --home FRESH_HOME` (the first run: every month);
  2. `benchmarks/plain_baseline.py --landing ZONE` on the same months (load every file,
     12-month counts, one LightGBM fit, score);
  3. with --new-month: the held-back month is delivered (moved into extracts/) and
     `riskstrat run` runs again on the same home: load, validate, score, lists.
The generator's truth.csv is hidden from riskstrat (a supplier's zone has none, so no
feature ceiling is fitted) unless --with-truth.
Each child's wall time, CPU time (its rusage from wait4, children included) and peak
resident memory (its process tree's RSS, sampled from /proc every 0.25 s) are measured;
the lines each prints as a job finishes ("monthly_job for 2024-01: done in 3.1 s") split
the run into steps, each with its own CPU time and peak RSS. `make test` is timed once.

Writes a markdown report (--output, default docs/performance.md): the machine, the load
average, the commit, the figures and each performance target as met or not met. Every
figure in it comes from this run. On a shared machine compare CPU seconds and the ratios:
wall time there includes waiting for the cores.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEED = 42
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
# `riskstrat run`'s progress lines ("[2/4] monthly_job for 2023-01..2025-02 (26 months): done in
# 44.7 s (elapsed ...)"; older versions indented them instead) and the baseline's phases.
JOB = r"^(?:\[\d+/\d+\+?\] |\s+)(?P<step>[a-z_]+)(?: for (?P<month>\S+)(?: \(\d+ months\))?)?: "
STEP_LINE = re.compile(JOB + r"(?P<outcome>done|FAILED) in (?P<seconds>[0-9.]+) s")
# "... : step 4 of 11, staged_extract_month (elapsed 0:06:19)": a step inside a job starts.
INNER_STEP_LINE = re.compile(
    JOB + r"step \d+ of \d+, (?P<inner>[a-z0-9_]+) \(elapsed (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)\)"
)
JOB_DONE_ELAPSED = re.compile(r"\(elapsed (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)")
PLAN_LINE = re.compile(r"^\s*plan: (?P<plan>.*)$")
GIGABYTE_MB = 1024


@dataclass
class Step:
    """One job (or baseline phase) as the child reported it, with what was sampled meanwhile."""

    name: str
    month: str | None
    seconds: float
    cpu_seconds: float
    peak_mb: float


@dataclass
class Measurement:
    command: list[str]
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_mb: float = 0.0  # sampled process-tree RSS
    max_rss_mb: float = 0.0  # rusage: the largest single process
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    steps: list[Step] = field(default_factory=list)
    plan: str | None = None
    lines: list[str] = field(default_factory=list)
    # (job, step inside it, seconds from its start to the next step's or the job's end),
    # from the progress lines: whole seconds, wall time.
    inner_steps: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def tail_seconds(self) -> float:
        """Wall time outside the reported steps: start-up, Data Docs, the summary."""
        return self.seconds - sum(step.seconds for step in self.steps)


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def tree_rss_mb(root: int) -> float:
    total_kb = 0
    for pid in process_tree(root):
        try:
            total_kb += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_KB
        except (OSError, IndexError, ValueError):
            continue
    return total_kb / 1024


def cpu_seconds_of(pid: int) -> float:
    """The process's own and its reaped children's CPU time so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / TICKS


class Sampler:
    """Peak RSS of a process tree between calls to `take`, sampled every 0.25 s."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.overall = pid, 0.0, 0.0
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.stop.is_set():
            rss = tree_rss_mb(self.pid)
            with self.lock:
                self.peak, self.overall = max(self.peak, rss), max(self.overall, rss)
            self.stop.wait(0.25)

    def take(self) -> float:
        """The peak since the last call (and now: a step may end between samples), and start a
        new interval."""
        rss = tree_rss_mb(self.pid)
        with self.lock:
            peak, self.peak, self.overall = max(self.peak, rss), 0.0, max(self.overall, rss)
        return peak

    def close(self) -> float:
        self.stop.set()
        self.thread.join()
        return self.overall


def measure(command: list[str], log: Path) -> Measurement:
    """Run a child to completion, echoing and logging its output, splitting it into steps."""
    result = Measurement(command=command, load_before=os.getloadavg())
    print("$ " + " ".join(command), flush=True)
    started = time.perf_counter()
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log.write_text("")
    with log.open("a") as log_file:  # appending: the child writes its stderr to the same file
        child = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log_file, text=True, cwd=ROOT, env=environment
        )
        sampler = Sampler(child.pid)
        cpu_mark = 0.0
        inner_starts: list[tuple[str, str, int]] = []
        assert child.stdout is not None
        for line in child.stdout:
            log_file.write(line)
            print(line, end="", flush=True)
            result.lines.append(line.rstrip("\n"))
            if plan := PLAN_LINE.match(line):
                result.plan = plan["plan"]
            elif inner := INNER_STEP_LINE.match(line):
                inner_starts.append((inner["step"], inner["inner"], _elapsed(inner)))
            elif step := STEP_LINE.match(line):
                if (ended := JOB_DONE_ELAPSED.search(line)) and inner_starts:
                    result.inner_steps += _inner_durations(inner_starts, _elapsed(ended))
                inner_starts = []
                cpu_now = cpu_seconds_of(child.pid)
                result.steps.append(
                    Step(
                        name=step["step"],
                        month=step["month"],
                        seconds=float(step["seconds"]),
                        cpu_seconds=cpu_now - cpu_mark,
                        peak_mb=sampler.take(),
                    )
                )
                cpu_mark = cpu_now
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        result.seconds = time.perf_counter() - started
        result.peak_mb = sampler.close()
    result.load_after = os.getloadavg()
    result.cpu_seconds = usage.ru_utime + usage.ru_stime
    result.max_rss_mb = usage.ru_maxrss / 1024
    result.peak_mb = max(result.peak_mb, result.max_rss_mb)
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} exited {child.returncode}; its output is in {log}")
    return result


def _elapsed(match: re.Match[str]) -> int:
    return int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"])


def _inner_durations(
    starts: list[tuple[str, str, int]], job_end: int
) -> list[tuple[str, str, int]]:
    """Each step's seconds: from its start to the next step's start (or the job's end)."""
    ends = [start for _, _, start in starts[1:]] + [job_end]
    return [(job, step, end - start) for (job, step, start), end in zip(starts, ends, strict=True)]


def inner_step_table(run: Measurement, at_least: int = 2) -> list[str]:
    """The steps inside the jobs that took `at_least` seconds, longest first."""
    slow = sorted((r for r in run.inner_steps if r[2] >= at_least), key=lambda r: -r[2])
    if not slow:
        return []
    return [
        "",
        f"Inside the jobs (steps of {at_least} s or more, wall time from the progress lines, "
        "whole seconds; a step's time runs to the next step's start):",
        "",
        "| job | step | wall (s) |",
        "| --- | --- | ---: |",
        *(f"| {job} | {step} | {seconds:,} |" for job, step, seconds in slow),
    ]


@dataclass
class Zone:
    people: int
    months: int
    generate_seconds: float | None = None
    rows: int = 0  # data rows in the manifests of the first run's months
    new_month: str | None = None
    new_month_rows: int = 0
    first_run: Measurement | None = None
    baseline: Measurement | None = None
    baseline_result: dict[str, object] = field(default_factory=dict)
    new_month_run: Measurement | None = None

    @property
    def label(self) -> str:
        return f"{self.people:,} x {self.months}"


def manifest_rows(month_folder: Path) -> int:
    with (month_folder / "manifest.csv").open(newline="") as manifest:
        return sum(int(row["rows"]) for row in csv.DictReader(manifest))


def benchmark_zone(
    zone: Zone,
    work: Path,
    skip_generate: bool,
    new_month: bool,
    with_truth: bool = False,
    keep_first_home: bool = False,
) -> None:
    name = f"{zone.people}x{zone.months}" + ("+1" if new_month else "")
    folder = work / f"zone-{name}"
    landing, held_back = folder / "landing", folder / "held-back"
    truth, hidden_truth = folder / "truth.csv", folder / "truth.csv.hidden"
    generated_months = zone.months + (1 if new_month else 0)
    if held_back.is_dir():  # an interrupted earlier run: deliver the month back first
        for month_folder in held_back.iterdir():
            month_folder.rename(landing / "extracts" / month_folder.name)
    if hidden_truth.is_file():
        hidden_truth.rename(truth)
    if not (skip_generate and landing.is_dir()):
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "riskstrat"),
                "generate",
                "--out",
                str(folder),
                "--people",
                str(zone.people),
                "--months",
                str(generated_months),
                "--seed",
                str(SEED),
            ],
            check=True,
            cwd=ROOT,
        )
        zone.generate_seconds = time.perf_counter() - started
    months = sorted(path for path in (landing / "extracts").iterdir() if path.is_dir())
    if len(months) != generated_months:
        raise SystemExit(
            f"{landing} holds {len(months)} months, not {generated_months}: drop --skip-generate"
        )
    home = work / f"home-{name}"
    shutil.rmtree(home, ignore_errors=True)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    first_months = months[:-1] if new_month else months
    zone.rows = sum(manifest_rows(month) for month in first_months)
    if new_month:
        zone.new_month, zone.new_month_rows = months[-1].name, manifest_rows(months[-1])
        held_back.mkdir(exist_ok=True)
        months[-1].rename(held_back / months[-1].name)
    # A supplier's zone has no truth.csv: without it riskstrat fits no feature ceiling (a
    # second training of the model, on the generator's true risks: at 1,000,000 people
    # 308 s of a 472 s model step), so it is hidden unless --with-truth.
    if not with_truth and truth.is_file():
        truth.rename(hidden_truth)
    try:
        zone.first_run = measure(
            [str(BIN / "riskstrat"), "run", "--landing", str(landing), "--home", str(home)],
            logs / f"riskstrat-{name}.log",
        )
        zone.baseline = measure(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "plain_baseline.py"),
                "--landing",
                str(landing),
                "--out",
                str(work / f"baseline-{name}"),
            ],
            logs / f"baseline-{name}.log",
        )
        zone.baseline_result = json.loads(zone.baseline.lines[-1])
    finally:
        if new_month:
            (held_back / months[-1].name).rename(months[-1])
            held_back.rmdir()
    if new_month and keep_first_home:  # to time the new month again, on another commit
        kept = work / f"home-{name}-after-first-run"
        shutil.rmtree(kept, ignore_errors=True)
        shutil.copytree(home, kept)
    try:
        if new_month:
            zone.new_month_run = measure(
                [str(BIN / "riskstrat"), "run", "--landing", str(landing), "--home", str(home)],
                logs / f"riskstrat-{name}-new-month.log",
            )
    finally:
        if hidden_truth.is_file():
            hidden_truth.rename(truth)


def time_make_test(work: Path) -> Measurement:
    (work / "logs").mkdir(parents=True, exist_ok=True)
    return measure(["make", "test"], work / "logs" / "make-test.log")


# ---- the report -----------------------------------------------------------------------


def machine() -> dict[str, str]:
    meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    models = [
        line.split(":", 1)[1].strip()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("model name")
    ]
    return {
        "cores": f"{len(os.sched_getaffinity(0))} usable ({os.cpu_count()} online)",
        "memory": f"{int(meminfo['MemTotal'].split()[0]) / 1024 / 1024:.1f} GB",
        "cpu": models[0] if models else platform.processor() or "unknown",
        "system": f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
    }


def commit() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout

    head, branch = (
        git("rev-parse", "--short", "HEAD").strip(),
        git("rev-parse", "--abbrev-ref", "HEAD").strip(),
    )
    changed = [
        line for line in git("status", "--porcelain").splitlines() if not line.startswith("??")
    ]
    untracked = [
        line for line in git("status", "--porcelain").splitlines() if line.startswith("??")
    ]
    state = f"dirty: {len(changed)} tracked file(s) changed" if changed else "clean"
    return f"`{head}` on `{branch}` ({state}; {len(untracked)} untracked)"


def load_text(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def duration(seconds: float) -> str:
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds:,.1f} s ({seconds / 60:.1f} min)"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator > 0 else "n/a"


RISKSTRAT_TAIL = "outside the jobs: start-up, planning, Data Docs, summary"
BASELINE_TAIL = "outside the phases: start-up, exit"


def step_groups(run: Measurement) -> dict[str, list[Step]]:
    groups: dict[str, list[Step]] = {}
    for step in run.steps:
        groups.setdefault(step.name, []).append(step)
    return groups


def step_table(run: Measurement, rows: int, tail: str) -> list[str]:
    lines = [
        "| step | runs | wall (s) | share of wall | CPU (s) | peak RSS (MB) | slowest run (s) | rows / s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, steps in step_groups(run).items():
        seconds = sum(step.seconds for step in steps)
        slowest = max(steps, key=lambda step: step.seconds)
        throughput = (
            f"{rows / seconds:,.0f}" if name in {"monthly_job", "load"} and seconds > 0 else ""
        )
        lines.append(
            f"| {name} | {len(steps)} | {seconds:,.1f} | {seconds / run.seconds:.0%} "
            f"| {sum(step.cpu_seconds for step in steps):,.1f} | {max(step.peak_mb for step in steps):,.0f} "
            f"| {slowest.seconds:,.1f}{f' ({slowest.month})' if slowest.month else ''} | {throughput} |"
        )
    lines.append(
        f"| {tail} | | {run.tail_seconds:,.1f} | {run.tail_seconds / run.seconds:.0%} | | | | |"
    )
    return lines


def targets(zones: list[Zone], make_test: Measurement | None) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for each target in the performance issue."""
    found: list[tuple[str, str, str]] = []

    def verdict(met: bool) -> str:
        return "**met**" if met else "**not met**"

    def zone(people: int, months: int | None = None) -> Zone | None:
        return next(
            (z for z in zones if z.people == people and (months is None or z.months == months)),
            None,
        )

    target = "100,000 x 26 months: first run no slower than the baseline on the same zone"
    z = zone(100_000, 26)
    if z and z.first_run and z.baseline:
        found.append(
            (
                target,
                f"{z.first_run.seconds:,.1f} s vs {z.baseline.seconds:,.1f} s "
                f"({ratio(z.first_run.seconds, z.baseline.seconds)} wall, "
                f"{ratio(z.first_run.cpu_seconds, z.baseline.cpu_seconds)} CPU)",
                verdict(z.first_run.seconds <= z.baseline.seconds),
            )
        )
    else:
        found.append((target, "not measured (size not in --sizes)", "not measured"))

    target = "1,000,000 x 36 months: first run under 10 minutes (aim 5)"
    z = zone(1_000_000, 36)
    if z and z.first_run:
        aim = "within the aim" if z.first_run.seconds < 300 else "over the 5-minute aim"
        found.append(
            (target, f"{duration(z.first_run.seconds)}, {aim}", verdict(z.first_run.seconds < 600))
        )
    else:
        found.append((target, "not measured (size not in --sizes)", "not measured"))

    target = "1,000,000 people, one new month delivered (load, validate, score, lists): under 60 s"
    z = next((z for z in zones if z.people == 1_000_000 and z.new_month_run), None)
    if z and z.new_month_run:
        trained = (
            " (the plan trained a model, so this includes training)"
            if z.new_month_run.plan and z.new_month_run.plan.startswith("train")
            else ""
        )
        found.append(
            (
                target,
                f"{duration(z.new_month_run.seconds)} ({z.label}+1){trained}",
                verdict(z.new_month_run.seconds < 60),
            )
        )
    else:
        found.append(
            (target, "not measured (no 1,000,000-people size with --new-month)", "not measured")
        )

    target = "peak memory of any step under 8 GB"
    runs = [
        (z, kind, run)
        for z in zones
        for kind, run in (("first run", z.first_run), ("new month", z.new_month_run))
        if run
    ]
    if runs:
        z, kind, run = max(runs, key=lambda item: item[2].peak_mb)
        worst = max(run.steps, key=lambda step: step.peak_mb, default=None)
        where = (
            f"{worst.name}{' for ' + worst.month if worst and worst.month else ''}"
            if worst
            else "run"
        )
        found.append(
            (
                target,
                f"{run.peak_mb / GIGABYTE_MB:.2f} GB, the whole run's peak ({z.label}, {kind}; "
                f"its largest step {where}: "
                f"{(worst.peak_mb if worst else run.peak_mb) / GIGABYTE_MB:.2f} GB)",
                verdict(run.peak_mb < 8 * GIGABYTE_MB),
            )
        )

    target = "100,000 -> 1,000,000 people: at most 11x the time"
    small, large = zone(100_000, 36) or zone(100_000), zone(1_000_000, 36) or zone(1_000_000)
    if small and large and small.first_run and large.first_run:
        measured = large.first_run.seconds / small.first_run.seconds
        cpu = large.first_run.cpu_seconds / small.first_run.cpu_seconds
        note = f"; CPU {cpu:.1f}x"
        if small.months != large.months:  # compare time per delivered month when months differ
            measured = (large.first_run.seconds / large.months) / (
                small.first_run.seconds / small.months
            )
            note = (
                f"; per delivered month, since the zones have {small.months} and {large.months} months"
                f"; unadjusted: {large.first_run.seconds / small.first_run.seconds:.1f}x wall, {cpu:.1f}x CPU"
            )
        found.append(
            (
                target,
                f"{measured:.1f}x wall ({small.label} -> {large.label}{note})",
                verdict(measured <= 11),
            )
        )
    else:
        found.append(
            (target, "not measured (needs a 100,000- and a 1,000,000-people size)", "not measured")
        )

    target = "`make test` under 5 minutes"
    if make_test:
        found.append(
            (
                target,
                f"{duration(make_test.seconds)} ({make_test.cpu_seconds:,.0f} CPU s)",
                verdict(make_test.seconds < 300),
            )
        )
    else:
        found.append((target, "not measured (--skip-make-test)", "not measured"))
    return found


def report(
    zones: list[Zone],
    make_test: Measurement | None,
    started: datetime.datetime,
    load_before: tuple[float, float, float],
    command: str,
    revision: str,
    with_truth: bool = False,
) -> str:
    host = machine()
    lines = [
        "# Performance",
        "",
        f"Measured by `{command}` ({Path(__file__).relative_to(ROOT)}), "
        f"{started:%Y-%m-%d %H:%M} UTC. Every figure below comes from that run; rerun it to check them.",
        "",
        "| machine | |",
        "| --- | --- |",
        f"| CPU | {host['cpu']}, {host['cores']} |",
        f"| memory | {host['memory']} |",
        f"| system | {host['system']} |",
        f"| commit | {revision} |",
        f"| load average (1/5/15 min) before | {load_text(load_before)} |",
        f"| load average after | {load_text(os.getloadavg())} |",
        "",
        "Each figure is one child process: wall time, CPU time (user + system, its children "
        "included) and peak resident memory (the process tree's, sampled every 0.25 s). "
        "Wall time waits for the cores when the machine is shared: if the load average "
        "above exceeds the core count, trust CPU time and the ratios over wall time. In the "
        "step tables, a step's wall time is the one the child printed; its CPU time and peak "
        "are sampled from the end of the previous step, so the first step's include the "
        "process start-up (imports).",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        *(
            f"| {target} | {measured} | {verdict} |"
            for target, measured, verdict in targets(zones, make_test)
        ),
        "",
        "## riskstrat against the plain baseline",
        "",
        "The baseline (`benchmarks/plain_baseline.py`) is pandas + LightGBM written for this "
        "benchmark: it reads every CSV, builds 12-month counts at two index dates, fits "
        "LightGBM once and scores the latest month, with no validation, quarantine, "
        "warehouse, calibration, explanations or lists. Ratio = riskstrat / baseline. "
        + (
            "riskstrat saw the generator's truth.csv, so its model step also fitted the "
            "feature ceiling (--with-truth)."
            if with_truth
            else "The generator's truth.csv was hidden from riskstrat, as a supplier's zone "
            "has none: no feature ceiling was fitted."
        ),
        "",
        "| zone (people x months) | delivered rows | | wall | CPU (s) | peak RSS (MB) | rows / s (wall) | load avg before -> after |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for z in zones:
        assert z.first_run and z.baseline
        for name, run in (("riskstrat", z.first_run), ("baseline", z.baseline)):
            lines.append(
                f"| {z.label} | {z.rows:,} | {name} | {duration(run.seconds)} | {run.cpu_seconds:,.1f} "
                f"| {run.peak_mb:,.0f} | {z.rows / run.seconds:,.0f} "
                f"| {run.load_before[0]:.2f} -> {run.load_after[0]:.2f} |"
            )
        lines.append(
            f"| {z.label} | | **ratio** | **{ratio(z.first_run.seconds, z.baseline.seconds)}** "
            f"| **{ratio(z.first_run.cpu_seconds, z.baseline.cpu_seconds)}** "
            f"| **{ratio(z.first_run.peak_mb, z.baseline.peak_mb)}** | | |"
        )
    lines += ["", "Out-of-time AUROC at the validation date (context, not speed):", ""]
    for z in zones:
        assert z.first_run
        pipeline_auroc = next(
            (line.split("model AUROC ")[1] for line in z.first_run.lines if "model AUROC " in line),
            "no model",
        )
        lines.append(
            f"- {z.label}: riskstrat {pipeline_auroc}; baseline {z.baseline_result.get('auroc', 0):.3f} "
            f"({z.baseline_result.get('people_scored', 0):,} people scored)"
        )
    for z in zones:
        assert z.first_run and z.baseline
        lines += ["", f"## {z.label}: steps", ""]
        if z.generate_seconds is not None:
            lines += [
                f"Generating the zone took {duration(z.generate_seconds)} (not part of any figure).",
                "",
            ]
        lines += [
            f"riskstrat first run ({z.first_run.plan or 'no plan line'}):",
            "",
            *step_table(z.first_run, z.rows, RISKSTRAT_TAIL),
            *inner_step_table(z.first_run),
            "",
            "Baseline:",
            "",
            *step_table(z.baseline, z.rows, BASELINE_TAIL),
        ]
        if z.new_month_run:
            run = z.new_month_run
            lines += [
                "",
                f"One new month delivered ({z.new_month}, {z.new_month_rows:,} rows) to the same home: "
                f"{duration(run.seconds)} wall, {run.cpu_seconds:,.1f} CPU s, peak {run.peak_mb:,.0f} MB, "
                f"{z.new_month_rows / run.seconds:,.0f} rows / s; plan: {run.plan or 'none printed'}; "
                f"{ratio(run.seconds, z.baseline.seconds)} of the baseline's full run on the zone before it.",
                "",
                *step_table(run, z.new_month_rows, RISKSTRAT_TAIL),
                *inner_step_table(run),
            ]
    if make_test:
        lines += [
            "",
            f"`make test`: {duration(make_test.seconds)} wall, {make_test.cpu_seconds:,.1f} CPU s, "
            f"load average {make_test.load_before[0]:.2f} -> {make_test.load_after[0]:.2f}.",
        ]
    return "\n".join(lines) + "\n"


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for size in text.split(","):
        people, _, months = size.strip().lower().partition("x")
        if not (people.isdigit() and months.isdigit()):
            raise argparse.ArgumentTypeError(f"{size!r} is not PEOPLExMONTHS (e.g. 100000x26)")
        sizes.append((int(people), int(months)))
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=parse_sizes("100000x26,1000000x36"),
        help="comma-separated PEOPLExMONTHS (default 100000x26,1000000x36)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/riskstrat-pipeline-benchmark"),
        help="zones, homes and logs go here",
    )
    parser.add_argument(
        "--with-truth",
        action="store_true",
        help="leave truth.csv beside the landing zone, so riskstrat also fits the feature "
        "ceiling (a supplier's zone has none; hidden by default)",
    )
    parser.add_argument(
        "--skip-generate", action="store_true", help="reuse the zones already in --work"
    )
    parser.add_argument(
        "--new-month", action="store_true", help="also time one more delivered month"
    )
    parser.add_argument("--skip-make-test", action="store_true", help="do not time `make test`")
    parser.add_argument(
        "--keep-first-home",
        action="store_true",
        help="with --new-month, copy each home after its first run to "
        "home-<size>-after-first-run, so the new month can be timed again on another commit",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    arguments = parser.parse_args()
    command = " ".join(["python", str(Path(__file__).relative_to(ROOT)), *sys.argv[1:]])
    started = datetime.datetime.now(datetime.UTC)
    revision = commit()  # before the run, so the report names what was measured
    load_before = os.getloadavg()
    arguments.work.mkdir(parents=True, exist_ok=True)
    zones = [Zone(people, months) for people, months in arguments.sizes]
    for zone in zones:
        benchmark_zone(
            zone,
            arguments.work,
            arguments.skip_generate,
            arguments.new_month,
            arguments.with_truth,
            arguments.keep_first_home,
        )
    make_test = None if arguments.skip_make_test else time_make_test(arguments.work)
    text = report(zones, make_test, started, load_before, command, revision, arguments.with_truth)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(text)
    print(f"\n{text}\nwritten to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
