"""The riskstrat command line: exit codes and messages a person can act on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.cli import main
from tests import supplier


def test_run_loads_a_landing_zone_and_records_dagster_history(tmp_path: Path, capsys, monkeypatch):
    for name in ("DAGSTER_HOME", "RISKSTRAT_HOME", "RISKSTRAT_LANDING", "RISKSTRAT_TRUTH"):
        monkeypatch.delenv(name, raising=False)
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01", "2024-02"))
    supplier.write_month(landing, "2024-03", supplier.month_files("2024-03"), manifest=None)
    home = tmp_path / "home"

    code = main(["run", "--landing", str(landing), "--home", str(home)])

    out = capsys.readouterr().out
    assert code == 0
    assert "2024-03 (incomplete)" in out
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
    assert "DAGSTER_HOME" not in os.environ, "the run should restore the caller's environment"
    assert "RISKSTRAT_HOME" not in os.environ


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
