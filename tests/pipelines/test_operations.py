"""The code location as the Dagster CLI sees it: it validates, and lists the schedule and sensors.

The three `dagster` commands each load the code location in a fresh process (~15 s), so
they start together and the tests read their outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

DAGSTER = str(Path(sys.executable).parent / "dagster")
COMMANDS = {
    "validate": ["definitions", "validate"],
    "schedules": ["schedule", "list"],
    "sensors": ["sensor", "list"],
}


@pytest.fixture(scope="module")
def outputs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, subprocess.CompletedProcess[str]]]:
    root = tmp_path_factory.mktemp("code_location")
    environment = {
        **os.environ,
        "RISKSTRAT_HOME": str(root / "home"),
        "RISKSTRAT_LANDING": str(root / "landing"),
    }
    started = {}
    for name, command in COMMANDS.items():
        # One Dagster instance each: instances created at the same moment race on their schema.
        (root / f"dagster-{name}").mkdir()
        started[name] = subprocess.Popen(
            [DAGSTER, *command, "-m", "pipelines.definitions"],
            env={**environment, "DAGSTER_HOME": str(root / f"dagster-{name}")},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    finished = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=240)
        finished[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    yield finished


def test_dagster_definitions_validate_passes(outputs: dict[str, subprocess.CompletedProcess[str]]):
    result = outputs["validate"]
    assert result.returncode == 0, result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_dagster_schedule_list_shows_the_monthly_schedule(
    outputs: dict[str, subprocess.CompletedProcess[str]],
):
    result = outputs["schedules"]
    assert result.returncode == 0, result.stderr
    assert "Schedule: monthly_schedule" in result.stdout
    assert "0 6 10 * *" in result.stdout


def test_dagster_sensor_list_shows_the_sensors(
    outputs: dict[str, subprocess.CompletedProcess[str]],
):
    result = outputs["sensors"]
    assert result.returncode == 0, result.stderr
    for sensor in ("landing_zone_sensor", "month_loaded_sensor", "model_trained_sensor"):
        assert f"Sensor: {sensor}" in result.stdout
