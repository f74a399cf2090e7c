"""`riskstrat run` shows a line as each job finishes and ends with a short summary."""

from __future__ import annotations

from pathlib import Path

from pipelines import cli
from tests import supplier


def test_run_shows_progress_and_a_closing_summary(tmp_path: Path, capsys):
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    home = tmp_path / "home"

    code = cli.main(["run", "--landing", str(landing), "--home", str(home)])

    out = capsys.readouterr().out
    assert code == 0
    assert "reference_job: done" in out
    assert "monthly_job for 2024-01: done" in out
    assert out.index("monthly_job for 2024-01") < out.index("riskstrat: 1 month(s)")
    assert "2 people; 0 row(s) quarantined; no model yet" in out
    assert "Data Docs" in out and str(home / "reports" / "data_docs" / "index.html") in out
