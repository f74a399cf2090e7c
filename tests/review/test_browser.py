"""The review app in headless Chromium (Playwright driving Debian's chromium), served by
`riskstrat serve` as a user would run it: log in, filter, record a decision, log out.

Every request the page makes goes to the app itself (no CDN), the Secure session cookie
works over http on the loopback interface (Chromium treats it as a secure context), and
the server's log names no NHS number. Without Chromium the test is skipped, except in CI,
where it fails (tests/lists/test_browser.py's rule). Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lists.conftest import TEST_KEY
from tests.lists.test_browser import ARTIFACTS, chromium
from tests.review.conftest import PASSWORD, PRACTICE_USER
from warehouse.home import Home

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(review_home: Home, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`riskstrat serve` on a free loopback port; its URL and the file of its log."""
    port = free_port()
    log = tmp_path / "server.log"
    environment = {**os.environ, "RISKSTRAT_PSEUDONYM_KEY": TEST_KEY.decode()}
    with log.open("w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "serve", "--home", str(review_home.root),
             "--port", str(port)],
            stdout=handle, stderr=subprocess.STDOUT, env=environment,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/login", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"riskstrat serve did not start:\n{log.read_text()}")
                time.sleep(0.3)
        yield url, log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_log_in_filter_record_a_decision_and_log_out(server: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    executable = chromium()
    url, log = server
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{url}/")
        page.fill("#username-field", PRACTICE_USER)
        page.fill("#password-field", PASSWORD)
        page.click("#login")
        page.wait_for_url(re.compile(r".*/practices/A81001/list$"))
        everyone = page.locator("#review-list tbody tr[data-tier]").count()
        assert everyone > 0
        page.select_option("#tier-filter", "high")
        page.click("#apply-filters")
        page.wait_for_url(re.compile(r".*tier=high.*"))
        tiers = page.locator("#review-list tbody tr[data-tier]").evaluate_all(
            "rows => rows.map(row => row.dataset.tier)"
        )
        assert tiers and set(tiers) == {"high"} and len(tiers) < everyone
        first = page.locator("#review-list tbody tr[data-tier]").first
        row_id = first.get_attribute("id")
        first.locator("select[name=decision]").select_option("contacted")
        first.locator("input[name=note]").fill("phoned, appointment booked")
        first.locator("button[type=submit]").click()
        page.wait_for_url(re.compile(rf".*tier=high.*#{row_id}$"))  # back where they were
        row = page.locator(f"tr[id='{row_id}']")
        assert "contacted" in row.locator(".decided").inner_text()
        assert PRACTICE_USER in row.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "review_A81001.png"), full_page=True)
        page.click("#logout")
        page.wait_for_url(re.compile(r".*/login$"))
        page.goto(f"{url}/practices/A81001/list")
        assert page.url.endswith("/login")  # the session has ended
        browser.close()
    assert requested and all(r.startswith(url) for r in requested), requested
    served = log.read_text()
    assert "/practices/A81001/list" in served  # the request log is written ...
    assert not re.search(r"\b\d{3} ?\d{3} ?\d{4}\b", served)  # ... with no NHS number
    assert "tier=high" not in served  # nor any query string
