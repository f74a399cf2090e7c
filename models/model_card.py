"""Render the model card: reports/model/model_card.md, and model_card.html beside it.

The card follows the TRIPOD+AI headings. Its text is built only from reports that hold
counts and metrics (evaluation.json, fairness.json, the model's metadata); its figures
from the validation window's outcomes and risks and the model's gain, so it can never
contain an NHS number. The markdown is the source: the HTML page is that markdown
rendered, with every figure embedded as a base64 PNG, so it is one self-contained file
that opens offline, and any section added to the markdown template appears in both.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from markdown_it import MarkdownIt
from markupsafe import Markup

from models.evaluation import net_benefit
from models.plotting import (
    TierCalibration,
    calibration_png,
    decision_curve_png,
    importance_png,
    tier_calibration_png,
    wilson_interval,
)
from models.registry import RiskModel
from models.retraining import DEFAULT_RETRAIN_EVERY
from warehouse.files import write_bytes_atomic, write_text_atomic

TEMPLATES = Path(__file__).parent / "templates"
IMPORTANCE_SHOWN = 15
CADENCES = {1: "monthly", 3: "quarterly", 6: "every six months", 12: "yearly"}


@dataclass(frozen=True)
class CardFigures:
    """What the card shows beyond the reports: its plots and the numbers under them."""

    images: dict[str, bytes] = field(repr=False)  # file name -> PNG
    tiers: list[TierCalibration]
    importance: list[tuple[str, float]]  # feature, share of the total gain in percent


def tier_bounds(people: int, tiers: Sequence[tuple[str, float]]) -> list[tuple[str, int, int]]:
    """(tier, first rank, last rank) by risk for `tiers` as (name, cumulative share), highest first.

    Boundaries are rounded up as the lists' tiers are (lists.tiers.TierPolicy).
    """
    bounds, first = [], 1
    for name, share in tiers:
        last = min(people, math.ceil(round(share * people, 9)))
        bounds.append((name, first, last))
        first = last + 1
    return bounds


def calibration_by_tier(
    y: np.ndarray, p: np.ndarray, tiers: Sequence[tuple[str, float]]
) -> list[TierCalibration]:
    """Predicted and observed rates among the validation people of each tier, by rank."""
    order = np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")
    ranked_p = np.asarray(p, dtype=np.float64)[order]
    ranked_y = np.asarray(y, dtype=np.float64)[order]
    rows = []
    for name, first, last in tier_bounds(ranked_p.size, tiers):
        risks, outcomes = ranked_p[first - 1 : last], ranked_y[first - 1 : last]
        if risks.size == 0:
            continue
        rows.append(
            TierCalibration(
                tier=name,
                people=int(risks.size),
                lowest_risk=float(risks.min()),
                highest_risk=float(risks.max()),
                mean_predicted=float(risks.mean()),
                observed=float(outcomes.mean()),
                observed_ci=wilson_interval(float(outcomes.sum()), int(outcomes.size)),
            )
        )
    return rows


def global_importance(model: RiskModel, top: int = IMPORTANCE_SHOWN) -> list[tuple[str, float]]:
    """The scoring model's features by their share of its total split gain, in percent."""
    gains = np.asarray(model.booster.feature_importance(importance_type="gain"), dtype=np.float64)
    total = gains.sum() or 1.0
    ranked = sorted(
        zip(model.encoding.names, gains, strict=True), key=lambda item: (-item[1], item[0])
    )
    return [(name, round(float(gain) * 100 / total, 2)) for name, gain in ranked[:top] if gain > 0]


def card_figures(
    y: np.ndarray,
    p: np.ndarray,
    tiers: Sequence[tuple[str, float]],
    importance: Sequence[tuple[str, float]],
) -> CardFigures:
    """The card's plots from the validation window's outcomes `y` and risks `p`.

    `tiers` are (name, cumulative share of people), highest first, the last at 1.0 (as
    lists.tiers.TierPolicy defines them; passed in, since the lists sit above models).
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    by_tier = calibration_by_tier(y, p, tiers)
    cutoffs = [
        (t.tier, t.lowest_risk) for t in by_tier[:-1]
    ]  # where each tier above the last starts
    thresholds = [
        round(t, 2) for t in np.arange(0.01, min(0.95, float(p.max()) + 0.05) + 1e-9, 0.01)
    ]
    prevalence = float(y.mean())
    images = {
        "calibration.png": calibration_png(y, p, cutoffs),
        "calibration_by_tier.png": tier_calibration_png(by_tier),
        "decision_curve.png": decision_curve_png(
            thresholds,
            [net_benefit(y, p, t) for t in thresholds],
            [prevalence - (1 - prevalence) * t / (1 - t) for t in thresholds],
            cutoffs,
        ),
        "importance.png": importance_png(importance),
    }
    return CardFigures(images=images, tiers=by_tier, importance=list(importance))


def registry_sentence(decision: dict[str, Any] | None) -> str:
    """The registry's decision about this model in one sentence a reader can follow."""
    if not decision:
        return "No registry decision recorded."
    candidate, current = decision.get("candidate_version"), decision.get("current_version")
    reason = str(decision.get("reason", "")).rstrip(".")
    if current is None:
        return f"Model {candidate} is in use: it is the first model, so there was none to compare it with."
    if candidate == current:
        return f"Model {current} stays in use: {reason}."
    if decision.get("replaced"):
        return f"Model {candidate} replaced {current}: {reason}."
    return f"Model {current} stays in use; candidate {candidate} was not adopted: {reason}."


def retraining_policy(every_months: int) -> str:
    """When the model is retrained, in words, from the policy's own number of months."""
    cadence = CADENCES.get(every_months, f"every {every_months} months")
    return (
        f"Retrained {cadence} (once {every_months} new {'month' if every_months == 1 else 'months'} "
        "of outcomes are in), or sooner "
        "when a monthly drift report finds the population or the score has shifted"
    )


def predictor_groups(metadata: dict[str, Any], features: Any = None) -> list[tuple[str, list[str]]]:
    names = [f["name"] for f in metadata["encoding"]["features"]]
    if features is None:
        try:
            from models.feature_catalogue import FEATURES

            features = FEATURES
        except ImportError:
            features = ()
    group_of = {f.name: f.group for f in features}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(group_of.get(name, "other").replace("_", " "), []).append(name)
    return list(groups.items())


def environment(autoescape: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=autoescape,
    )


def render_model_card(
    evaluation: dict[str, Any],
    fairness: dict[str, Any],
    metadata: dict[str, Any],
    features: Any = None,
    *,
    figures: CardFigures | None = None,
    retrain_every_months: int = DEFAULT_RETRAIN_EVERY,
) -> str:
    """The card as markdown; figures are referenced by file name (written beside it)."""
    template = environment(autoescape=False).get_template("model_card.md.j2")
    text = template.render(
        evaluation=evaluation,
        v=evaluation["validation"],
        fairness=fairness,
        metadata=metadata,
        predictor_groups=predictor_groups(metadata, features),
        figures=figures,
        registry_line=registry_sentence(evaluation.get("registry")),
        retraining=retraining_policy(retrain_every_months),
    )
    # Optional sections leave runs of blank lines; markdown reads one as many, a person not.
    return re.sub(r"\n{3,}", "\n\n", text)


def render_model_card_html(markdown: str, images: dict[str, bytes], title: str) -> str:
    """The markdown card as one self-contained HTML page: every figure inlined as base64.

    Raw HTML in the markdown is escaped, not passed through (``html=False``).
    """
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    for name, png in sorted(images.items()):
        body = body.replace(
            f'src="{name}"', f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"'
        )
    return (
        environment(autoescape=True)
        .get_template("model_card.html.j2")
        .render(title=title, body=Markup(body))
    )


def write_model_card(
    evaluation: dict[str, Any],
    fairness: dict[str, Any],
    metadata: dict[str, Any],
    folder: Path,
    features: Any = None,
    *,
    figures: CardFigures | None = None,
    retrain_every_months: int = DEFAULT_RETRAIN_EVERY,
) -> Path:
    """model_card.md, model_card.html and the figures' PNGs under `folder` (reports/model), 0600."""
    folder.mkdir(parents=True, exist_ok=True)
    markdown = render_model_card(
        evaluation,
        fairness,
        metadata,
        features,
        figures=figures,
        retrain_every_months=retrain_every_months,
    )
    images = figures.images if figures else {}
    for name, png in images.items():
        write_bytes_atomic(folder / name, png)
    path = folder / "model_card.md"
    write_text_atomic(path, markdown)
    title = f"Model card: emergency admission risk, {evaluation['model_version']}"
    write_text_atomic(folder / "model_card.html", render_model_card_html(markdown, images, title))
    return path
