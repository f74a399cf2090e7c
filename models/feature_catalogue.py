"""The catalogue of model features: names, kinds, groups and clinician wording.

The feature frame (`models.dataset.feature_frame`) has exactly these columns, in this
order, after nhs_number, index_date and practice_code; the SQL that computes them is
`warehouse/sql/features/person_features.sql`. Every feature is computed as of an index
date T from data dated on or before T: this module must never describe a feature that
needs anything later. It imports neither dagster nor duckdb.

Windows: "in the last N months" means dated in (last day of the month N months before T,
T], i.e. the N whole calendar months ending at T (index dates are month ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FeatureKind = Literal["numeric", "categorical", "flag"]


@dataclass(frozen=True)
class Feature:
    name: str
    kind: FeatureKind
    group: str  # demographic | condition | frailty | activity | social_care | observation
    description: str
    phrase: str  # clinician wording; str.format with value=<the person's value>


LABEL = "emergency_admission_12m"

# Long-term conditions: (feature name, clinician wording). Their SNOMED codes are in
# warehouse.features.LONG_TERM_CONDITIONS (the spec's code list), in the same order.
CONDITIONS: tuple[tuple[str, str], ...] = (
    ("hypertension", "hypertension"),
    ("diabetes_type1", "type 1 diabetes"),
    ("diabetes_type2", "type 2 diabetes"),
    ("asthma", "asthma"),
    ("copd", "COPD"),
    ("heart_failure", "heart failure"),
    ("atrial_fibrillation", "atrial fibrillation"),
    ("ischaemic_heart_disease", "ischaemic heart disease"),
    ("stroke", "previous stroke"),
    ("chronic_kidney_disease", "chronic kidney disease"),
    ("dementia", "dementia"),
    ("depression", "depression"),
    ("schizophrenia", "schizophrenia"),
    ("bipolar_disorder", "bipolar disorder"),
    ("cancer", "cancer"),
    ("epilepsy", "epilepsy"),
    ("rheumatoid_arthritis", "rheumatoid arthritis"),
    ("osteoporosis", "osteoporosis"),
    ("parkinsons_disease", "Parkinson's disease"),
    ("learning_disability", "learning disability"),
)

# Major conditions with a years-since-diagnosis feature: (suffix, wording).
MAJOR_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("heart_failure", "heart failure"),
    ("copd", "COPD"),
    ("diabetes", "diabetes"),
    ("chronic_kidney_disease", "chronic kidney disease"),
    ("dementia", "dementia"),
    ("cancer", "cancer"),
)


def _demographic() -> tuple[Feature, ...]:
    return (
        Feature(
            "age",
            "numeric",
            "demographic",
            "Age in whole years at the index date.",
            "aged {value:.0f}",
        ),
        Feature(
            "sex",
            "categorical",
            "demographic",
            "Person stated gender: male, female, indeterminate, not known.",
            "{value}",
        ),
        Feature(
            "imd_decile",
            "numeric",
            "demographic",
            "IMD 2019 decile of the LSOA of residence (1 = most deprived); null if unknown.",
            "lives in IMD decile {value:.0f} (1 = most deprived)",
        ),
        Feature(
            "ethnicity_group",
            "categorical",
            "demographic",
            "NHS ethnic category grouped: White (A-C), Mixed (D-G), Asian (H, J-L), "
            "Black (M, N, P), Other (R, S), Not stated (Z, 99).",
            "ethnicity group: {value}",
        ),
        Feature(
            "care_home",
            "flag",
            "demographic",
            "Lives in a care home, per the registration active at the index date.",
            "lives in a care home",
        ),
    )


def _conditions() -> tuple[Feature, ...]:
    flags = tuple(
        Feature(
            name,
            "flag",
            "condition",
            f"Diagnosis of {wording} recorded on or before the index date.",
            wording,
        )
        for name, wording in CONDITIONS
    )
    count = Feature(
        "ltc_count",
        "numeric",
        "condition",
        "Number of the 20 long-term conditions diagnosed on or before the index date.",
        "{value:.0f} long-term conditions",
    )
    years = tuple(
        Feature(
            f"years_since_{suffix}",
            "numeric",
            "condition",
            f"Years from the first recorded diagnosis of {wording} to the index date; "
            "null without the diagnosis.",
            f"{wording} diagnosed {{value:.0f}} years ago",
        )
        for suffix, wording in MAJOR_CONDITIONS
    )
    return (*flags, count, *years)


def _frailty() -> tuple[Feature, ...]:
    return (
        Feature(
            "frailty_deficits",
            "numeric",
            "frailty",
            "Count of 16 deficits at the index date: heart failure, COPD, diabetes, CKD, "
            "dementia, stroke, Parkinson's disease, osteoporosis, atrial fibrillation, "
            "ischaemic heart disease, depression, care home or residential/nursing care, "
            "medicines from 5+ BNF sections in 12 months, a home visit in 12 months, an "
            "active social care service, an ambulance arrival at A&E in 12 months.",
            "{value:.0f} frailty deficits",
        ),
    )


def _activity() -> tuple[Feature, ...]:
    def count(name: str, description: str, phrase: str) -> Feature:
        return Feature(name, "numeric", "activity", description, phrase)

    return (
        count(
            "consultations_3m",
            "GP practice consultations (any mode) in the last 3 months.",
            "{value:.0f} GP consultations in the last 3 months",
        ),
        count(
            "consultations_12m",
            "GP practice consultations (any mode) in the last 12 months.",
            "{value:.0f} GP consultations in the last 12 months",
        ),
        count(
            "home_visits_12m",
            "Home-visit consultations in the last 12 months.",
            "{value:.0f} home visits in the last 12 months",
        ),
        count(
            "bnf_sections_3m",
            "Distinct BNF sections (first 4 characters of bnf_code) issued in the last 3 months.",
            "medicines from {value:.0f} BNF sections in the last 3 months",
        ),
        count(
            "bnf_sections_12m",
            "Distinct BNF sections issued in the last 12 months (polypharmacy).",
            "medicines from {value:.0f} BNF sections in the last 12 months",
        ),
        count(
            "ae_attendances_3m",
            "A&E attendances in the last 3 months.",
            "{value:.0f} A&E attendances in the last 3 months",
        ),
        count(
            "ae_attendances_12m",
            "A&E attendances in the last 12 months.",
            "{value:.0f} A&E attendances in the last 12 months",
        ),
        count(
            "ambulance_arrivals_12m",
            "A&E attendances arriving by ambulance, last 12 months.",
            "{value:.0f} ambulance arrivals at A&E in the last 12 months",
        ),
        count(
            "outpatient_attendances_12m",
            "Outpatient appointments attended (status 5 or 6) in the last 12 months.",
            "{value:.0f} outpatient attendances in the last 12 months",
        ),
        count(
            "outpatient_dnas_12m",
            "Outpatient appointments not attended (status 3 did not attend, 7 late and not "
            "seen) in the last 12 months.",
            "{value:.0f} missed outpatient appointments in the last 12 months",
        ),
        count(
            "elective_admissions_12m",
            "Elective admissions (method 11-13) in the last 12 months.",
            "{value:.0f} planned admissions in the last 12 months",
        ),
        count(
            "emergency_admissions_3m",
            "Emergency admissions (method 21-28, 2A-2D) in the last 3 months.",
            "{value:.0f} emergency admissions in the last 3 months",
        ),
        count(
            "emergency_admissions_12m",
            "Emergency admissions in the last 12 months.",
            "{value:.0f} emergency admissions in the last 12 months",
        ),
        count(
            "bed_days_12m",
            "Nights in hospital in spells admitted in the last 12 months, counted only up to "
            "the index date; a spell not discharged by the index date counts up to it.",
            "{value:.0f} days in hospital in the last 12 months",
        ),
        count(
            "days_since_emergency_admission",
            "Days from the latest emergency admission in the last 12 months; null if none "
            "(capped so a young feed and an old one see the same window).",
            "emergency admission {value:.0f} days ago",
        ),
    )


def _social_care() -> tuple[Feature, ...]:
    return (
        Feature(
            "social_care_active",
            "flag",
            "social_care",
            "An adult social care service started in the last 12 months and not ended by the "
            "index date (the look-back every training date has).",
            "receives adult social care",
        ),
        Feature(
            "social_care_started_12m",
            "numeric",
            "social_care",
            "Adult social care services started in the last 12 months.",
            "{value:.0f} social care services started in the last 12 months",
        ),
    )


def _observations() -> tuple[Feature, ...]:
    return (
        Feature(
            "bmi",
            "numeric",
            "observation",
            "Latest body mass index (kg/m2) recorded in the last 12 months.",
            "BMI {value:.1f}",
        ),
        Feature(
            "systolic_bp",
            "numeric",
            "observation",
            "Latest systolic blood pressure (mmHg) in the last 12 months.",
            "systolic blood pressure {value:.0f} mmHg",
        ),
        Feature(
            "hba1c",
            "numeric",
            "observation",
            "Latest HbA1c (mmol/mol) in the last 12 months.",
            "HbA1c {value:.0f} mmol/mol",
        ),
        Feature(
            "smoking_status",
            "categorical",
            "observation",
            "Latest smoking status recorded in the last 12 months: current, ex, never, not recorded.",
            "smoking status: {value}",
        ),
    )


FEATURES: tuple[Feature, ...] = (
    *_demographic(),
    *_conditions(),
    *_frailty(),
    *_activity(),
    *_social_care(),
    *_observations(),
)

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)


def feature(name: str) -> Feature:
    """The catalogue entry called `name`; KeyError if there is none."""
    for entry in FEATURES:
        if entry.name == name:
            return entry
    raise KeyError(name)
