"""The riskstrat command line: exit codes and messages a person can act on."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main, settings_from_environment
from pipelines.resources import RunSettings
from pipelines.runner import run_settings
from tests import supplier


@dataclass(frozen=True)
class LoadedHome:
    """A landing zone of two months and one without its manifest, and the home one
    in-process `riskstrat run` made of it."""

    landing: Path
    home: Path
    code: int
    out: str
    environment_after: dict[str, str]


@pytest.fixture(scope="module")
def loaded_home(tmp_path_factory: pytest.TempPathFactory) -> LoadedHome:
    """One pipeline run for the module's tests (each run costs ~20 s of CPU); a test that
    changes the zone or the home works on a copy (`copy_of`)."""
    root = tmp_path_factory.mktemp("loaded_home")
    landing, home = root / "landing", root / "home"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    supplier.write_month(landing, "2024-03", supplier.month_files("2024-03"), manifest=None)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name in ("DAGSTER_HOME", "RISKSTRAT_HOME", "RISKSTRAT_LANDING", "RISKSTRAT_TRUTH"):
            monkeypatch.delenv(name, raising=False)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["run", "--landing", str(landing), "--home", str(home)])
        environment_after = dict(os.environ)
    return LoadedHome(landing, home, code, out.getvalue(), environment_after)


def copy_of(loaded: LoadedHome, folder: Path) -> tuple[Path, Path]:
    """The landing zone and home, copied into `folder`: (landing, home)."""
    landing = shutil.copytree(loaded.landing, folder / "landing")
    home = shutil.copytree(loaded.home, folder / "home")
    return landing, home


def test_run_loads_a_landing_zone_and_records_dagster_history(loaded_home: LoadedHome):
    home = loaded_home.home
    assert loaded_home.code == 0
    assert "2024-03 (incomplete)" in loaded_home.out
    assert (
        json.loads((home / "reports" / "deliveries" / "2024-02.json").read_text())["status"]
        == "loaded"
    )
    assert (
        json.loads((home / "reports" / "deliveries" / "2024-03.json").read_text())["status"]
        == "incomplete"
    )
    assert (home / "warehouse.duckdb").is_file()
    assert any((home / "dagster").rglob("*.db")), "run history should be kept under the home"
    after = loaded_home.environment_after
    assert "DAGSTER_HOME" not in after, "the run should restore the caller's environment"
    assert "RISKSTRAT_HOME" not in after


def test_run_with_a_broken_reference_file_stops_with_one_paragraph(tmp_path: Path, capsys):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    (landing / "reference" / "lsoa_imd.csv").write_text("lsoa_code\nE01000001\n")

    code = main(["run", "--landing", str(landing), "--home", str(tmp_path / "home")])

    err = capsys.readouterr().err
    assert code == 1
    assert "reference/lsoa_imd.csv" in err
    assert "imd_decile" in err
    assert "Traceback" not in err


def test_run_on_a_missing_landing_zone_says_so(tmp_path: Path, capsys):
    code = main(["run", "--landing", str(tmp_path / "nowhere"), "--home", str(tmp_path / "home")])
    assert code == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argument", "value", "problem"),
    [
        ("--start", "2023-13", "is not a month: give it as YYYY-MM"),
        ("--people", "-5", "-5 is too small: it must be at least 10"),
        ("--months", "0", "0 is too small: it must be at least 1"),
        ("--people", "many", "'many' is not a whole number"),
    ],
)
def test_generate_with_a_bad_argument_says_which_and_why(
    tmp_path: Path, capsys, argument: str, value: str, problem: str
):
    with pytest.raises(SystemExit) as exit_:
        main(["generate", "--out", str(tmp_path / "zone"), argument, value])

    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {argument}: " in err and problem in err
    assert "Traceback" not in err
    assert not (tmp_path / "zone").exists()


RISKSTRAT = [sys.executable, "-m", "pipelines.cli"]


def riskstrat_run(landing: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_failing_step_on_an_existing_home_prints_one_paragraph(
    loaded_home: LoadedHome, tmp_path: Path
):
    """The reference step fails on a home whose Data Docs exist: no GX tracebacks (the
    Data Docs rebuild), no skipped-step lines, no preview warnings; one paragraph."""
    landing, home = copy_of(loaded_home, tmp_path)
    (landing / "reference" / "practices.csv").write_text("practice_code,practice_name\nA1,x\n")

    broken = riskstrat_run(landing, home)

    assert broken.returncode == 1
    assert "Traceback" not in broken.stderr
    assert broken.stderr.strip().splitlines() == [
        f"riskstrat: stopped. reference_job: {landing}/reference/practices.csv: missing required "
        "column(s): federation_code, federation_name, vanguard."
    ]

    (home / "warehouse.duckdb").write_bytes(b"not a DuckDB file" * 100)
    corrupt = riskstrat_run(landing, home)

    assert corrupt.returncode == 1
    assert "Traceback" not in corrupt.stderr
    assert len(corrupt.stderr.strip().splitlines()) == 1
    assert "warehouse.duckdb" in corrupt.stderr


def test_the_operating_settings_reach_the_assets(tmp_path: Path, monkeypatch):
    """RISKSTRAT_* variables and --truth reach the assets through the settings resource
    (a model_copy of a Dagster resource silently kept its original values)."""
    monkeypatch.setenv("RISKSTRAT_PSEUDONYM_KEY", "k" * 40)
    monkeypatch.setenv("RISKSTRAT_RETRAIN_EVERY", "5")
    monkeypatch.setenv("RISKSTRAT_DRIFT_THRESHOLD", "0.3")
    seen: dict[str, object] = {}

    @dg.asset
    def probe(settings: RunSettings) -> None:
        seen.update(settings.model_dump())

    settings = run_settings(settings_from_environment(tmp_path), tmp_path, tmp_path / "t.csv")
    assert dg.materialize([probe], resources={"settings": settings}).success
    assert seen["pseudonym_key"] == "k" * 40
    assert (seen["retrain_every_months"], seen["drift_threshold"]) == (5, 0.3)
    assert seen["truth"] == str(tmp_path / "t.csv")


@pytest.fixture
def no_home_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder, where a run without --home or $RISKSTRAT_HOME makes its home."""
    monkeypatch.delenv("RISKSTRAT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "riskstrat-home"


@pytest.mark.parametrize(
    ("zone", "problem"),
    [
        ((), "is not a landing zone: it holds no extracts/ folder"),
        (("reference",), "is not a landing zone: it holds no extracts/ folder"),
        (("reference", "extracts"), "extracts holds no YYYY-MM month folders: nothing to load"),
    ],
    ids=["empty_folder", "no_extracts", "no_months"],
)
def test_run_on_a_folder_that_is_no_landing_zone_stops_before_making_a_home(
    tmp_path: Path, capsys, no_home_set: Path, zone: tuple[str, ...], problem: str
):
    folder = tmp_path / "not-a-zone"
    folder.mkdir()
    for name in zone:
        (folder / name).mkdir()

    code = main(["run", "--landing", str(folder)])

    err = capsys.readouterr().err
    assert code == 1
    assert problem in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not no_home_set.exists(), "a run that cannot start made ./riskstrat-home/"


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--truth", "missing.csv"], "missing.csv is not a file"),
        (["--home", "a-file"], "a-file is a file, not a folder"),
    ],
)
def test_run_with_a_path_that_cannot_be_used_says_which(
    tmp_path: Path, capsys, no_home_set: Path, arguments: list[str], problem: str
):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    (tmp_path / "a-file").write_text("not a home\n")

    code = main(["run", "--landing", str(landing), *arguments])

    err = capsys.readouterr().err
    assert code == 1
    assert problem in err and "Traceback" not in err
    assert not no_home_set.exists()


@pytest.mark.parametrize(
    ("command", "argument", "value", "problem"),
    [
        ("run", "--wait", "-1", "-1 is not zero or more seconds"),
        ("run", "--wait", "soon", "'soon' is not a number of seconds"),
        ("demo", "--months", "2", "2 is too small: it must be at least 3"),
        ("demo", "--seed", "x", "'x' is not a whole number"),
    ],
)
def test_run_and_demo_with_a_bad_argument_say_which_and_why(
    tmp_path: Path, capsys, no_home_set: Path, command: str, argument: str, value: str, problem: str
):
    landing = ["--landing", str(tmp_path)] if command == "run" else []

    with pytest.raises(SystemExit) as exit_:
        main([command, *landing, argument, value])

    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {argument}: {problem}" in err
    assert not no_home_set.exists()


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"riskstrat {version('riskstrat')}"


def test_every_argument_of_every_command_has_help_text():
    from pipelines.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = [
        f"{name} {'/'.join(action.option_strings)}"
        for name, command in commands.choices.items()
        for action in command._actions
        if action.option_strings and not action.help
    ]
    assert missing == []
    assert {action.dest for action in commands._choices_actions} == set(commands.choices)
    assert all(action.help for action in commands._choices_actions)


def test_dagster_preview_and_beta_notices_are_hidden_and_no_other_warning():
    from pipelines.cli import hide_dagster_notices

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        hide_dagster_notices()
        warnings.warn("partitioned checks are in preview", dg.PreviewWarning, stacklevel=1)
        warnings.warn("backfill_policy is in beta", dg.BetaWarning, stacklevel=1)
        warnings.warn("partitions_def is deprecated", DeprecationWarning, stacklevel=1)
        warnings.warn("a warning of the pipeline's own", UserWarning, stacklevel=1)

    assert [str(warning.message) for warning in shown] == [
        "partitions_def is deprecated",
        "a warning of the pipeline's own",
    ]


LEAVING = """
import atexit, sys, tempfile, threading, time
from pathlib import Path
from pipelines.cli import leave
marker = Path(sys.argv[1])
atexit.register(lambda: marker.with_suffix(".atexit").write_text("ran"))
kept = tempfile.TemporaryDirectory(dir=marker.parent)  # removed by its finalizer at exit
marker.with_suffix(".tmpdir").write_text(kept.name)
if sys.argv[2] == "thread":
    def late() -> None:
        time.sleep(0.5)
        marker.with_suffix(".thread").write_text("finished")
    threading.Thread(target=late).start()
if sys.argv[2] == "unwritable":
    class Unwritable:
        def write(self, text):
            return len(text)
        def flush(self):
            raise OSError(28, "No space left on device")
    sys.stdout = Unwritable()
sys.stdout.write("written, not flushed")
sys.stderr.write("to stderr")
leave(3)
"""


@pytest.mark.parametrize("way", ["plain", "thread", "unwritable"])
def test_the_command_leaves_with_its_code_after_every_exit_handler_and_flush(
    tmp_path: Path, way: str
):
    """`leave` skips only the interpreter's teardown: the exit code (120 when stdout cannot
    be flushed, as Python's own exit), the atexit handlers, the finalizers (a temporary
    directory removed), unflushed output and a thread Python would wait for all come out as
    with an ordinary exit."""
    marker = tmp_path / "marker"
    left = subprocess.run(
        [sys.executable, "-c", LEAVING, str(marker), way],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert left.returncode == (120 if way == "unwritable" else 3)
    assert left.stdout == ("" if way == "unwritable" else "written, not flushed")
    assert left.stderr == "to stderr"
    assert marker.with_suffix(".atexit").read_text() == "ran"
    assert not Path(marker.with_suffix(".tmpdir").read_text()).exists()
    assert marker.with_suffix(".thread").exists() == (way == "thread")
    if way == "thread":
        assert marker.with_suffix(".thread").read_text() == "finished"


def test_the_riskstrat_command_is_main_then_leave() -> None:
    """The installed script and `python -m pipelines.cli` exit through `leave`; callers
    in-process call `main` and keep their interpreter."""
    import tomllib

    from pipelines import cli

    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["riskstrat"] == "pipelines.cli:command"
    leaving = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(cli, "main", lambda: 4)
        monkeypatch.setattr(cli, "leave", leaving.append)
        cli.command()
    assert leaving == [4]
