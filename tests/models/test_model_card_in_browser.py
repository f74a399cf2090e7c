"""The model card's HTML page in headless Chromium at 1,400 px with the network disabled:
every plot is drawn (an image with a nonzero size, decoded from the page itself).

The screenshot goes to test-artifacts/model_card.png. Chromium is found, skipped or
required as tests/lists/test_browser.py says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from models.model_card import card_figures, write_model_card
from tests.lists.test_browser import ARTIFACTS, run_chromium
from tests.lists.test_pages_at_1400px import NO_NETWORK
from tests.models.card_inputs import TIERS, card_inputs, validation_window

MEASURE_IMAGES = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (image) {
    var box = image.getBoundingClientRect();
    return {alt: image.alt, natural: [image.naturalWidth, image.naturalHeight],
            shown: [box.width, box.height], complete: image.complete};
  });
  var out = document.createElement("pre");
  out.id = "test-result";
  out.textContent = JSON.stringify({images: images,
    overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth});
  document.body.appendChild(out);
});
</script>
"""


def test_the_model_card_page_shows_its_plots_offline(tmp_path: Path) -> None:
    y, risk = validation_window()
    figures = card_figures(y, risk, TIERS, [("age", 60.0), ("frailty_deficits", 40.0)])
    evaluation, fairness, metadata = card_inputs()
    folder = tmp_path / "model"
    write_model_card(evaluation, fairness, metadata, folder, figures=figures)
    page = folder / "model_card.html"
    for name in figures.images:  # the page must not lean on the PNG files beside it
        (folder / name).unlink()

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "model_card.png"
    shot.unlink(missing_ok=True)
    run_chromium(
        tmp_path / "profile-shot",
        *NO_NETWORK,
        "--window-size=1400,4000",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    driven = tmp_path / "driven.html"
    driven.write_text(page.read_text().replace("</body>", MEASURE_IMAGES + "</body>"))
    dom = run_chromium(
        tmp_path / "profile-dom",
        *NO_NETWORK,
        "--window-size=1400,900",
        "--dump-dom",
        driven.as_uri(),
    ).stdout
    found = re.search(r'<pre id="test-result">(.*?)</pre>', dom)
    assert found, "the measuring script did not run"
    result = json.loads(found.group(1).replace("&quot;", '"'))
    images = result["images"]
    assert [image["alt"] for image in images] == [
        "Decision curve, out of time",
        "Calibration over the full risk range, out of time",
        "Calibration by tier, out of time",
        "Global importance",
    ]
    for image in images:
        assert image["complete"] and min(image["natural"]) > 100, image
        assert min(image["shown"]) > 100, image
    assert result["overflow"] <= 0
