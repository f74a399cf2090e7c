"""The model's choices measured on choice seeds: calibration recipes and parameters (issue 12).

    .venv/bin/python benchmarks/model_choices.py --seeds 101 102 111 112 [--people 20000]
        [--months 36] [--work /tmp/model-bench] [--grid '[{}, {"num_leaves": 7}]']
        [--patience 50 100] [--folds 3 5] [--json OUT.json]

For each seed: the zone of benchmarks/model_benchmark.py (generated, loaded and staged once
under --work), `build_training_set`, the feature ceiling (today's parameters, fitted once),
then for every parameter set of --grid (overrides of models.training.PARAMETERS) and
early-stopping patience: `models.training.train`, and the validation date V scored with
each calibration recipe:

- raw: the validation model's risks, no recalibration;
- deployed: what `train` reports (the recipe of the code this runs on; since session 6
  the raw risks);
- tuning: the recipe before session 6: Platt recalibration kept when its cross-fitted
  log loss beats the raw risks' (`choose_calibration`), judged on the early-stopping
  model's risks for its held-out fifth of the training people;
- oof-K: the same choice made on every training person's out-of-fold risk from K
  person-grouped folds of the deployed recipe (`out_of_fold_risks`: the chosen rounds,
  no early stopping), the recipe the calibrator is then applied to;
- oof-K-platt: Platt recalibration fitted on those risks, always;
- oof-K-closed: the closed testing procedure of Vergouwe et al. (Stat Med 2017) on those
  risks: keep the risks unless a likelihood-ratio test (2 df, 5%) says recalibration
  helps; then the intercept alone unless the slope adds significantly (1 df).

Each is judged at V against the outcome (AUROC, calibration slope, O/E in the lists'
tiers, as evaluation.json reports them) and against the generator's true risk, which
removes the outcome's coin-flip noise: the slope of a logistic regression of true_risk on
logit(risk) (a fractional outcome) and each tier's sum of true risks over its expected
admissions. The oracle (true_risk itself) is scored the same way: its slope and tier O/E
against the outcome show how far from 1 a perfectly calibrated risk lands by chance on
one seed, and `--draws` sets of outcomes drawn from the true risks say how often a
perfectly calibrated risk misses issue 12's targets (slope 0.95-1.05, every tier's O/E
0.9-1.1) by chance alone; drawn from the first parameter set's own risks instead, how often
the model would miss them if its risks were exactly right (its risks are less spread than
the truth's, so its slope and tiers are noisier). V reaches no choice here either: every recipe is fitted on
training people. `--grid '[]'` scores the oracle alone.

CPU time (user + sys, this process) is printed per fit. Seeds 301-303 are the reporting
seeds of docs/model.md: do not choose on them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import chi2

CHOICE_SEEDS = (101, 102, 111, 112)


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    from models.calibration import EPSILON

    clipped = np.clip(np.asarray(p, dtype=np.float64), EPSILON, 1 - EPSILON)
    y = np.asarray(y, dtype=np.float64)
    return float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))


def choose_calibration(y: np.ndarray, p: np.ndarray, *, seed: int, folds: int = 5) -> Any:
    """The recipe before session 6: Platt if its cross-fitted log loss beats the raw risks'.

    Each of `folds` random folds is recalibrated by a fit on the others; when that beats
    the raw risks, the calibrator is refitted on all of them. Returns a Calibrator.
    """
    from models.calibration import Calibrator, fit_platt

    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    fold = np.random.default_rng(seed).permutation(y.size) % folds
    out_of_fold = np.empty(y.size)
    for k in range(folds):
        held_out = fold == k
        out_of_fold[held_out] = fit_platt(y[~held_out], p[~held_out]).apply(p[held_out])
    return fit_platt(y, p) if log_loss(y, out_of_fold) < log_loss(y, p) else Calibrator()


def out_of_fold_risks(
    parameters: dict[str, Any],
    matrix: np.ndarray,
    outcome: np.ndarray,
    people: np.ndarray,
    categorical: list[int],
    rounds: int,
    folds: int,
) -> np.ndarray:
    """Every training row's risk from the deployed recipe (`rounds` rounds, no early
    stopping) fitted on the other person-grouped folds (GroupKFold, deterministic)."""
    import lightgbm as lgb
    from sklearn.model_selection import GroupKFold

    from models.boosting import lightgbm_dataset

    risks = np.empty(outcome.size)
    for fitting, held in GroupKFold(n_splits=folds).split(matrix, groups=people):
        booster = lgb.train(
            parameters,
            lightgbm_dataset(matrix[fitting], outcome[fitting], categorical),
            num_boost_round=rounds,
        )
        risks[held] = booster.predict(matrix[held])
    return risks


def closed_test(y: np.ndarray, p: np.ndarray, alpha: float = 0.05) -> Any:
    """Vergouwe et al.'s closed test: none, intercept only, or Platt, by likelihood ratio."""
    from models.calibration import Calibrator, fit_logistic, fit_platt, logit, sigmoid

    lp = logit(p)
    intercept = fit_logistic(y, np.zeros((lp.size, 0)), offset=lp)[0]
    shifted = Calibrator("platt", float(intercept), 1.0)
    platt = fit_platt(y, p)
    deviance = {
        name: 2 * y.size * log_loss(y, risk)
        for name, risk in (
            ("none", p),
            ("intercept", sigmoid(intercept + lp)),
            ("platt", platt.apply(p)),
        )
    }
    if deviance["none"] - deviance["platt"] < chi2.ppf(1 - alpha, 2):
        return Calibrator()
    if deviance["intercept"] - deviance["platt"] < chi2.ppf(1 - alpha, 1):
        return shifted
    return platt


def scored(y: np.ndarray, truth: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUROC, slope and tier O/E against the outcome, and slope and tier O/E against the truth."""
    from models.calibration import calibration_slope, fit_logistic, logit
    from models.evaluation import auroc, calibration_by_tier

    known = ~np.isnan(truth)
    tiers = calibration_by_tier(y, p)
    order = np.argsort(-p[known], kind="stable")
    expected_by_truth, start = [], 0
    for tier in calibration_by_tier(y[known], p[known]):
        members = order[start : start + tier["people"]]
        expected_by_truth.append(
            round(float(truth[known][members].sum() / p[known][members].sum()), 3)
        )
        start += tier["people"]
    return {
        "auroc": round(auroc(y, p), 4),
        "slope": round(calibration_slope(y, p), 3),
        "oe": [t["observed_to_expected"] for t in tiers],
        "mean_oe": round(float(y.sum() / p.sum()), 3),
        "truth_slope": round(float(fit_logistic(truth[known], logit(p[known]))[1]), 3),
        "truth_oe": expected_by_truth,
    }


def chance_misses(true_risk: np.ndarray, draws: int, seed: int = 0) -> dict[str, Any]:
    """How often a perfectly calibrated risk misses the targets on one seed by chance alone.

    Outcomes are drawn again and again from the true risks themselves (the oracle, exactly
    calibrated by construction) and scored as V is: the share of draws whose calibration
    slope falls outside 0.95-1.05, whose O/E in each list tier falls outside 0.9-1.1, and
    whose slope and tiers all meet the targets.
    """
    from models.calibration import calibration_slope
    from models.evaluation import calibration_by_tier

    risk = true_risk[~np.isnan(true_risk)]
    rng = np.random.default_rng(seed)
    slope_out, tier_out, all_in = 0, np.zeros(3), 0
    for _ in range(draws):
        y = (rng.random(risk.size) < risk).astype(np.float64)
        slope_missed = not 0.95 <= calibration_slope(y, risk) <= 1.05
        tiers_missed = np.array(
            [not 0.9 <= t["observed_to_expected"] <= 1.1 for t in calibration_by_tier(y, risk)]
        )
        slope_out += slope_missed
        tier_out += tiers_missed
        all_in += not (slope_missed or tiers_missed.any())
    return {
        "draws": draws,
        "slope_outside": round(slope_out / draws, 3),
        "tier_outside": [round(float(t) / draws, 3) for t in tier_out],
        "all_within": round(all_in / draws, 3),
    }


def cpu() -> float:
    times = os.times()
    return times.user + times.system


def zone_choices(
    folder: Path, grid: list[dict[str, Any]], patience: list[int], folds: list[int], draws: int
) -> dict[str, Any]:
    """Every parameter set and recipe on one staged zone."""
    import polars as pl

    from models import boosting
    from models.boosting import best_rounds, early_stopped_booster, tuning_people
    from models.calibration import fit_platt
    from models.ceiling import feature_ceiling_risk
    from models.evaluation import read_truth_at
    from models.feature_catalogue import FEATURES, LABEL
    from models.registry import PREDICTION_THREADS
    from models.training import (
        PARAMETERS,
        TrainingSet,
        build_training_set,
        train,
        training_threads,
    )
    from warehouse.connection import connect

    with connect(folder / "warehouse.duckdb") as connection:
        # Built once per zone and kept in its warehouse, as model_job keeps it.
        if TrainingSet.stored(connection):
            training_set = TrainingSet.load(connection)
        else:
            training_set = build_training_set(connection)
            training_set.save(connection)
    plan = training_set.plan
    truth = read_truth_at(folder / "truth.csv", [*plan.training_dates, plan.validation_date])
    validation = training_set.validation
    at_v = validation.select(pl.col("nhs_number").cast(pl.Utf8)).join(
        truth.filter(pl.col("index_date") == plan.validation_date).select(
            "nhs_number", "true_risk"
        ),
        on="nhs_number",
        how="left",
        maintain_order="left",
    )
    y = validation.get_column(LABEL).to_numpy().astype(np.float64)
    true_risk = at_v.get_column("true_risk").fill_null(np.nan).to_numpy()
    out: dict[str, Any] = {
        "oracle": scored(y, true_risk, np.nan_to_num(true_risk, nan=y.mean())),
        "oracle_by_chance": chance_misses(true_risk, draws) if draws else None,
    }
    training = training_set.training
    outcome = training.get_column(LABEL).to_numpy()
    people = training.get_column("nhs_number").to_numpy()
    runs = []
    for overrides in grid:
        for rounds_patience in patience:
            boosting.EARLY_STOPPING_ROUNDS = rounds_patience  # read at each call
            started = cpu()
            result = train(training_set, FEATURES, LABEL, parameters=overrides)
            train_cpu = cpu() - started
            model = result.model
            parameters = model.metadata["parameters"]
            rounds = model.metadata["best_iteration"]
            encoding = model.encoding
            if "ceiling" not in out:
                ceiling_parameters = {
                    **PARAMETERS,
                    "num_threads": training_threads(training.height),
                }
                out["ceiling"] = scored(
                    y,
                    true_risk,
                    feature_ceiling_risk(
                        training, validation, truth, encoding, ceiling_parameters, seed=7
                    ),
                )
            raw = result.validation_raw
            if draws and "model_by_chance" not in out:
                # As if the first parameter set's risks were exactly right: its own noise.
                out["model_by_chance"] = chance_misses(raw, draws)
            matrix = encoding.matrix(training)
            tuning = tuning_people(training, boosting.SEED)
            stopped = early_stopped_booster(
                parameters, matrix, outcome, tuning, encoding.categorical_indices
            )
            tuning_raw = stopped.predict(
                matrix[tuning], num_iteration=best_rounds(stopped), num_threads=PREDICTION_THREADS
            )
            recipes = {
                "raw": raw,
                "deployed": result.validation_risk,
                "tuning": choose_calibration(outcome[tuning], tuning_raw, seed=boosting.SEED).apply(
                    raw
                ),
            }
            fold_cpu = {}
            for k in folds:
                started = cpu()
                oof = out_of_fold_risks(
                    parameters, matrix, outcome, people, encoding.categorical_indices, rounds, k
                )
                fold_cpu[k] = round(cpu() - started, 1)
                recipes[f"oof-{k}"] = choose_calibration(outcome, oof, seed=boosting.SEED).apply(
                    raw
                )
                recipes[f"oof-{k}-platt"] = fit_platt(outcome, oof).apply(raw)
                recipes[f"oof-{k}-closed"] = closed_test(outcome.astype(np.float64), oof).apply(raw)
            runs.append(
                {
                    "parameters": overrides,
                    "patience": rounds_patience,
                    "rounds": rounds,
                    "train_cpu": round(train_cpu, 1),
                    "fold_cpu": fold_cpu,
                    "deployed_calibrator": model.calibrator.to_dict(),
                    "recipes": {name: scored(y, true_risk, p) for name, p in recipes.items()},
                }
            )
            print(json.dumps({"zone": folder.name, **runs[-1]}), flush=True)
    boosting.EARLY_STOPPING_ROUNDS = patience[0]
    out["runs"] = runs
    return out


def joined(values: Any) -> str:
    return " / ".join(f"{value:.2f}" for value in values)


def summary(results: dict[int, dict[str, Any]]) -> str:
    """Means over seeds per parameter set and recipe."""
    lines = [
        "| parameters | patience | recipe | AUROC | gap to ceiling | mean abs(slope - 1) "
        "| slopes | truth slopes | O/E tiers (mean) | truth O/E tiers (mean) | worst tier abs(O/E - 1) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    seeds = list(results)
    if not results[seeds[0]]["runs"]:
        return ""
    for index, run in enumerate(results[seeds[0]]["runs"]):
        for recipe in run["recipes"]:
            figures = [results[s]["runs"][index]["recipes"][recipe] for s in seeds]
            gaps = [
                results[s]["ceiling"]["auroc"] - f["auroc"]
                for s, f in zip(seeds, figures, strict=True)
            ]
            oe = [statistics.mean(f["oe"][t] for f in figures) for t in range(3)]
            truth_oe = [statistics.mean(f["truth_oe"][t] for f in figures) for t in range(3)]
            worst = max(abs(o - 1) for f in figures for o in f["oe"])
            lines.append(
                f"| {json.dumps(run['parameters'])} | {run['patience']} | {recipe} "
                f"| {statistics.mean(f['auroc'] for f in figures):.4f} "
                f"| {statistics.mean(gaps):.4f} "
                f"| {statistics.mean(abs(f['slope'] - 1) for f in figures):.3f} "
                f"| {joined(f['slope'] for f in figures)} "
                f"| {joined(f['truth_slope'] for f in figures)} "
                f"| {joined(oe)} | {joined(truth_oe)} | {worst:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    from benchmarks.model_benchmark import staged_zone

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(CHOICE_SEEDS))
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--work", type=Path, default=Path("/tmp/model-bench"))
    parser.add_argument("--grid", type=json.loads, default=[{}], help="JSON list of overrides")
    parser.add_argument("--patience", type=int, nargs="+", default=[50])
    parser.add_argument("--folds", type=int, nargs="*", default=[5])
    parser.add_argument(
        "--draws", type=int, default=200, help="outcome draws from the true risks (chance_misses)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure here")
    arguments = parser.parse_args()
    results = {}
    for seed in arguments.seeds:
        started = time.monotonic()
        folder = staged_zone(seed, arguments.people, arguments.months, arguments.work)
        results[seed] = zone_choices(
            folder, arguments.grid, arguments.patience, arguments.folds, arguments.draws
        )
        print(f"seed {seed}: {time.monotonic() - started:.0f} s", flush=True)
    print(f"\n{arguments.people:,} people x {arguments.months} months; load {os.getloadavg()}\n")
    for seed, result in results.items():
        ceiling = result.get("ceiling", {})  # fitted with the first parameter set, if any
        print(
            f"seed {seed}: ceiling AUROC {ceiling.get('auroc')}, slope "
            f"{ceiling.get('slope')}, O/E {ceiling.get('oe')}; oracle AUROC "
            f"{result['oracle']['auroc']}, slope {result['oracle']['slope']}, "
            f"O/E {result['oracle']['oe']}; by chance alone (outcomes drawn from the true "
            f"risks): {result['oracle_by_chance']}; the model's risks taken as true: "
            f"{result.get('model_by_chance')}"
        )
    print()
    print(summary(results))
    if arguments.json:
        arguments.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
