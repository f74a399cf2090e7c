"""`riskstrat run` shows its progress as it goes (plain lines off a terminal, a live bar on
one), each warning as one clean line, and ends with a summary naming each user's outputs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines import cli
from tests import supplier

RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def landing_with_a_rejected_file(folder: Path) -> Path:
    """One month whose sus/admissions.csv changed after its manifest was written."""
    landing = folder / "landing"
    supplier.write_landing(landing, months=("2024-01",))
    admissions = landing / "extracts" / "2024-01" / "sus" / "admissions.csv"
    admissions.write_bytes(
        admissions.read_bytes() + b"SP-late,9990000018,A10001,RF4,2024-01-20,,21,J44.1\r\n"
    )
    return landing


def test_off_a_terminal_run_prints_plain_progress_clean_warnings_and_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landing = landing_with_a_rejected_file(tmp_path)
    home = tmp_path / "home"

    code = cli.main(["run", "--landing", str(landing), "--home", str(home)])

    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    [steps] = re.findall(r"^\[1/2\+\] reference_job: started \((\d+) steps\)$", out, re.M)
    assert any(
        line.startswith(f"[1/2+] reference_job: step 1 of {steps}, reference_data")
        for line in lines
    )
    assert any(line.startswith("[1/2+] reference_job: done in ") for line in lines)
    assert any(line.startswith("[2/2+] monthly_job for 2024-01: done in ") for line in lines)
    assert out.index("monthly_job for 2024-01: done") < out.index("riskstrat: 1 month(s)")
    # The rejected file: one clean line, not a Dagster log line with its run id.
    [warning] = [line for line in lines if line.startswith("warning: ")]
    assert warning.startswith("warning: 2024-01/sus/admissions.csv rejected: ")
    assert "sha256" in warning
    assert not RUN_ID.search(out + err)
    assert "admissions.csv" not in err, "warnings are told once, by the progress display"
    # The closing summary names each user's outputs.
    assert "1 file(s) rejected" in out
    assert "For auditors" in out
    assert f"data quality         {home / 'reports' / 'data_quality' / 'index.html'}" in out
    assert f"Data Docs            {home / 'reports' / 'data_docs' / 'index.html'}" in out
    assert "For GPs and GP federations: no list yet (no model has been trained)" in out
    assert f"delivery reports     {home / 'reports' / 'deliveries'}/" in out


def test_on_a_terminal_run_draws_a_live_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats captured stdout as a terminal
    monkeypatch.setenv("COLUMNS", "160")
    landing = tmp_path / "landing"
    supplier.write_landing(landing, months=("2024-01",))

    code = cli.main(["run", "--landing", str(landing), "--home", str(tmp_path / "home")])

    out = capsys.readouterr().out
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert code == 0
    assert "\x1b[?25l" in out, "the live bar hides the cursor while it draws"
    assert re.search(r"\[2/2\+\] \S+ \d+/\d+ steps \d:\d\d:\d\d elapsed", plain)
    assert "monthly_job for 2024-01: step " in plain
    assert "riskstrat: 1 month(s)" in plain
