"""The one planner: what a run must do next, from the landing zone, the warehouse and the registry.

`riskstrat run` and the Dagster sensors and schedule all ask these functions, so a month
delivered on a schedule and a month run from the command line take the same decisions:

- `months_to_load`: the month folders whose delivery the warehouse does not hold yet (new,
  re-delivered with a new manifest, or now complete), and every month after the first of
  them (so the keyed feeds are judged oldest first, as on a first load);
- `month_runs`: how to run those months: one run over each stretch of consecutive month
  partitions (a first load, a backfill, a restaging), not one run a month;
- `reference_files`, `reference_loaded`: what the reference files and the code that stages
  them are now, and whether the warehouse holds them; the runner reloads the reference
  files only when they or the code differ from its last successful reference run, or the
  warehouse was loaded from other files (a new month arrives with the same practices and
  LSOA files, and skips them);
- `after_loading`: whether to train first (13 months, so one index date with complete
  follow-up, then the retraining policy of `models.retraining`: no model yet, quarterly,
  drift, or out-of-time validation taking over from a cold-start model at 25 months),
  and which month to list (the latest loaded month, once a model exists or is about to).

Plain code: never imports dagster, never writes anything. It reads the warehouse read-only
and tolerates a home that does not exist yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.dataset import labelled_index_dates
from models.registry import current_version
from models.retraining import DEFAULT_RETRAIN_EVERY, current_is_cold_start, retraining_decision
from models.training import NotEnoughHistory, TrainingPlan, plan_training
from warehouse.connection import table_exists
from warehouse.deliveries import (
    RecordedDelivery,
    extract_months,
    manifest_digests,
    recorded_deliveries,
)
from warehouse.home import Home
from warehouse.reference import (
    REFERENCE_FEEDS,
    delivered_reference_digests,
    loaded_reference_files,
)


@dataclass(frozen=True)
class MonthToLoad:
    month: str
    manifest_sha256: str | None
    """None for a month folder without manifest.csv (still being delivered: recorded as incomplete)."""
    reason: str


@dataclass(frozen=True)
class NextSteps:
    """What follows once the delivered months are loaded."""

    train: bool
    train_reason: str
    list_month: str | None
    list_reason: str


def months_to_load(home: Home, landing: Path, *, reload: bool = False) -> list[MonthToLoad]:
    """Month folders of `landing` whose delivery the warehouse does not hold, oldest first.

    A month is loaded when it is new, when its manifest changed (a re-delivery), or when it
    was incomplete and its manifest has arrived; a folder still without a manifest is
    recorded once as incomplete. `reload` loads every month folder again (after an upgrade
    of the contracts, say). Raises warehouse.errors.InputError when `landing` holds no
    extracts/ folder.
    """
    folders = extract_months(landing)
    digests = manifest_digests(landing)
    recorded = _recorded(home)
    wanted: list[MonthToLoad] = []
    for month in folders:
        digest = digests.get(month)
        reason = _load_reason(recorded.get(month), digest, reload)
        if reason is None and wanted:
            # Keyed hospital and social-care rows are judged against the first delivery of
            # their id, so every month after a changed one is restaged, oldest first.
            reason = f"restaged after {wanted[0].month}"
        if reason is not None:
            wanted.append(MonthToLoad(month, digest, reason))
    return wanted


def month_runs(
    months: Sequence[str], partition_order: Sequence[str], *, one_run: bool = True
) -> list[str | list[str]]:
    """The runs that load `months` (oldest first): a list of months is one run over that
    range of partitions, a string a run of one month.

    A range run selects partitions by their order in Dagster (`partition_order`), so it
    covers a stretch of months only when they are consecutive there: a month folder
    delivered after later ones sits at the end of the order and runs alone. Outputs are the
    same either way (tests/pipelines/test_month_ranges.py); `one_run=False` asks for one run
    a month.
    """
    position = {key: index for index, key in enumerate(partition_order)}
    runs: list[list[str]] = []
    for month in months:
        if one_run and runs and position[month] == position[runs[-1][-1]] + 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    return [run if len(run) > 1 else run[0] for run in runs]


def _load_reason(recorded: RecordedDelivery | None, digest: str | None, reload: bool) -> str | None:
    if reload:
        return "reload asked for"
    if recorded is None:
        return "new delivery" if digest else "month folder without manifest.csv yet"
    if digest is None:
        return None
    if recorded.manifest_sha256 is None:
        return "manifest.csv has arrived"
    if recorded.manifest_sha256 != digest:
        return "re-delivered (new manifest)"
    return None


@dataclass(frozen=True)
class ReferenceFiles:
    """The landing zone's reference files as they are now."""

    key: str
    """A digest of the files' bytes and of the code that loads, stages and checks them."""
    files: dict[str, str]
    """Each feed's file sha256."""


def reference_files(landing: Path, code: str) -> ReferenceFiles | None:
    """The reference files now, and `code` (a digest of the code that loads, stages and
    checks them); None when a reference file would be refused (missing, a link, not a
    regular file): then the job runs, and says what is wrong."""
    files = delivered_reference_digests(landing)
    if files is None:
        return None
    key = hashlib.sha256(code.encode())
    for feed, digest in files.items():
        key.update(f"\0{feed}\0{digest}".encode())
    return ReferenceFiles(key.hexdigest(), files)


def reference_loaded(home: Home, files: dict[str, str]) -> bool:
    """Whether the warehouse's raw reference was loaded from files with these digests
    (`raw.reference_files`) and its staged reference tables exist."""
    if not home.has_warehouse():
        return False
    with home.connect(read_only=True) as connection:
        staged = all(table_exists(connection, f"staged.{feed}") for feed in REFERENCE_FEEDS)
        return staged and loaded_reference_files(connection) == files


def after_loading(home: Home, *, retrain_every_months: int = DEFAULT_RETRAIN_EVERY) -> NextSteps:
    """Train or not (and why), and which month to list, given what the home holds now."""
    loaded = [month for month, delivery in _recorded(home).items() if delivery.status == "loaded"]
    if not loaded:
        return NextSteps(False, "no month is loaded yet", None, "no month is loaded yet")
    latest = loaded[-1]
    has_model = current_version(home.models) is not None
    plan = _plan(home)
    if isinstance(plan, str):
        train, train_reason = False, f"not enough history to train: {plan}"
    elif not plan.cold_start and current_is_cold_start(home.models):
        train, train_reason = True, OUT_OF_TIME_TAKES_OVER
    else:
        decision = retraining_decision(home.root, latest, every_months=retrain_every_months)
        train, train_reason = decision.retrain, decision.reason
    if has_model or train:
        return NextSteps(train, train_reason, latest, f"{latest} is the latest loaded month")
    return NextSteps(train, train_reason, None, "no model has been trained in this home yet")


OUT_OF_TIME_TAKES_OVER = (
    "25 months: out-of-time validation takes over from the cold-start model, which was "
    "not yet validated out of time"
)


def _plan(home: Home) -> TrainingPlan | str:
    """The training plan the warehouse supports now, or why it supports none (under 13 months)."""
    with home.connect(read_only=True) as connection:
        try:
            return plan_training(labelled_index_dates(connection))
        except NotEnoughHistory as error:
            return str(error)


def _recorded(home: Home) -> dict[str, RecordedDelivery]:
    if not home.has_warehouse():
        return {}
    with home.connect(read_only=True) as connection:
        return recorded_deliveries(connection)
