"""The model card's figures as PNG bytes: calibration, calibration by tier, decision curve, importance.

Each function takes outcomes and risks (numpy arrays) or numbers already worked out, never
identifiers, so no figure can carry an NHS number. The bytes depend only on the inputs
(matplotlib's Agg backend; the PNG records no software version or time), so the same
model gives the same card. Plain code: never imports dagster, nor anything above models/.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display on a server
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from models.calibration import smoothed_observed

# Equal-count bins for the calibration points: tenths of the population up to the 80th
# centile, then finer towards the top, where the tiers (and the GPs' lists) are.
CALIBRATION_QUANTILES = (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1)
CUTOFF_COLOUR = "#8b0000"


@dataclass(frozen=True)
class TierCalibration:
    """Predicted and observed admission rates among the people of one tier."""

    tier: str
    people: int
    lowest_risk: float
    highest_risk: float
    mean_predicted: float
    observed: float
    observed_ci: tuple[float, float]  # Wilson 95% interval of the observed rate

    @property
    def observed_to_expected(self) -> float:
        return self.observed / self.mean_predicted if self.mean_predicted else float("nan")


def wilson_interval(admitted: float, people: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion: sound near 0 and for small groups."""
    if people == 0:
        return (float("nan"), float("nan"))
    z, rate = 1.959964, admitted / people
    centre = (rate + z * z / (2 * people)) / (1 + z * z / people)
    half = z * np.sqrt(rate * (1 - rate) / people + z * z / (4 * people * people))
    half /= 1 + z * z / people
    return (max(0.0, float(centre - half)), min(1.0, float(centre + half)))


def calibration_points(
    y: np.ndarray, p: np.ndarray
) -> list[tuple[float, float, tuple[float, float]]]:
    """(mean predicted, observed, observed's 95% CI) in equal-count bins by risk, finer at the top."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    sorted_p, sorted_y = p[order], y[order]
    edges = np.unique(np.round(np.asarray(CALIBRATION_QUANTILES) * p.size).astype(int))
    return [
        (
            float(sorted_p[a:b].mean()),
            float(sorted_y[a:b].mean()),
            wilson_interval(float(sorted_y[a:b].sum()), int(b - a)),
        )
        for a, b in itertools.pairwise(edges)
        if b > a
    ]


def calibration_png(
    y: np.ndarray, p: np.ndarray, cutoffs: Sequence[tuple[str, float]] = ()
) -> bytes:
    """Observed against predicted risk over the whole range, up to the highest risk.

    Points are equal-count bins (finer at the top) with 95% intervals; the line is the
    smoothed observed rate; dotted lines mark the risk at which each tier starts.
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    sorted_p = p[order]
    curve = smoothed_observed(y[order], sorted_p)
    points = calibration_points(y, p)
    top = min(1.0, max(float(p.max()), max(high for _, _, (_, high) in points)) * 1.05)
    figure, axis = plt.subplots(figsize=(6.4, 5.2), dpi=100)
    axis.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    axis.plot(sorted_p, curve, color="tab:blue", linewidth=1.5, label="smoothed observed")
    axis.errorbar(
        [x for x, _, _ in points],
        [o for _, o, _ in points],
        yerr=np.array([[o - low, high - o] for _, o, (low, high) in points]).T,
        fmt="o",
        color="tab:orange",
        capsize=3,
        zorder=3,
        label="people grouped by risk (95% CI)",
    )
    _mark_cutoffs(axis, cutoffs)
    axis.set_xlim(0, top)
    axis.set_ylim(0, top)
    axis.set_xlabel("predicted 12-month risk of an emergency admission")
    axis.set_ylabel("observed share admitted")
    axis.set_title("Calibration over the full risk range, out of time")
    axis.legend(loc="lower right", fontsize=8)
    return _png(figure)


def tier_calibration_png(tiers: Sequence[TierCalibration]) -> bytes:
    """Mean predicted beside observed risk in each tier, with the observed rate's 95% CI."""
    figure, axis = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    positions = np.arange(len(tiers))
    width = 0.38
    axis.bar(
        positions - width / 2,
        [t.mean_predicted for t in tiers],
        width,
        label="predicted",
        color="#9ecae1",
    )
    observed = [t.observed for t in tiers]
    axis.bar(
        positions + width / 2,
        observed,
        width,
        yerr=np.array(
            [
                [o - t.observed_ci[0], t.observed_ci[1] - o]
                for t, o in zip(tiers, observed, strict=True)
            ]
        ).T,
        capsize=4,
        label="observed (95% CI)",
        color="#08519c",
    )
    for position, tier in zip(positions, tiers, strict=True):
        axis.annotate(
            f"O/E {tier.observed_to_expected:.2f}",
            (position, max(tier.mean_predicted, tier.observed_ci[1])),
            textcoords="offset points",
            xytext=(0, 4),
            ha="center",
            fontsize=8,
        )
    axis.set_xticks(
        positions,
        [f"{t.tier}\n{t.lowest_risk:.2f}-{t.highest_risk:.2f}\n{t.people:,} people" for t in tiers],
        fontsize=8,
    )
    axis.set_ylabel("share admitted within 12 months")
    axis.set_title("Calibration by tier (risk range under each name), out of time")
    axis.legend(loc="upper right", fontsize=8)
    axis.margins(y=0.15)
    return _png(figure)


def decision_curve_png(
    thresholds: Sequence[float],
    model: Sequence[float],
    treat_all: Sequence[float],
    cutoffs: Sequence[tuple[str, float]] = (),
) -> bytes:
    """Net benefit of acting on risk >= threshold: the model, treat all, treat none, tier marks."""
    figure, axis = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    axis.plot(thresholds, model, color="tab:blue", linewidth=1.8, label="model")
    axis.plot(thresholds, treat_all, color="tab:orange", linewidth=1.2, label="treat all")
    axis.axhline(0, color="grey", linewidth=1.2, label="treat none")
    _mark_cutoffs(axis, cutoffs)
    best = max(max(model), max(treat_all), 0.01)
    axis.set_ylim(-0.25 * best, best * 1.15)
    axis.set_xlim(0, max(thresholds))
    axis.set_xlabel("risk threshold for acting")
    axis.set_ylabel("net benefit (true positives per person)")
    axis.set_title("Decision curve, out of time")
    axis.legend(loc="upper right", fontsize=8)
    return _png(figure)


def importance_png(importance: Sequence[tuple[str, float]]) -> bytes:
    """Horizontal bars of each feature's share of the model's total gain, largest at the top."""
    shown = list(importance)[::-1]
    figure, axis = plt.subplots(figsize=(6.4, 0.8 + 0.28 * max(len(shown), 1)), dpi=100)
    axis.barh(
        [name.replace("_", " ") for name, _ in shown],
        [share for _, share in shown],
        color="#08519c",
    )
    axis.set_xlabel("share of the model's total gain (%)")
    axis.set_title("Global importance, by share of the model's gain")
    axis.tick_params(axis="y", labelsize=8)
    return _png(figure)


def _mark_cutoffs(axis: plt.Axes, cutoffs: Sequence[tuple[str, float]]) -> None:
    """A dotted line where each tier starts, labelled with its name and risk."""
    for name, risk in cutoffs:
        axis.axvline(risk, color=CUTOFF_COLOUR, linestyle=":", linewidth=1)
        axis.annotate(
            f"{name} \u2265 {risk:.2f}",
            (risk, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -4),
            textcoords="offset points",
            rotation=90,
            va="top",
            fontsize=7,
            color=CUTOFF_COLOUR,
        )


def _png(figure: Figure) -> bytes:
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
