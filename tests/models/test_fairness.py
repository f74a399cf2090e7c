"""The fairness audit flags a group whose admissions the model under-predicts."""

import numpy as np
import polars as pl

from models.fairness import audit


def biased_predictions(n=20_000, seed=4):
    """True risk depends on conditions alike for everyone, but the model under-predicts group B
    by a half (as a cost label would for a group with less access to care)."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["A", "B"], n, p=[0.7, 0.3])
    ltc = rng.poisson(2, n)
    true_risk = 1 / (1 + np.exp(-(-3.2 + 0.45 * ltc)))
    admitted = (rng.random(n) < true_risk).astype(np.int8)
    risk = np.where(group == "B", true_risk * 0.5, true_risk)
    return pl.DataFrame(
        {
            "practice_code": rng.choice(["P1", "P2"], n),
            "age": rng.integers(18, 95, n).astype(float),
            "sex": rng.choice(["female", "male"], n),
            "ethnicity_group": group,
            "imd_decile": rng.integers(1, 11, n).astype(float),
            "ltc_count": ltc.astype(float),
            "admitted": admitted,
            "risk": risk,
            "true_risk": true_risk,
        }
    )


def test_under_predicted_group_is_flagged_and_others_are_not():
    report = audit(biased_predictions())
    flagged = {(f["attribute"], f["group"]) for f in report["flagged"]}
    assert ("ethnicity_group", "B") in flagged
    assert ("ethnicity_group", "A") not in flagged
    rows = {r["group"]: r for r in report["groups"]["ethnicity_group"]}
    assert rows["B"]["observed_to_expected"] > 1.6
    assert rows["B"]["observed_to_expected_ci"][0] > 1.25
    # B is under-represented in the top 5% relative to its share of admissions
    assert rows["B"]["share_of_top_5pct"] < rows["B"]["share_of_admissions"]


def test_obermeyer_check_shows_group_b_sicker_at_the_same_score():
    report = audit(biased_predictions())
    table = report["obermeyer"]["by_risk_decile"]["ethnicity_group"]
    top = {r["group"]: r for r in table if r["decile"] == 10}
    assert top["B"]["mean_ltc_count"] > top["A"]["mean_ltc_count"]
    assert top["B"]["mean_true_risk"] > top["A"]["mean_true_risk"]
    excess = report["obermeyer"]["need_at_equal_score"]["ethnicity_group"]
    assert excess["B"]["ltc_count_excess"] > 0.5 > abs(excess["A"]["ltc_count_excess"])
    assert excess["B"]["true_risk_excess"] > 0.02 > abs(excess["A"]["true_risk_excess"])
    assert report["obermeyer"]["truth_present"]


def test_a_fair_model_has_no_flags_and_small_groups_are_not_judged():
    fair = biased_predictions().with_columns(pl.col("true_risk").alias("risk"))
    tiny = fair.head(30).with_columns(pl.lit("P9").alias("practice_code"))
    report = audit(pl.concat([fair, tiny]))
    assert report["flagged"] == []
    practice = {r["group"]: r for r in report["groups"]["practice"]}
    assert not practice["P9"]["judged"]
    assert {"age_band", "sex", "ethnicity_group", "imd_quintile", "practice"} == set(
        report["groups"]
    )


def test_audit_reports_no_identifiers():
    frame = biased_predictions(n=2000).with_columns(pl.lit("9434765919").alias("nhs_number"))
    assert "9434765919" not in str(audit(frame))


def constructed(groups: dict[str, tuple[int, float, int]]) -> pl.DataFrame:
    """Per group (people, everyone's risk, admissions): the first `admissions` are admitted."""
    parts = []
    for name, (people, risk, admissions) in groups.items():
        admitted = np.zeros(people, dtype=np.int8)
        admitted[:admissions] = 1
        parts.append(
            pl.DataFrame(
                {
                    "ethnicity_group": [name] * people,
                    "admitted": admitted,
                    "risk": np.full(people, risk),
                }
            )
        )
    return pl.concat(parts)


def flags_of(report, attribute="ethnicity_group"):
    return {r["group"]: r["flags"] for r in report["groups"][attribute]}


def test_observed_to_expected_is_flagged_when_its_interval_excludes_one_and_it_is_outside_the_band():
    report = audit(
        constructed(
            {
                "Asian": (3_000, 0.05, 176),  # O/E 1.17, CI about 1.01-1.36: flagged
                "White": (60_000, 0.05, 3_150),  # O/E 1.05, CI excludes 1, inside 0.9-1.1
                "Other": (100, 0.05, 7),  # O/E 1.4, CI includes 1: could be chance
                "Black": (3_000, 0.05, 150),  # O/E 1.00
            }
        )
    )
    rows = {r["group"]: r for r in report["groups"]["ethnicity_group"]}
    assert rows["Asian"]["observed_to_expected_ci"][0] > 1
    # (Every risk ties here, so the top 5% is arbitrary: only the O/E rule is judged.)
    calibration_flagged = [
        f["group"] for f in report["flagged"] if "observed_to_expected" in f["flags"]
    ]
    assert calibration_flagged == ["Asian"]
    assert rows["White"]["observed_to_expected_ci"][0] > 1


def test_a_group_far_rarer_in_the_top_five_percent_than_in_admissions_is_flagged():
    rng = np.random.default_rng(8)
    people = 10_000
    group = np.where(np.arange(people) % 2 == 0, "A", "B")
    true_risk = rng.uniform(0.01, 0.3, people)
    admitted = (rng.random(people) < true_risk).astype(np.int8)
    # B's risks are squeezed towards the mean: calibrated on average, never near the top.
    risk = np.where(group == "B", 0.5 * true_risk + 0.5 * true_risk.mean(), true_risk)
    report = audit(pl.DataFrame({"ethnicity_group": group, "admitted": admitted, "risk": risk}))
    rows = {r["group"]: r for r in report["groups"]["ethnicity_group"]}
    assert rows["B"]["share_of_top_5pct"] < 0.8 * rows["B"]["share_of_admissions"]
    assert "top_5pct_share" in flags_of(report)["B"]
    assert "top_5pct_share" not in flags_of(report)["A"]


def test_a_group_sicker_at_the_same_score_is_flagged():
    report = audit(biased_predictions())
    assert "need_at_equal_score" in flags_of(report)["B"]
    assert "need_at_equal_score" not in flags_of(report)["A"]
    flagged = {(f["attribute"], f["group"]): f["flags"] for f in report["flagged"]}
    assert "need_at_equal_score" in flagged[("ethnicity_group", "B")]
    assert set(report["rules"]) == {"observed_to_expected", "top_5pct_share", "need_at_equal_score"}
