"""The plain baseline: what a competent analyst would write with pandas and LightGBM alone.

    .venv/bin/python benchmarks/plain_baseline.py --landing DIR/landing [--out DIR]

It reads the landing zone directly (docs/landing-zone.md): every CSV of
`reference/` and of every `extracts/<YYYY-MM>/` folder, with no manifest checks, no
contracts, no quarantine, no warehouse. Then, at index dates that are month ends:
  - training date T = latest month - 24, validation date V = latest month - 12;
  - population: registered at the index date in that month's registrations snapshot,
    without a Type 1 opt-out;
  - features: counts in the 12 months up to and including the date (consultations,
    medication issues, A&E attendances, outpatient appointments, admissions, emergency
    admissions, social-care services started), long-term-condition count from that
    month's conditions snapshot, age, sex, IMD decile, care home;
  - label: any emergency admission (method 21-28 or 2A-2D) in the 12 months after;
  - one LightGBM fit at T (fixed seed, deterministic), AUROC at V, scores for everyone
    registered at the latest month end (written to OUT/scores.csv when --out is given).
It exists for pipeline_benchmark.py to time beside `riskstrat run`, so the pipeline's
figures are ratios to something a reader can picture. It must never import the project's
packages: the point is that it shares nothing with the pipeline but the landing zone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

# Per feed: the folder-relative file name, the columns kept, and the date columns.
GP_FEEDS = {
    "registrations": (
        [
            "nhs_number",
            "date_of_birth",
            "sex",
            "lsoa_code",
            "registration_date",
            "deregistration_date",
            "date_of_death",
            "care_home",
            "type1_opt_out",
        ],
        ["date_of_birth", "registration_date", "deregistration_date", "date_of_death"],
    ),
    "conditions": (["nhs_number", "snomed_code", "diagnosis_date"], ["diagnosis_date"]),
    "consultations": (["nhs_number", "consultation_date"], ["consultation_date"]),
    "medications": (["nhs_number", "issue_date"], ["issue_date"]),
    "observations": (["nhs_number", "observation_date"], ["observation_date"]),
}
AREA_FEEDS = {
    "sus/ae_attendances.csv": ("attendance_id", ["nhs_number", "arrival_date"], ["arrival_date"]),
    "sus/outpatients.csv": (
        "appointment_id",
        ["nhs_number", "appointment_date"],
        ["appointment_date"],
    ),
    "sus/admissions.csv": (
        "spell_id",
        ["nhs_number", "admission_date", "admission_method"],
        ["admission_date"],
    ),
    "social_care/services.csv": ("service_id", ["nhs_number", "start_date"], ["start_date"]),
}
# Registrations and conditions are monthly snapshots: only the index months' copies are kept.
SNAPSHOT_FEEDS = {"registrations", "conditions"}
EMERGENCY_METHODS = {str(code) for code in range(21, 29)} | {"2A", "2B", "2C", "2D"}
LONG_TERM_CONDITIONS = {
    "38341003",
    "46635009",
    "44054006",
    "195967001",
    "13645005",
    "84114007",
    "49436004",
    "414545008",
    "230690007",
    "709044004",
    "52448006",
    "35489007",
    "58214004",
    "13746004",
    "363346000",
    "84757009",
    "69896004",
    "64859006",
    "49049000",
    "110359009",
}
# 12-month event counts: feature name -> (feed, date column).
COUNTS = {
    "consultations_12m": ("consultations", "consultation_date"),
    "medication_issues_12m": ("medications", "issue_date"),
    "observations_12m": ("observations", "observation_date"),
    "ae_attendances_12m": ("ae_attendances", "arrival_date"),
    "outpatient_appointments_12m": ("outpatients", "appointment_date"),
    "admissions_12m": ("admissions", "admission_date"),
    "emergency_admissions_12m": ("emergency_admissions", "admission_date"),
    "social_care_services_12m": ("services", "start_date"),
}
FEATURES = [*COUNTS, "ltc_count", "age", "sex", "imd_decile", "care_home"]
PARAMETERS: dict[str, Any] = {
    "objective": "binary",
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 50,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "random_state": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}


def month_end(month: str) -> pd.Timestamp:
    return pd.Period(month, freq="M").end_time.normalize()


def shift(month: str, months: int) -> str:
    return str(pd.Period(month, freq="M") + months)


def read(path: Path, columns: list[str], dates: list[str]) -> pd.DataFrame:
    frame = pd.read_csv(path, usecols=columns, dtype=str, engine="pyarrow")
    frame["nhs_number"] = frame["nhs_number"].astype("int64")
    for column in dates:
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d")
    return frame


def load(landing: Path, snapshot_months: set[str]) -> tuple[dict[str, pd.DataFrame], int, int]:
    """Every feed as one frame (snapshot feeds: the index months only); rows and files read."""
    parts: dict[str, list[pd.DataFrame]] = {}
    rows = files = 0
    for month_folder in sorted((landing / "extracts").iterdir()):
        month = month_folder.name
        for practice_folder in sorted((month_folder / "gp").iterdir()):
            for feed, (columns, dates) in GP_FEEDS.items():
                frame = read(practice_folder / f"{feed}.csv", columns, dates)
                rows, files = rows + len(frame), files + 1
                if feed in SNAPSHOT_FEEDS:
                    if month not in snapshot_months:
                        continue
                    frame["practice_code"] = practice_folder.name
                    frame["month"] = month
                parts.setdefault(feed, []).append(frame)
        for name, (key, columns, dates) in AREA_FEEDS.items():
            frame = read(month_folder / name, [key, *columns], dates)
            rows, files = rows + len(frame), files + 1
            parts.setdefault(Path(name).stem, []).append(frame)
    feeds = {feed: pd.concat(frames, ignore_index=True) for feed, frames in parts.items()}
    # Keyed hospital and social-care files may resend a row in a later month: count it once.
    for name, (key, _columns, _dates) in AREA_FEEDS.items():
        feeds[Path(name).stem] = feeds[Path(name).stem].drop_duplicates(key)
    admissions = feeds["admissions"]
    feeds["emergency_admissions"] = admissions[
        admissions["admission_method"].isin(EMERGENCY_METHODS)
    ]
    return feeds, rows, files


def features_at(feeds: dict[str, pd.DataFrame], imd: pd.Series, month: str) -> pd.DataFrame:
    """One row per person registered at the month's end, from data dated on or before it."""
    index_date, window_start = month_end(month), month_end(shift(month, -12))
    registrations = feeds["registrations"]
    people = (
        registrations[
            (registrations["month"] == month)
            & (registrations["registration_date"] <= index_date)
            & ~(registrations["deregistration_date"] <= index_date)
            & ~(registrations["date_of_death"] <= index_date)
            & (registrations["type1_opt_out"] != "Y")
        ]
        .drop_duplicates("nhs_number")
        .set_index("nhs_number")
    )
    frame = pd.DataFrame(index=people.index)
    frame["practice_code"] = people["practice_code"]
    for feature, (feed, column) in COUNTS.items():
        events = feeds[feed]
        dated = events[(events[column] > window_start) & (events[column] <= index_date)]
        frame[feature] = dated.groupby("nhs_number").size().reindex(frame.index, fill_value=0)
    conditions = feeds["conditions"]
    conditions = conditions[
        (conditions["month"] == month)
        & (conditions["diagnosis_date"] <= index_date)
        & conditions["snomed_code"].isin(LONG_TERM_CONDITIONS)
    ]
    ltc = conditions.drop_duplicates(["nhs_number", "snomed_code"]).groupby("nhs_number").size()
    frame["ltc_count"] = ltc.reindex(frame.index, fill_value=0)
    frame["age"] = (index_date - people["date_of_birth"]).dt.days / 365.25
    frame["sex"] = people["sex"].map({"1": 1, "2": 2}).fillna(0).astype("int8")
    frame["imd_decile"] = people["lsoa_code"].map(imd).astype("float64")
    frame["care_home"] = (people["care_home"] == "Y").astype("int8")
    return frame


def label_after(feeds: dict[str, pd.DataFrame], month: str, people: pd.Index) -> pd.Series:
    """1 if the person has an emergency admission in the 12 months after the month's end."""
    start, end = month_end(month), month_end(shift(month, 12))
    emergencies = feeds["emergency_admissions"]
    admitted = emergencies[
        (emergencies["admission_date"] > start) & (emergencies["admission_date"] <= end)
    ]
    return pd.Series(people.isin(admitted["nhs_number"]).astype("int8"), index=people)


def run_baseline(
    landing: Path, out: Path | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Load, build features, train once, evaluate and score; timings per phase."""
    seconds: dict[str, float] = {}

    def phase(name: str, started: float) -> None:
        seconds[name] = time.perf_counter() - started
        if progress is not None:
            progress(f"{name}: done in {seconds[name]:.1f} s")

    started = time.perf_counter()
    months = sorted(path.name for path in (landing / "extracts").iterdir() if path.is_dir())
    latest = months[-1]
    training, validation = shift(latest, -24), shift(latest, -12)
    imd_file = pd.read_csv(landing / "reference" / "lsoa_imd.csv", dtype=str)
    practices = pd.read_csv(landing / "reference" / "practices.csv", dtype=str)
    imd = imd_file.set_index("lsoa_code")["imd_decile"].astype("int8")
    feeds, rows, files = load(landing, {training, validation, latest})
    phase("load", started)

    started = time.perf_counter()
    train_frame = features_at(feeds, imd, training)
    train_label = label_after(feeds, training, train_frame.index)
    validation_frame = features_at(feeds, imd, validation)
    validation_label = label_after(feeds, validation, validation_frame.index)
    latest_frame = features_at(feeds, imd, latest)
    phase("features", started)

    started = time.perf_counter()
    model = lgb.LGBMClassifier(**PARAMETERS)
    model.fit(train_frame[FEATURES], train_label, categorical_feature=["sex"])
    validation_risk = np.asarray(model.predict_proba(validation_frame[FEATURES]))[:, 1]
    auroc = float(roc_auc_score(validation_label, validation_risk))
    phase("train", started)

    started = time.perf_counter()
    scores = latest_frame[["practice_code"]].copy()
    scores["risk"] = np.asarray(model.predict_proba(latest_frame[FEATURES]))[:, 1]
    scores = scores.reset_index().sort_values(["risk", "nhs_number"], ascending=[False, True])
    scores["rank"] = np.arange(1, len(scores) + 1)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        scores.to_csv(out / "scores.csv", index=False, float_format="%.6f")
    phase("score", started)

    return {
        "seconds": seconds,
        "rows_read": rows,
        "reference_rows": len(imd_file) + len(practices),
        "files_read": files + 2,
        "months": len(months),
        "training_month": training,
        "validation_month": validation,
        "scoring_month": latest,
        "people_trained": len(train_frame),
        "training_positives": int(train_label.sum()),
        "people_validated": len(validation_frame),
        "people_scored": len(scores),
        "auroc": auroc,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--landing", type=Path, required=True, help="the folder holding reference/ and extracts/"
    )
    parser.add_argument("--out", type=Path, help="write OUT/scores.csv")
    arguments = parser.parse_args()
    result = run_baseline(
        arguments.landing, arguments.out, lambda line: print(f"  {line}", flush=True)
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
