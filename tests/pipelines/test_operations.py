"""The code location as the Dagster CLI sees it: it validates, and holds the schedule and sensors.

`dagster definitions validate` loads the code location in a fresh process (~15 s of CPU), so
the suite runs it once; the schedule and sensors are read from the repository the same
module builds (what `dagster schedule list` and `dagster sensor list` print), in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DAGSTER = str(Path(sys.executable).parent / "dagster")


def test_dagster_definitions_validate_passes(tmp_path: Path):
    (tmp_path / "dagster").mkdir()
    environment = os.environ | {
        "DAGSTER_HOME": str(tmp_path / "dagster"),
        "RISKSTRAT_HOME": str(tmp_path / "home"),
        "RISKSTRAT_LANDING": str(tmp_path / "landing"),
    }
    result = subprocess.run(
        [DAGSTER, "definitions", "validate", "-m", "pipelines.definitions"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_the_code_location_holds_the_monthly_schedule():
    from pipelines.definitions import defs

    [schedule] = defs.get_repository_def().schedule_defs
    assert schedule.name == "monthly_schedule"
    assert schedule.cron_schedule == "0 6 10 * *"


def test_the_code_location_holds_the_sensors():
    from pipelines.definitions import defs

    names = {sensor.name for sensor in defs.get_repository_def().sensor_defs}
    assert {"landing_zone_sensor", "month_loaded_sensor", "model_trained_sensor"} <= names
