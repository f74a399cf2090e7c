"""A GP's list and a federation's summary as their readers see them: headless Chromium at
1,400 px with the network disabled.

- After two published months the list says what changed since last month.
- A row reads on two lines at the demo's usual lengths (reasons of about 95 characters,
  conditions of about 90: the demo's median and 90th centile are 92 and 106 for reasons,
  56 and 91 for conditions), and on no more than four at its longest (125 and 183): so
  ten patients take well under a 900-px screen, where each of the old rows wrapped to
  about five lines.
- The federation table fits the page (scrollWidth <= clientWidth) with long practice
  names and data-quality notes, and no practice name wraps to more than two lines.

Screenshots go to test-artifacts/. Chromium is found, skipped or required as
tests/lists/test_browser.py says.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from lists.federation import build_federation_summaries
from lists.practice_lists import build_practice_lists
from lists.rendering import render_federation_html, render_practice_html
from models.feature_catalogue import CONDITIONS, feature
from tests.lists.conftest import TEST_KEY, TEST_POLICY
from tests.lists.population import SCORE_MONTH
from tests.lists.test_browser import ARTIFACTS, run_chromium
from warehouse.connection import connect
from warehouse.home import Home

# Every request goes to a proxy that is not there: a page that needs the network breaks.
NO_NETWORK = ("--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>")
SCREEN = "--window-size=1400,900"

MEASURE_LIST = """
<script>
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("#risk-list tbody tr[data-tier]"));
  var style = getComputedStyle(rows[0].cells[7]);
  var result = {
    heights: rows.map(function (row) { return row.getBoundingClientRect().height; }),
    line: parseFloat(style.lineHeight),
    padding: parseFloat(style.paddingTop) + parseFloat(style.paddingBottom),
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth
  };
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}());
</script>
"""

MEASURE_FEDERATION = """
<script>
(function () {
  var table = document.getElementById("practice-summary");
  var names = Array.prototype.map.call(table.tBodies[0].rows, function (row) {
    // The text's own height (the cell stretches to its row's tallest cell).
    var cell = row.cells[0], text = document.createRange();
    text.selectNodeContents(cell);
    return text.getBoundingClientRect().height / parseFloat(getComputedStyle(cell).lineHeight);
  });
  var result = {
    scrollWidth: table.scrollWidth,
    clientWidth: table.clientWidth,
    pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    nameLines: names
  };
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}());
</script>
"""


def measured(page: Path, driver: str, tmp_path: Path) -> dict[str, Any]:
    """What the driver script reports about a copy of `page` in Chromium at 1,400 px."""
    driven = tmp_path / f"driven-{page.name}"
    driven.write_text(page.read_text().replace("</body>", driver + "</body>"))
    dom = run_chromium(
        tmp_path / f"profile-{page.stem}", *NO_NETWORK, SCREEN, "--dump-dom", driven.as_uri()
    ).stdout
    found = re.search(r'<pre id="test-result">(.*?)</pre>', dom)
    assert found, "the measuring script did not run"
    result: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"'))
    return result


def screenshot(page: Path, name: str, tmp_path: Path, height: int = 1400) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    shot.unlink(missing_ok=True)
    run_chromium(
        tmp_path / f"profile-shot-{name}",
        *NO_NETWORK,
        f"--window-size=1400,{height}",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_after_two_months_the_list_shows_what_changed_since_last_month(
    published_home: Home, tmp_path: Path
) -> None:
    page = published_home.outbox / "FED01" / "A81002" / SCORE_MONTH / "risk_list.html"
    screenshot(page, "risk_list_since_last_month_A81002.png", tmp_path)
    dom = run_chromium(tmp_path / "profile-dom", *NO_NETWORK, SCREEN, "--dump-dom", page.as_uri())
    text = dom.stdout
    assert 'data-script="ready"' in text
    assert "What changed since last month" in text and "first list" not in text
    new = re.search(r'id="summary-new"><span class="count">(\d+)</span>', text)
    assert new and "new since last month" in text
    changes = re.findall(r'<td class="(change-[a-z]+|)">([^<]*)</td>', text)
    assert sum(label.startswith("new") for _, label in changes) == int(new.group(1)) > 0
    assert any(label == "still listed" for _, label in changes), "no one carried over is shown"


def test_a_row_reads_on_two_lines_at_1400_px(published_home: Home, tmp_path: Path) -> None:
    with connect(published_home.database) as connection:
        lists, _ = build_practice_lists(connection, SCORE_MONTH, TEST_POLICY)
    vanguard = next(item for item in lists if item.practice.vanguard)
    usual = {
        "reason_1": feature("consultations_12m").phrase.format(value=52),
        "reason_2": feature("frailty_deficits").phrase.format(value=11),
        "reason_3": feature("days_since_emergency_admission").phrase.format(value=66),
        "long_term_conditions": "hypertension; type 2 diabetes; COPD; atrial fibrillation; "
        "chronic kidney disease; dementia",
    }
    longest = {
        "reason_1": feature("consultations_12m").phrase.format(value=52),
        "reason_2": feature("emergency_admissions_12m").phrase.format(value=3),
        "reason_3": feature("days_since_emergency_admission").phrase.format(value=66),
        "long_term_conditions": "; ".join(w for _, w in CONDITIONS[:12]),
    }
    assert len("; ".join(usual[f"reason_{i}"] for i in (1, 2, 3))) >= 92
    assert len(usual["long_term_conditions"]) >= 85 and len(longest["long_term_conditions"]) >= 175
    rows = [{**row, **(longest if row["rank"] == 1 else usual)} for row in vanguard.rows]
    page = tmp_path / "risk_list.html"
    page.write_text(render_practice_html(dataclasses.replace(vanguard, rows=rows)))
    screenshot(page, "risk_list_rows_at_1400px.png", tmp_path, height=1800)

    result = measured(page, MEASURE_LIST, tmp_path)
    line, padding, heights = result["line"], result["padding"], result["heights"]
    assert len(heights) == len(rows) >= 10
    two_lines, four_lines = 2 * line + padding + 2, 4 * line + padding + 2  # 2: border, rounding
    assert max(heights[1:]) <= two_lines, f"a usual row is taller than two lines: {heights}"
    assert heights[0] <= four_lines, f"the longest row is taller than four lines: {heights[0]}"
    assert sum(heights[:10]) <= 600, "ten patients take more than two thirds of a 900-px screen"
    assert result["overflow"] <= 0, "the page scrolls sideways at 1,400 px"


def test_the_federation_table_fits_1400_px_with_long_names(
    published_home: Home, tmp_path: Path
) -> None:
    with connect(published_home.database) as connection:
        [summary, *_] = build_federation_summaries(connection, SCORE_MONTH, TEST_KEY)
    long_names = [
        "The Riverside and Hill Top Family Medical Practice",
        "St Bartholomew's Surgery and Community Health Centre",
    ]
    practices = [
        {
            **row,
            "practice_name": name,
            "registered_list_size": 23_456,
            "people_scored": 23_001,
            "data_quality": "file rejected: hospital/admissions.csv, hospital/ae_attendances.csv",
        }
        for row, name in zip(summary.practices, long_names, strict=False)
    ]
    page = tmp_path / "practice_summary.html"
    page.write_text(render_federation_html(dataclasses.replace(summary, practices=practices)))
    screenshot(page, "federation_summary_at_1400px.png", tmp_path, height=900)

    result = measured(page, MEASURE_FEDERATION, tmp_path)
    assert result["scrollWidth"] <= result["clientWidth"], result
    assert result["pageOverflow"] <= 0, result
    assert max(result["nameLines"]) <= 2.05, f"a practice name wraps: {result['nameLines']}"
