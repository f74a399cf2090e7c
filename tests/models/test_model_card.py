"""The model card: calibration over the whole risk range and by tier, the decision curve's
marks, global importance, the retraining policy and registry sentence, and one
self-contained HTML page beside the markdown."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

from models.model_card import (
    calibration_by_tier,
    card_figures,
    registry_sentence,
    render_model_card,
    render_model_card_html,
    retraining_policy,
    tier_bounds,
    write_model_card,
)
from models.plotting import calibration_points
from models.retraining import DEFAULT_RETRAIN_EVERY
from tests.models.card_inputs import TIERS, card_inputs, validation_window


@pytest.fixture(scope="module")
def figures():  # type: ignore[no-untyped-def]
    y, risk = validation_window()
    return card_figures(y, risk, TIERS, [("age", 60.0), ("frailty_deficits", 40.0)])


def test_calibration_is_shown_up_to_the_highest_risks_where_gps_act() -> None:
    y, risk = validation_window()
    points = calibration_points(y, risk)
    # Deciles alone would stop at the top tenth's mean; the card's points reach the top 0.5%.
    top_decile_mean = np.sort(risk)[-len(risk) // 10 :].mean()
    assert max(x for x, _, _ in points) > np.quantile(risk, 0.995) > top_decile_mean
    assert all(low <= observed <= high for _, observed, (low, high) in points)


def test_tiers_are_cut_by_rank_as_the_lists_cut_them(figures) -> None:  # type: ignore[no-untyped-def]
    assert tier_bounds(1500, TIERS) == [
        ("very high", 1, 8),
        ("high", 9, 75),
        ("rising", 76, 300),
        ("low", 301, 1500),
    ]
    rows = figures.tiers
    assert [t.tier for t in rows] == ["very high", "high", "rising", "low"]
    assert [t.people for t in rows] == [100, 900, 3000, 16_000]
    assert all(a.lowest_risk >= b.highest_risk for a, b in itertools.pairwise(rows))
    # A calibrated model: observed within each tier's interval of its mean predicted risk.
    for tier in rows:
        low, high = tier.observed_ci
        assert low - 0.02 <= tier.mean_predicted <= high + 0.02, tier


def test_calibration_by_tier_sees_a_model_that_overstates_the_top() -> None:
    y, risk = validation_window()
    inflated = np.where(risk > np.quantile(risk, 0.95), np.minimum(risk * 1.4, 0.999), risk)
    rows = calibration_by_tier(y, inflated, TIERS)
    assert rows[0].observed_ci[1] < rows[0].mean_predicted  # the top tier visibly overstated
    assert abs(rows[-1].observed_to_expected - 1) < 0.1  # the rest untouched


def test_the_card_has_its_plots_tier_table_and_importance(figures) -> None:  # type: ignore[no-untyped-def]
    evaluation, fairness, metadata = card_inputs()
    card = render_model_card(evaluation, fairness, metadata, figures=figures)
    for name in (
        "calibration.png",
        "calibration_by_tier.png",
        "decision_curve.png",
        "importance.png",
    ):
        assert f"]({name})" in card
        assert figures.images[name][:8] == b"\x89PNG\r\n\x1a\n"
    assert "### Calibration by tier" in card and "| very high | 100 |" in card
    assert "## Global importance" in card and "| frailty deficits | 40.0% |" in card


def test_the_limitations_state_the_retraining_policy_in_use() -> None:
    evaluation, fairness, metadata = card_inputs()
    card = render_model_card(evaluation, fairness, metadata)
    assert DEFAULT_RETRAIN_EVERY == 3 and "Retrained quarterly" in card
    assert "Retrained monthly" not in card
    assert retraining_policy(1).startswith("Retrained monthly (once 1 new month ")
    assert "every 4 months" in retraining_policy(4)


def test_the_registry_line_says_what_happened() -> None:
    first = registry_sentence(
        {
            "candidate_version": "mb",
            "current_version": None,
            "replaced": True,
            "reason": "no current model",
        }
    )
    assert (
        first == "Model mb is in use: it is the first model, so there was none to compare it with."
    )
    replaced = registry_sentence(
        {
            "candidate_version": "mb",
            "current_version": "ma",
            "replaced": True,
            "reason": "not worse",
        }
    )
    assert replaced == "Model mb replaced ma: not worse."
    kept = registry_sentence(
        {"candidate_version": "mb", "current_version": "ma", "replaced": False, "reason": "worse"}
    )
    assert kept == "Model ma stays in use; candidate mb was not adopted: worse."
    assert "no current model (" not in first + replaced + kept


def test_the_html_page_stands_alone_and_carries_every_section(tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    evaluation, fairness, metadata = card_inputs()
    path = write_model_card(evaluation, fairness, metadata, tmp_path, figures=figures)
    page = (tmp_path / "model_card.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == 4 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    for heading in re.findall(r"^## (.+)$", path.read_text(), flags=re.MULTILINE):
        assert f"<h2>{heading}</h2>" in page
    # A section another change adds to the markdown reaches the page, escaped.
    extra = render_model_card_html(
        "## Three figures\n\n| a | b |\n| - | - |\n| <b>1</b> | 2 |\n", {}, "t"
    )
    assert (
        "<h2>Three figures</h2>" in extra and "&lt;b&gt;1&lt;/b&gt;" in extra and "<table>" in extra
    )


def test_the_same_inputs_give_the_same_card(tmp_path: Path, figures) -> None:  # type: ignore[no-untyped-def]
    y, risk = validation_window()
    again = card_figures(y, risk, TIERS, [("age", 60.0), ("frailty_deficits", 40.0)])
    assert again.images == figures.images
