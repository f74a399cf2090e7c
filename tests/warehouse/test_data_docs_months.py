"""Each month's Great Expectations results at a fixed address: reports/data_docs/months/<month>.html.

GX names a validation page by its run time, so the month report used to link to the Data
Docs index. These tests lay out a result store as GX writes it (suite folders
``<feed>/<critical|warnings>``, run names ``<month>-<feed>`` or ``<first>..<last>-<feed>``)
and check which results each month's page lists, that the newest is marked current and
the rest superseded, and that a month with a report but no suite result still gets a page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from warehouse.data_docs import month_page, write_month_pages
from warehouse.months import month_range


def store_result(
    home: Path, feed: str, severity: str, run_name: str, run_time: str, *, success: bool
) -> str:
    """Write one stored result as GX does; return its page's address from a month page."""
    folder = home / "gx/uncommitted/validations" / feed / severity / run_name / run_time
    folder.mkdir(parents=True)
    statistics = {"evaluated_expectations": 7, "unsuccessful_expectations": 0 if success else 2}
    document = {"success": success, "statistics": statistics}
    (folder / f"staged-staged_{feed}.json").write_text(json.dumps(document))
    return f"../validations/{feed}/{severity}/{run_name}/{run_time}/staged-staged_{feed}.html"


def rows(page: Path) -> list[str]:
    html = page.read_text(encoding="utf-8")
    return [
        " ".join(re.sub(r"<[^>]+>", " ", r).split())
        for r in re.findall(r"<tr class.*?</tr>", html, re.S)
    ]


def test_month_range_counts_every_month_across_a_year() -> None:
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert month_range("2024-05", "2024-05") == ["2024-05"]


def test_each_month_lists_the_results_that_read_it_newest_first(tmp_path: Path) -> None:
    home = tmp_path
    first = "20261130T010000.000000Z"
    rerun = "20261130T020000.000000Z"
    range_critical = store_result(
        home, "admissions", "critical", "2023-01..2023-03-admissions", first, success=True
    )
    range_warnings = store_result(
        home, "admissions", "warnings", "2023-01..2023-03-admissions", first, success=False
    )
    redelivered = store_result(
        home, "admissions", "critical", "2023-02-admissions", rerun, success=True
    )
    store_result(home, "practices", "critical", "reference-practices", first, success=True)
    reports = home / "reports" / "data_quality"
    reports.mkdir(parents=True)
    for month in ("2023-01", "2023-02", "2023-03", "2023-04"):
        (reports / f"{month}.json").write_text("{}")

    written = write_month_pages(home)

    site = home / "reports" / "data_docs"
    assert [p.name for p in written] == [
        "2023-01.html",
        "2023-02.html",
        "2023-03.html",
        "2023-04.html",
    ]
    january = (site / month_page("2023-01")).read_text(encoding="utf-8")
    assert range_critical in january and range_warnings in january and redelivered not in january
    assert "practices" not in january  # reference files belong to no month
    assert rows(site / month_page("2023-01")) == [
        f"admissions admissions.critical passed 7 0 2023-01 to 2023-03 {first} results",
        f"admissions admissions.warnings warned (staged) 7 2 2023-01 to 2023-03 {first} results",
    ]
    # February was delivered again: its own run is current, the range's results superseded.
    february = rows(site / month_page("2023-02"))
    assert february[0] == f"admissions admissions.critical passed 7 0 2023-02 {rerun} results"
    assert all("(superseded)" in row for row in february[1:]) and len(february) == 3
    assert redelivered in (site / month_page("2023-02")).read_text(encoding="utf-8")
    # April has a report but no suite read it: the page says so rather than being missing.
    april = (site / month_page("2023-04")).read_text(encoding="utf-8")
    assert 'id="no-results"' in april and "<table" not in april


def test_pages_are_rewritten_identically(tmp_path: Path) -> None:
    store_result(
        tmp_path,
        "outpatients",
        "critical",
        "2024-01-outpatients",
        "20261130T010000.000000Z",
        success=False,
    )
    [page] = write_month_pages(tmp_path)
    before = page.read_bytes()
    write_month_pages(tmp_path)
    assert page.read_bytes() == before
    assert "failed" in rows(page)[0]


def test_an_older_homes_combined_results_stay_listed_as_failed_or_warned(tmp_path: Path) -> None:
    """A home made before the severity split stored each feed's results under one suite,
    ``<feed>_contract``, whose failure may be a warning alone: its month pages still list
    those results (the audit record of the months they read), labelled as such."""
    folder = (
        tmp_path
        / "gx/uncommitted/validations/admissions_contract/2023-01..2023-02-admissions"
        / "20261129T230910.398842Z"
    )
    folder.mkdir(parents=True)
    statistics = {"evaluated_expectations": 20, "unsuccessful_expectations": 1}
    (folder / "staged-staged_admissions.json").write_text(
        json.dumps({"success": False, "statistics": statistics})
    )

    written = write_month_pages(tmp_path)

    assert [p.name for p in written] == ["2023-01.html", "2023-02.html"]
    assert rows(written[0]) == [
        "admissions admissions_contract failed or warned (older combined suite) 20 1 "
        "2023-01 to 2023-02 20261129T230910.398842Z results"
    ]
    html = written[0].read_text(encoding="utf-8")
    assert (
        'href="../validations/admissions_contract/2023-01..2023-02-admissions/'
        '20261129T230910.398842Z/staged-staged_admissions.html"' in html
    )
    assert "older riskstrat that checked every rule in one suite" in html


def test_opening_an_older_home_retires_its_combined_suites_and_keeps_their_results(
    tmp_path: Path,
) -> None:
    import great_expectations as gx

    from warehouse import validation

    older = gx.get_context(mode="file", project_root_dir=str(tmp_path))
    older.suites.add(gx.ExpectationSuite(name="admissions_contract"))
    older.suites.add(gx.ExpectationSuite(name="admissions.critical"))
    result = tmp_path / "gx/uncommitted/validations/admissions_contract/r/t/b.json"
    result.parent.mkdir(parents=True)
    result.write_text("{}")

    validation._CONTEXTS.pop(tmp_path.resolve(), None)
    try:
        context = validation._context(tmp_path)
        names = {".".join(key.to_tuple()) for key in context.expectations_store.list_keys()}
    finally:
        validation._CONTEXTS.pop(tmp_path.resolve(), None)

    assert names == {"admissions.critical"}
    assert result.exists()
