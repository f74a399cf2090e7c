"""A practice's risk_list.html opened in headless Chromium: the summary and the list render,
and the sort and filter script works without breaking the page.

The screenshot is kept under test-artifacts/ (gitignored) for a person to look at. Without
Chromium the test is skipped with the reason, except in CI (the variable CI set, as
`CI=true bash .ci/run` does), where it fails: CI must never skip it silently (`make browser`
installs Debian's chromium as root, and fails for a user who cannot when CI is set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lists.population import SCORE_MONTH
from warehouse.home import Home

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=3000",
)

# Appended to a copy of the page (never to the delivered file): sorts by age, filters to one
# tier, and writes what the page then shows into the DOM for --dump-dom to carry out.
DRIVER = """
<script>
(function () {
  var headers = document.querySelectorAll("#risk-list thead th");
  var ageHeader = Array.prototype.filter.call(headers, function (h) { return h.textContent.trim() === "Age"; })[0];
  ageHeader.click();
  var ages = Array.prototype.map.call(document.querySelectorAll("#risk-list tbody tr"),
                                      function (row) { return parseFloat(row.cells[2].textContent); });
  var select = document.getElementById("tier-filter");
  select.value = "rising";
  select.dispatchEvent(new Event("change"));
  var visible = Array.prototype.filter.call(document.querySelectorAll("#risk-list tbody tr"),
                                            function (row) { return !row.hidden; });
  var result = {
    ages: ages,
    sort: ageHeader.getAttribute("aria-sort"),
    rows: document.querySelectorAll("#risk-list tbody tr").length,
    visibleTiers: visible.map(function (row) { return row.getAttribute("data-tier"); }),
    showing: document.getElementById("showing").textContent
  };
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify(result);
  document.body.appendChild(out);
}());
</script>
"""


DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


def in_ci() -> bool:
    """CI sets the variable CI (true, 1, ...); an empty value, 0, false or no means not CI."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium() -> str:
    """Chromium's path; without it, fail in CI (the test must never skip there) or skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and DEBIAN_CHROMIUM.is_file():
        found = str(DEBIAN_CHROMIUM)
    if found is None:
        if in_ci():
            pytest.fail(
                "Chromium is not installed, and CI (CI is set) must run the browser test, not "
                "skip it: run `make browser` as root, which installs Debian's chromium."
            )
        pytest.skip(
            "Chromium not found: `make browser` (as root) installs Debian's chromium for this "
            "test; with CI set the test fails instead of skipping."
        )
    return found


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [
        (None, pytest.skip.Exception),
        ("", pytest.skip.Exception),
        ("false", pytest.skip.Exception),
        ("true", pytest.fail.Exception),
        ("1", pytest.fail.Exception),
    ],
)
def test_without_chromium_the_test_skips_locally_and_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str | None, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys.modules[__name__], "DEBIAN_CHROMIUM", tmp_path / "no-chromium")
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    # Caught by hand: a skip escaping pytest.raises would skip this test too, silently.
    try:
        chromium()
    except (pytest.skip.Exception, pytest.fail.Exception) as raised:
        assert isinstance(raised, outcome), f"CI={ci!r}: {type(raised).__name__}, not {outcome}"
    else:
        raise AssertionError("chromium() returned a path where there is none")


def run_chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def test_a_practice_page_renders_its_summary_and_list_in_chromium(
    published_home: Home, tmp_path: Path
) -> None:
    page = published_home.outbox / "FED01" / "A81001" / SCORE_MONTH / "risk_list.html"
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "risk_list_A81001.png"
    screenshot.unlink(missing_ok=True)

    run_chromium(
        tmp_path / "profile-shot",
        "--window-size=1400,1800",
        f"--screenshot={screenshot}",
        page.as_uri(),
    )
    assert (
        screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
    )

    dom = run_chromium(tmp_path / "profile-dom", "--dump-dom", page.as_uri()).stdout
    assert 'data-script="ready"' in dom, "the page's script did not run to the end"
    assert "Showing 20 of 20 people" in dom
    assert "Summary" in dom and "How this list was made" in dom and "Field Family Practice" in dom
    assert len(re.findall(r"<tr data-tier=", dom)) == 20
    assert dom.index('id="summary"') < dom.index('id="risk-list"')

    driven = tmp_path / "driven.html"
    driven.write_text(page.read_text().replace("</body>", DRIVER + "</body>"))
    dom = run_chromium(tmp_path / "profile-driven", "--dump-dom", driven.as_uri()).stdout
    found = re.search(r'<pre id="test-result">(.*?)</pre>', dom)
    assert found, "the driver script did not run"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result["sort"] == "ascending" and result["ages"] == sorted(result["ages"])
    assert result["rows"] == 20, "sorting lost or duplicated rows"
    assert result["visibleTiers"] and set(result["visibleTiers"]) == {"rising"}
    assert result["showing"] == f"Showing {len(result['visibleTiers'])} of 20 people"
