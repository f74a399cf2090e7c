"""The `riskstrat` command: generate a synthetic landing zone, run the pipeline, or both.

`riskstrat run` materialises every asset through Dagster, in-process, against a Dagster
instance kept under the home (DAGSTER_HOME), so run history survives. It exits 0 on
success, and otherwise prints one paragraph saying what stopped it (no traceback).
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from pipelines.errors import RunInterrupted, RunStopped

if TYPE_CHECKING:
    from pipelines.resources import RunSettings
    from pipelines.runner import RunSummary

DEFAULT_HOME = "riskstrat-home"

EXIT_STOPPED = 1


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    try:
        with signals_stop_the_run():
            return int(arguments.handler(arguments))
    except RunStopped as stopped:
        print(f"riskstrat: stopped. {stopped}", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as error:
        if os.environ.get("RISKSTRAT_TRACEBACK"):
            raise
        print(
            f"riskstrat: stopped by an unexpected error: {type(error).__name__}: "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else 'no message'}. "
            "Set RISKSTRAT_TRACEBACK=1 and run again to see where it arose.",
            file=sys.stderr,
        )
        return EXIT_STOPPED
    except (RunInterrupted, KeyboardInterrupt) as interrupt:
        code = interrupt.exit_code if isinstance(interrupt, RunInterrupted) else 130
        name = interrupt.signal_name if isinstance(interrupt, RunInterrupted) else "SIGINT"
        print(
            f"riskstrat: stopped by {name}. Nothing partial was kept: the next run does the "
            "interrupted work again.",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        # The interrupted job's worker thread may still be inside a step; leave without
        # waiting for it (its DuckDB transaction rolls back, the home's lock is released).
        os._exit(code)


def hide_dagster_notices() -> None:
    """Dagster's preview and beta notices (partitioned asset checks, backfill policies) are
    for the developers of riskstrat, not for the person running a month: hidden by their
    category alone, so every other warning, Dagster's deprecations included, still shows.
    They stay visible under pytest, `dg dev` and `dg check defs`."""
    import dagster as dg

    for category in (dg.PreviewWarning, dg.BetaWarning):
        warnings.filterwarnings("ignore", category=category)


@contextmanager
def signals_stop_the_run() -> Iterator[None]:
    """SIGINT and SIGTERM raise RunInterrupted in the main thread while a command runs."""

    def stop(number: int, _frame: FrameType | None) -> None:
        raise RunInterrupted(number)

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, stop)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least `minimum`, or a one-line error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: it must be at least {minimum}")
        return value

    return parse


def extract_month(text: str) -> str:
    """An argparse type: a month as YYYY-MM (01 to 12)."""
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a month: give it as YYYY-MM, with the month 01 to 12"
        )
    return text


def seconds(text: str) -> float:
    """An argparse type: a number of seconds, zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not zero or more seconds")
    return value


def package_version() -> str:
    from warehouse.quality import installed_version

    return installed_version()


def add_zone_arguments(
    command: argparse.ArgumentParser, *, fewest_months: int, for_lists: str
) -> None:
    """--people, --months and --seed: the size and randomness of a generated zone."""
    command.add_argument(
        "--people",
        type=whole_number(10),
        default=50_000,
        metavar="N",
        help="people in the synthetic population at the start, at least 10 (default 50,000)",
    )
    command.add_argument(
        "--months",
        type=whole_number(fewest_months),
        default=36,
        metavar="M",
        help=f"extract months to generate, at least {fewest_months} (default 36); the model "
        f"trains once 25 months are loaded, so {for_lists}",
    )
    command.add_argument(
        "--seed",
        type=whole_number(0),
        default=42,
        metavar="S",
        help="random seed: the same seed gives a byte-identical zone (default 42)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="riskstrat", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"riskstrat {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    generate = commands.add_parser(
        "generate",
        help="write a synthetic landing zone and truth.csv",
        description="Write a synthetic landing zone (docs/landing-zone.md) and the generator's "
        "truth.csv, as data suppliers would deliver them.",
    )
    generate.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="writes DIR/landing/ and DIR/truth.csv (and DIR/faults.json with --faults)",
    )
    add_zone_arguments(generate, fewest_months=1, for_lists="a list needs 25 or more")
    generate.add_argument(
        "--start",
        type=extract_month,
        default="2023-01",
        metavar="YYYY-MM",
        help="first extract month (default 2023-01)",
    )
    generate.add_argument(
        "--faults",
        action="store_true",
        help="inject realistic delivery faults, listed in DIR/faults.json",
    )
    generate.set_defaults(handler=command_generate)

    run = commands.add_parser(
        "run",
        help="load, validate, model and publish every delivered month",
        description="Load each month folder of the landing zone the home does not hold yet, "
        "then train and publish the lists as the planner decides (docs/architecture.md).",
    )
    run.add_argument(
        "--landing",
        type=Path,
        required=True,
        metavar="DIR",
        help="the landing zone: DIR/reference/ and DIR/extracts/<YYYY-MM>/ (docs/landing-zone.md)",
    )
    run.add_argument(
        "--home",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where the warehouse, reports and outbox live (default $RISKSTRAT_HOME, "
        f"else ./{DEFAULT_HOME})",
    )
    run.add_argument(
        "--truth",
        type=Path,
        default=None,
        metavar="FILE",
        help="a synthetic zone's truth.csv, for the oracle in the evaluation "
        "(default: truth.csv beside the landing folder, if there is one)",
    )
    run.add_argument(
        "--wait",
        type=seconds,
        default=0.0,
        metavar="SECONDS",
        help="if another run holds the home, wait up to this long (default: stop at once)",
    )
    run.add_argument(
        "--reload",
        action="store_true",
        help="load every month folder again, not only new and re-delivered months",
    )
    run.set_defaults(handler=command_run)

    add_evaluate_command(commands)

    demo = commands.add_parser(
        "demo",
        help="generate a zone with faults, then publish its last two months",
        description="Generate a synthetic zone with delivery faults into HOME/demo-data/ and run "
        "everything on it in two deliveries, so the lists show what changed since last month "
        "and the data-quality reports show quarantine at work.",
    )
    demo.add_argument(
        "--home",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"where everything goes (default $RISKSTRAT_HOME, else ./{DEFAULT_HOME})",
    )
    add_zone_arguments(
        demo,
        fewest_months=3,
        for_lists="two months' lists need 27 or more (the last month arrives incomplete)",
    )
    demo.set_defaults(handler=command_demo)
    add_review_commands(commands)
    return parser


def add_review_commands(commands: argparse._SubParsersAction) -> None:
    """`riskstrat serve` and `riskstrat users add|disable|list` (the review app, docs/review.md)."""
    serve = commands.add_parser("serve", help="serve the review app (loopback by default)")
    serve.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback only)")
    serve.add_argument("--port", type=whole_number(1), default=8000, help="default 8000")
    serve.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="session cookie without Secure, for plain http on the loopback interface only",
    )
    serve.set_defaults(handler=command_serve)

    simulate = commands.add_parser(
        "simulate-reviews", help="record synthetic review decisions on the current lists (demo)"
    )
    simulate.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    simulate.add_argument(
        "--seed", type=whole_number(0), default=42, help="seed of the decisions (default 42)"
    )
    simulate.set_defaults(handler=command_simulate_reviews)

    users = commands.add_parser("users", help="manage the review app's accounts")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an account for one practice or one federation")
    add.add_argument("username")
    scope = add.add_mutually_exclusive_group(required=True)
    scope.add_argument("--practice", metavar="CODE", help="a practice account (its list only)")
    scope.add_argument("--federation", metavar="CODE", help="a federation account (counts only)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of asking twice",
    )
    add.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    add.set_defaults(handler=command_users_add)
    disable = actions.add_parser("disable", help="disable an account and end its sessions")
    disable.add_argument("username")
    disable.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    disable.set_defaults(handler=command_users_disable)
    listing = actions.add_parser("list", help="list the accounts")
    listing.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    listing.set_defaults(handler=command_users_list)


def resolve_home(home: Path | None) -> Path:
    return (home or Path(os.environ.get("RISKSTRAT_HOME", DEFAULT_HOME))).resolve()


def settings_from_environment(landing: Path) -> RunSettings:
    """The operating settings a data team may set for every run (the same variables the
    Dagster code location reads): the only place outside Dagster that reads them."""
    from pipelines.resources import RunSettings

    defaults = RunSettings(landing=str(landing))
    return RunSettings(
        landing=str(landing),
        retrain_every_months=int(
            os.environ.get("RISKSTRAT_RETRAIN_EVERY", defaults.retrain_every_months)
        ),
        drift_threshold=float(
            os.environ.get("RISKSTRAT_DRIFT_THRESHOLD", defaults.drift_threshold)
        ),
        pseudonym_key=os.environ.get("RISKSTRAT_PSEUDONYM_KEY", ""),
    )


def command_generate(arguments: argparse.Namespace) -> int:
    from synthetic import generate

    started = time.monotonic()
    summary = generate(
        arguments.out,
        people=arguments.people,
        months=arguments.months,
        seed=arguments.seed,
        start=arguments.start,
        faults=arguments.faults,
    )
    print(
        f"Generated {summary.people:,} people over {summary.months} months "
        f"in {time.monotonic() - started:.1f} s:\n  landing zone {arguments.out / 'landing'}\n"
        f"  truth        {arguments.out / 'truth.csv'}"
    )
    return 0


def command_run(arguments: argparse.Namespace) -> int:
    home = resolve_home(arguments.home)
    landing = arguments.landing.resolve()
    if not landing.is_dir():
        raise RunStopped(f"The landing zone {landing} does not exist.")
    truth = arguments.truth.resolve() if arguments.truth else None
    if truth is not None and not truth.is_file():
        raise RunStopped(
            f"--truth {truth} is not a file: give the zone's truth.csv, or leave it out."
        )
    check_home(home)
    print(f"Running every delivered month of {landing} into {home} ...", flush=True)
    summary = run_with_progress(
        landing=landing,
        home=home,
        truth=truth,
        wait_seconds=arguments.wait,
        reload=arguments.reload,
        settings=settings_from_environment(landing),
    )
    print(summary)
    return 0


def command_demo(arguments: argparse.Namespace) -> int:
    """Two deliveries of one generated zone: every month but the latest, then the latest."""
    from synthetic import generate
    from warehouse.deliveries import delivered_months

    home = resolve_home(arguments.home)
    check_home(home)
    data = home / "demo-data"
    landing, withheld = data / "landing", data / "next-delivery"
    print(
        f"Generating {arguments.people:,} synthetic people over {arguments.months} months, "
        f"with delivery faults, into {data} ...",
        flush=True,
    )
    shutil.rmtree(withheld, ignore_errors=True)  # left by a demo that was stopped
    generate(
        data, people=arguments.people, months=arguments.months, seed=arguments.seed, faults=True
    )
    delivered = delivered_months(landing)
    if len(delivered) > 1:
        latest = delivered[-1]
        move_months(landing / "extracts", withheld, lambda month: month >= latest)
        print(f"The demo's first delivery: every month before {latest} ...", flush=True)
        run_with_progress(
            landing=landing,
            home=home,
            truth=data / "truth.csv",
            settings=settings_from_environment(landing),
        )
        reviewed = record_synthetic_reviews(home, arguments.seed)
        print(
            f"Community physicians review the first lists: {reviewed:,} synthetic decisions "
            "(riskstrat serve shows them beside the next month's list) ...",
            flush=True,
        )
        move_months(withheld, landing / "extracts", lambda month: True)
        print(f"The demo's second delivery: {latest}, a month later ...", flush=True)
    summary = run_with_progress(
        landing=landing,
        home=home,
        truth=data / "truth.csv",
        settings=settings_from_environment(landing),
    )
    shutil.rmtree(withheld, ignore_errors=True)
    print(summary)
    return 0


def command_serve(arguments: argparse.Namespace) -> int:
    from review.app import ReviewSettings
    from review.server import ServeError, serve
    from warehouse.home import owner_only_files

    home = resolve_home(arguments.home)
    if not home.is_dir():
        raise RunStopped(f"The home {home} does not exist: run the pipeline first.")
    settings = ReviewSettings(
        home=home,
        secure_cookies=not arguments.insecure_cookies,
        pseudonym_key=os.environ.get("RISKSTRAT_PSEUDONYM_KEY") or None,
    )
    print(f"Serving the review app of {home} on http://{arguments.host}:{arguments.port}/ ...")
    try:
        with owner_only_files():
            serve(settings, arguments.host, arguments.port)
    except ServeError as error:
        raise RunStopped(str(error)) from None
    return 0


def command_simulate_reviews(arguments: argparse.Namespace) -> int:
    home = resolve_home(arguments.home)
    recorded = record_synthetic_reviews(home, arguments.seed)
    print(f"Recorded {recorded:,} synthetic review decisions on the current lists of {home}.")
    return 0


def record_synthetic_reviews(root: Path, seed: int) -> int:
    """Plausible review decisions on the home's current lists (review.synthetic)."""
    from lists.pseudonyms import pseudonym_key
    from review.synthetic import synthetic_reviews
    from warehouse.home import Home, owner_only_files

    home = Home.at(root)
    if not home.has_warehouse():
        raise RunStopped(f"The home {home.root} has no warehouse: run the pipeline first.")
    with owner_only_files():
        key = pseudonym_key(home, os.environ.get("RISKSTRAT_PSEUDONYM_KEY") or None)
        return synthetic_reviews(home, key, seed)


def command_users_add(arguments: argparse.Namespace) -> int:
    from getpass import getpass

    from review.accounts import AccountError, add_user
    from review.store import open_store
    from warehouse.home import Home, owner_only_files

    if arguments.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass("Password: ")
        if getpass("Password again: ") != password:
            raise RunStopped("The two passwords differ: no account was made.")
    home = Home.at(resolve_home(arguments.home)).ensure()
    try:
        with owner_only_files(), open_store(home) as store:
            user = add_user(
                store,
                arguments.username,
                password,
                practice_code=arguments.practice,
                federation_code=arguments.federation,
            )
    except AccountError as error:
        raise RunStopped(str(error)) from None
    print(f"Added {user.describe()}")
    return 0


def command_users_disable(arguments: argparse.Namespace) -> int:
    from review.accounts import AccountError, disable_user
    from review.store import open_store
    from warehouse.home import Home, owner_only_files

    home = Home.at(resolve_home(arguments.home))
    try:
        with owner_only_files(), open_store(home) as store:
            disable_user(store, arguments.username)
    except AccountError as error:
        raise RunStopped(str(error)) from None
    print(f"Disabled {arguments.username}; its sessions have ended.")
    return 0


def command_users_list(arguments: argparse.Namespace) -> int:
    from review.accounts import list_users
    from review.store import open_store
    from warehouse.home import Home, owner_only_files

    with owner_only_files(), open_store(Home.at(resolve_home(arguments.home))) as store:
        users = list_users(store)
    for user in users:
        print(user.describe())
    if not users:
        print("No accounts yet: add one with `riskstrat users add`.")
    return 0


def add_evaluate_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="score another landing zone with the home's current model, without training",
    )
    evaluate.add_argument("--landing", type=Path, required=True, help="the other landing zone")
    evaluate.add_argument(
        "--home", type=Path, default=None, help=f"default $RISKSTRAT_HOME or ./{DEFAULT_HOME}"
    )
    evaluate.add_argument(
        "--truth", type=Path, default=None, help="default: truth.csv beside the landing folder"
    )
    evaluate.add_argument(
        "--out", type=Path, default=None, help="default HOME/reports/external/<zone folder name>"
    )
    evaluate.set_defaults(handler=command_evaluate)


def command_evaluate(arguments: argparse.Namespace) -> int:
    """External validation: the current model, unchanged, on another zone (models.external)."""
    from models.external import evaluate_landing_zone
    from models.registry import current_version
    from models.training import NotEnoughHistory
    from warehouse.home import Home

    home = Home.at(resolve_home(arguments.home))
    landing = arguments.landing.resolve()
    if not (landing / "extracts").is_dir():
        raise RunStopped(f"{landing} is not a landing zone: it has no extracts/ folder.")
    if current_version(home.models) is None:
        raise RunStopped(f"{home.models} has no current model: run riskstrat run first.")
    truth = arguments.truth or landing.parent / "truth.csv"
    out = arguments.out or home.reports / "external" / landing.parent.name
    try:
        report = evaluate_landing_zone(
            landing, home.models, out.resolve(), truth=truth if truth.is_file() else None
        )
    except NotEnoughHistory as error:
        raise RunStopped(str(error)) from None
    validation, oracle = report["validation"], report["oracle"]
    low, high = validation["auroc_ci"]
    print(
        f"Model {report['model_version']} on {landing} at {report['validation_index_date']}: "
        f"AUROC {validation['auroc']:.3f} ({low:.3f}-{high:.3f}), calibration slope "
        f"{validation['calibration_slope']:.2f}"
        + (f", oracle {oracle['auroc']:.3f}" if oracle else "")
        + f".\n  reports {out}"
    )
    return 0


def move_months(source: Path, target: Path, chosen: Callable[[str], bool]) -> None:
    """Move the chosen YYYY-MM month folders of `source` into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for folder in sorted(source.iterdir()):
        if folder.is_dir() and re.fullmatch(r"\d{4}-\d{2}", folder.name) and chosen(folder.name):
            folder.rename(target / folder.name)


def check_home(home: Path) -> None:
    """Stop before anything is written when the home cannot be one."""
    if home.exists() and not home.is_dir():
        raise RunStopped(f"The home {home} is a file, not a folder: give --home a folder.")


def run_with_progress(**run: Any) -> RunSummary:
    """run_pipeline with a progress display: a live bar on a terminal, else plain lines."""
    hide_dagster_notices()
    from rich.console import Console

    from pipelines.progress import display_for
    from pipelines.runner import run_pipeline

    display = display_for(Console())
    try:
        return run_pipeline(progress=display, **run)
    finally:
        display.close()


def command() -> NoReturn:
    """The `riskstrat` command (pyproject's script, and `python -m pipelines.cli`)."""
    leave(main())


def leave(code: int) -> NoReturn:
    """Exit with `code` the way the interpreter would, without its teardown.

    Everything registered to run at exit runs first (atexit handlers: logging's flush,
    pending `weakref.finalize` calls such as temporary directories' removal), then the
    standard streams are flushed; as with Python's own exit, output that cannot be written
    (a full disk, a closed pipe) makes the exit code 120. What is skipped is the
    interpreter's own teardown: the collections over every object Dagster, Great
    Expectations and LightGBM made, 1.2 s of every run for memory the process is about to
    give back (benchmarks/exit_time.py). If a thread that Python would wait for is still
    running, the ordinary exit is taken instead, and waits for it. Only for the command
    itself: a caller in-process (a test) calls `main` and keeps its interpreter.
    """
    waited_for = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]
    if waited_for:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except (OSError, ValueError):  # what Python's exit does when stdout cannot be flushed
        code = 120
    with suppress(OSError, ValueError):  # and, as there, stderr's failure is ignored
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    command()
