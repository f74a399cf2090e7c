"""What an auditor sees, offline: Data Docs, a month's data-quality report, the index of months.

One generated zone with delivery faults (600 people, 4 months, seed 11: rejected files, a
practice short of files, quarantined rows, a warning rule broken, an incomplete month) runs
through `riskstrat run`; every page is then opened in headless Chromium with the network
disabled (every host name resolves to nothing, and Chromium's net log records what it tried).
Screenshots are kept under test-artifacts/. Without Chromium the browser tests skip locally
and fail in CI, as tests/lists/test_browser.py says.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from pipelines.cli import main
from synthetic import generate
from tests.lists.test_browser import ARTIFACTS, FLAGS, chromium
from warehouse.connection import connect
from warehouse.quality import month_summary, write_auditor_index

# One zone through the whole pipeline and about a dozen Chromium launches (about 2 minutes on
# 2 shared cores): not in `make test-fast`.
pytestmark = pytest.mark.slow

PEOPLE, MONTHS, SEED, START = 600, 4, 11, "2023-01"
FAULTED_MONTH = "2023-01"  # two rejected files, a practice with 1 of 5 files, quarantined rows
# Chromium's own services, which it calls whatever the page (update checks, accounts): the
# page's requests are everything else.
CHROMIUM_SERVICE_HOSTS = ("google.com", "googleapis.com", "gvt1.com")
# What a page may not load from elsewhere: a stylesheet, script, image, font or frame.
REMOTE_ASSET = re.compile(
    r"<(?:link|script|img|iframe|source)\b[^>]*\b(?:href|src)=[\"']?(?:https?:)?//"
    r"|url\(\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)

# Appended to a copy of a Data Docs page: what the vendored assets did, for --dump-dom.
DRIVER = """
<script>
window.addEventListener("load", function () {
  document.fonts.ready.then(function () {
    var navbar = document.querySelector(".navbar");
    var result = {
      jquery: typeof window.jQuery === "function",
      bootstrapTabs: !!(window.jQuery && window.jQuery.fn.tab),
      bootstrapCss: navbar ? getComputedStyle(navbar).position : null,
      iconFont: document.fonts.check('900 16px "Font Awesome 6 Free"'),
      logo: (function () { var img = document.querySelector(".navbar img");
                           return img ? img.complete && img.naturalWidth > 0 : false; }())
    };
    var out = document.createElement("pre");
    out.id = "test-result";
    out.textContent = JSON.stringify(result);
    document.body.appendChild(out);
  });
});
</script>
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("auditor")
    generate(out, people=PEOPLE, months=MONTHS, seed=SEED, start=START, faults=True)
    home = out / "home"
    assert main(["run", "--landing", str(out / "landing"), "--home", str(home)]) == 0
    return home


def offline_chromium(profile: Path, page: Path, *arguments: str) -> tuple[str, set[str]]:
    """Open `page` with no network; return the DOM and every remote URL the page requested."""
    net_log = profile.with_suffix(".netlog.json")
    command = [
        chromium(),
        *FLAGS,
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--log-net-log={net_log}",
        *arguments,
        page.as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    requested = set()
    for url in re.findall(r'"url":"([^"]+)"', net_log.read_text(encoding="utf-8")):
        host = urlparse(url).hostname or ""
        remote = urlparse(url).scheme in ("http", "https", "ws", "wss")
        if remote and not host.endswith(CHROMIUM_SERVICE_HOSTS):
            requested.add(url)
    return result.stdout, requested


def screenshot(profile: Path, page: Path, name: str) -> set[str]:
    """Save test-artifacts/<name>.png; return the remote URLs the page requested."""
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    _, requested = offline_chromium(
        profile, page, "--window-size=1400,1800", f"--screenshot={shot}"
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    return requested


def broken_links(page: Path, dom: str) -> list[str]:
    """Relative links of the rendered page (anchors, stylesheets, scripts, images) that do not
    name a file beside it."""
    broken = []
    for target in re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', dom):
        if urlparse(target).scheme or target.startswith("//"):
            continue
        if not (page.parent / unquote(target)).is_file():
            broken.append(target)
    return broken


def test_no_data_docs_page_loads_anything_from_another_machine(home: Path) -> None:
    pages = sorted((home / "reports" / "data_docs").rglob("*.html"))
    assert len(pages) > 20
    remote = [str(p) for p in pages if REMOTE_ASSET.search(p.read_text(encoding="utf-8"))]
    assert remote == []
    assert not [p for p in pages if "dataContextId" in p.read_text(encoding="utf-8")]


def test_the_data_docs_index_lists_every_result_offline(home: Path, tmp_path: Path) -> None:
    index = home / "reports" / "data_docs" / "index.html"
    assert screenshot(tmp_path / "shot", index, "data_docs_index") == set()

    dom, requested = offline_chromium(tmp_path / "dom", index, "--dump-dom")
    assert requested == set()
    results = re.findall(r'<a href="(validations/[^"]+\.html)"', dom)
    stored = list((home / "gx").rglob("uncommitted/validations/**/*.json"))
    assert stored and len(set(results)) == len(stored), "a stored result is missing from the index"
    assert broken_links(index, dom) == []
    # outpatients broke practice_code_known (a warning rule) and nothing critical
    assert re.search(r"warned \(staged\).*?outpatients\.warnings", dom, re.DOTALL)
    assert "failed" not in re.sub(r"<[^>]+>", " ", dom).split()


def test_data_docs_pages_work_with_their_vendored_assets(home: Path, tmp_path: Path) -> None:
    [page] = (home / "reports" / "data_docs" / "validations" / "outpatients" / "warnings").rglob(
        "*.html"
    )
    assert screenshot(tmp_path / "shot", page, "data_docs_outpatients_warnings") == set()
    driven = page.with_name("driven.html")
    driven.write_text(page.read_text(encoding="utf-8").replace("</body>", DRIVER + "</body>"))
    try:
        dom, requested = offline_chromium(tmp_path / "dom", driven, "--dump-dom")
    finally:
        driven.unlink()
    assert requested == set()
    found = re.search(r'<pre id="test-result">(.*?)</pre>', dom)
    assert found, "the driver script did not run"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    assert result == {
        "jquery": True,
        "bootstrapTabs": True,
        "bootstrapCss": "sticky",
        "iconFont": True,
        "logo": True,
    }
    status = re.search(r"Status:</span>\s*<i [^>]*></i>\s*([^<]+)", dom)
    assert status and status.group(1).startswith("Warned (staged)"), status
    assert broken_links(page, dom) == []


def test_the_month_report_shows_a_rejected_file_and_quarantined_rows(
    home: Path, tmp_path: Path
) -> None:
    page = home / "reports" / "data_quality" / f"{FAULTED_MONTH}.html"
    assert screenshot(tmp_path / "shot", page, f"data_quality_{FAULTED_MONTH}") == set()
    dom, requested = offline_chromium(tmp_path / "dom", page, "--dump-dom")
    assert requested == set()
    report = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
    rejected = [f for f in report["files"] if f["status"] == "rejected"]
    quarantined = sum(f["quarantined_rows"] for f in report["files"])
    assert rejected and quarantined

    headline = re.search(r'<p[^>]*id="headline"[^>]*>(.*?)</p>', dom, re.DOTALL)
    assert headline
    text = " ".join(headline.group(1).split())
    assert text.startswith(f"{FAULTED_MONTH}: partial.")
    assert f"{len(rejected)} rejected" in text and f"{quarantined} quarantined" in text
    assert re.search(r"A81002: 1 of 5 files loaded", text)
    for file in rejected:
        assert re.search(rf"<td>{re.escape(file['path'])}</td><td>rejected</td>", dom)
    assert dom.count("<td>quarantined</td>") >= 1
    links = re.findall(r'<a href="([^"]+)"', dom)
    month_docs = f"../data_docs/months/{FAULTED_MONTH}.html"
    assert {f"{FAULTED_MONTH}.json", month_docs, "index.html"} <= set(links)
    assert broken_links(page, dom) == []
    # The month's own suite results, at an address that does not change with the run time.
    docs_page = page.parent / month_docs
    docs_dom, requested = offline_chromium(tmp_path / "docs", docs_page, "--dump-dom")
    assert requested == set() and broken_links(docs_page, docs_dom) == []
    results = re.findall(r'<tr class="current[^"]*">(.*?)</tr>', docs_dom, re.DOTALL)
    assert len(results) == 2 * 9  # both severity suites of the nine monthly feeds
    assert any("warned (staged)" in row for row in results)  # the broken warning rule
    assert not any(">failed<" in row for row in results)  # the staged layer kept its contract
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        [(digest,)] = connection.execute(
            "SELECT manifest_sha256 FROM raw.delivery_months WHERE delivery_month = ?",
            [FAULTED_MONTH],
        ).fetchall()
    assert digest in dom and "riskstrat " in dom and "version 1.0.0" in dom


def test_the_auditor_index_shows_every_month_with_links_and_is_deterministic(
    home: Path, tmp_path: Path
) -> None:
    index = home / "reports" / "data_quality" / "index.html"
    assert screenshot(tmp_path / "shot", index, "data_quality_index") == set()
    dom, requested = offline_chromium(tmp_path / "dom", index, "--dump-dom")
    assert requested == set()
    months = sorted(p.stem for p in index.parent.glob("*.json"))
    assert len(months) == MONTHS
    for month in months:
        assert f'<a href="{month}.html">' in dom and f'<a href="{month}.json">' in dom
        verdict = month_summary(json.loads((index.parent / f"{month}.json").read_text()))
        assert re.search(rf"<td>{month}</td><td>{re.escape(verdict['verdict'])}</td>", dom)
    assert "not loaded (incomplete)" in dom and 'id="trends"' in dom
    assert broken_links(index, dom) == []

    before = index.read_bytes()
    with connect(home / "warehouse.duckdb", read_only=True) as connection:
        write_auditor_index(connection, home / "reports")
    assert index.read_bytes() == before


def test_a_practice_short_of_files_makes_the_month_partial() -> None:
    def file(path: str, status: str, quarantined: int = 0) -> dict:
        return {
            "path": path,
            "status": status,
            "delivered_rows": 10,
            "staged_rows": 0 if status == "rejected" else 10 - quarantined,
            "quarantined_rows": quarantined,
            "ignored_rows": 0,
        }

    feeds = ("registrations", "conditions", "consultations", "medications", "observations")
    complete = [file(f"gp/A81001/{feed}.csv", "loaded") for feed in feeds]
    report = {"month": "2024-01", "status": "loaded", "missing_practices": []}
    assert month_summary({**report, "files": complete})["verdict"] == "complete"
    assert (
        month_summary({**report, "files": [*complete[:4], file("gp/A81001/x.csv", "loaded", 1)]})[
            "verdict"
        ]
        == "loaded, rows quarantined"
    )
    short = [
        *complete,
        file("gp/A81002/registrations.csv", "loaded"),
        *(file(f"gp/A81002/{feed}.csv", "rejected") for feed in feeds[1:]),
    ]
    summary = month_summary({**report, "files": short})
    assert summary["verdict"] == "partial"
    assert (summary["files_loaded"], summary["files_rejected"]) == (6, 4)
    assert summary["practices_partial"] == [
        {"practice": "A81002", "files_loaded": 1, "files_expected": 5}
    ]
    missing = month_summary({**report, "files": complete, "missing_practices": ["A81003"]})
    assert missing["verdict"] == "partial"
    incomplete = {"month": "2024-02", "status": "incomplete", "files": [], "missing_practices": []}
    assert month_summary(incomplete)["verdict"] == "not loaded (incomplete)"
