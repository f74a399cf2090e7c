"""Code lists and clinical parameters of the synthetic population.

Everything here is data: the spec's code lists (docs/landing-zone.md), the shapes of each
long-term condition's prevalence by age, prescribing per condition, and the published
figures (published-rates.md) the population is calibrated to. Nothing here draws random
numbers, so changing a table never shifts another table's random stream.
"""

from __future__ import annotations

from dataclasses import dataclass

# Person Stated Gender codes and their shares (indeterminate and not-known are rare).
SEX_CODES = ("1", "2", "9", "X")
SEX_SHARES = (0.4935, 0.5045, 0.0005, 0.0015)

# NHS ethnic categories with approximate shares for England (Census 2021), plus the
# not-stated and not-known codes that real registrations carry.
ETHNIC_CODES = (
    "A",
    "B",
    "C",
    "D",
    "E",
    "F",
    "G",
    "H",
    "J",
    "K",
    "L",
    "M",
    "N",
    "P",
    "R",
    "S",
    "Z",
    "99",
)
ETHNIC_SHARES = (
    0.715,
    0.009,
    0.060,
    0.008,
    0.005,
    0.008,
    0.010,
    0.030,
    0.026,
    0.011,
    0.016,
    0.011,
    0.024,
    0.005,
    0.007,
    0.015,
    0.030,
    0.010,
)
# The under-served subgroup: Pakistani, Bangladeshi and Black ethnic categories consult
# their GP less for the same need and get fewer conditions recorded, yet have the same
# or higher emergency-admission risk. A fairness audit should find this (docs/generator.md).
UNDERSERVED_ETHNIC_CODES = ("J", "K", "M", "N", "P")


@dataclass(frozen=True)
class Condition:
    """One long-term condition: its code, how prevalence rises with age, and its weight.

    `shape` is "logistic" (prevalence rises through `midpoint` with width `scale`) or
    "ramp" (rises linearly from age `midpoint` to `midpoint + scale`, then stays flat).
    `target` is the published recorded prevalence over people aged `denominator_age`+.
    `female_ratio` is female prevalence over male prevalence. `admission_weight` is the
    condition's contribution to the log emergency-admission hazard.
    """

    name: str
    snomed_code: str
    shape: str
    midpoint: float
    scale: float
    minimum_age: int
    target: float
    denominator_age: int
    female_ratio: float
    admission_weight: float


CONDITIONS: tuple[Condition, ...] = (
    Condition("hypertension", "38341003", "logistic", 64, 9, 18, 0.140, 0, 1.0, 0.05),
    Condition("type 1 diabetes", "46635009", "ramp", 1, 19, 1, 0.005, 17, 0.85, 0.40),
    Condition("type 2 diabetes", "44054006", "logistic", 66, 10, 20, 0.070, 17, 0.75, 0.15),
    Condition("asthma", "195967001", "ramp", 3, 9, 2, 0.065, 6, 1.15, 0.10),
    Condition("COPD", "13645005", "logistic", 76, 8, 40, 0.019, 0, 1.0, 0.45),
    Condition("heart failure", "84114007", "logistic", 84, 7, 40, 0.010, 0, 0.75, 0.50),
    Condition("atrial fibrillation", "49436004", "logistic", 82, 7, 40, 0.021, 0, 0.8, 0.20),
    Condition("ischaemic heart disease", "414545008", "logistic", 76, 9, 35, 0.030, 0, 0.5, 0.20),
    Condition("stroke", "230690007", "logistic", 80, 9, 30, 0.018, 0, 0.95, 0.25),
    Condition("chronic kidney disease", "709044004", "logistic", 80, 8, 18, 0.040, 18, 1.2, 0.25),
    Condition("dementia", "52448006", "logistic", 88, 5, 55, 0.007, 0, 1.4, 0.40),
    Condition("depression", "35489007", "ramp", 14, 21, 12, 0.130, 18, 1.7, 0.10),
    Condition("schizophrenia", "58214004", "ramp", 16, 19, 15, 0.0055, 0, 0.75, 0.25),
    Condition("bipolar disorder", "13746004", "ramp", 18, 22, 16, 0.0040, 0, 1.1, 0.20),
    Condition("cancer", "363346000", "logistic", 72, 10, 20, 0.035, 0, 1.0, 0.40),
    Condition("epilepsy", "84757009", "ramp", 0, 20, 0, 0.008, 18, 0.9, 0.30),
    Condition("rheumatoid arthritis", "69896004", "logistic", 62, 10, 20, 0.008, 16, 2.5, 0.10),
    Condition("osteoporosis", "64859006", "logistic", 78, 8, 50, 0.015, 0, 4.0, 0.15),
    Condition("Parkinson's disease", "49049000", "logistic", 80, 7, 50, 0.003, 0, 0.65, 0.35),
    Condition("learning disability", "110359009", "ramp", 0, 5, 0, 0.0055, 0, 0.65, 0.30),
)
CONDITION_INDEX = {condition.name: position for position, condition in enumerate(CONDITIONS)}

# Valid SNOMED codes that are not long-term conditions in the code list: the pipeline must
# load them and leave them out of condition counts.
OUT_OF_SCOPE_SNOMED_CODES = (
    "271737000",  # anaemia
    "68566005",  # urinary tract infection
    "73211009",  # diabetes mellitus, unspecified type (not in the list on purpose)
    "396275006",  # osteoarthritis
    "40930008",  # hypothyroidism
    "267036007",  # dyspnoea
)

# Repeat prescribing per condition: each entry is one drug slot; a person on the slot gets
# one of the alternatives (9-character BNF chemical-substance codes, first 4 = section).
REPEAT_DRUGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "hypertension": (("0205051R0", "0206020A0", "0205052N0"), ("0202010B0", "0206020A0")),
    "type 1 diabetes": (("0601012D0", "0601011N0"),),
    "type 2 diabetes": (("0601022B0",), ("0601021M0", "0601023AG")),
    "asthma": (("0301011R0",), ("0302000C0", "0302000N0")),
    "COPD": (("0301011R0",), ("0301020Q0", "0301011AB")),
    "heart failure": (("0202020L0",), ("0204000H0",)),
    "atrial fibrillation": (("0208020Z0", "0208020Y0"), ("0204000H0",)),
    "ischaemic heart disease": (("0212000B0",), ("0209000A0",), ("0206010F0",)),
    "stroke": (("0212000B0",), ("0209000C0",)),
    "chronic kidney disease": (("0212000B0", "0205051R0"),),
    "dementia": (("0411000D0", "0411000F0"),),
    "depression": (("0403030Q0", "0403030E0", "0403040X0"),),
    "schizophrenia": (("0402010AB", "0402010J0"),),
    "bipolar disorder": (("0402030K0",),),
    "cancer": (("0803041S0", "0407010H0"),),
    "epilepsy": (("0408010AE", "0408010G0"),),
    "rheumatoid arthritis": (("1001030U0",), ("0901020G0",)),
    "osteoporosis": (("0606020A0",), ("0906040G0",)),
    "Parkinson's disease": (("0409010N0",),),
    "learning disability": (),
}
ACUTE_DRUGS = (
    "0501013B0",  # amoxicillin
    "0501130R0",  # nitrofurantoin
    "0407010H0",  # paracetamol
    "1001010J0",  # ibuprofen
    "0106040M0",  # macrogol
    "1302011C0",  # emollient
    "0304010G0",  # chlorphenamine
)

CONSULTATION_MODES = ("face_to_face", "telephone", "video", "home_visit", "online")
CONSULTATION_MODE_SHARES = (0.62, 0.30, 0.01, 0.005, 0.065)
# Frail and care-home patients are seen at home far more often.
CONSULTATION_MODE_SHARES_FRAIL = (0.45, 0.30, 0.005, 0.22, 0.025)
CLINICIANS = ("gp", "nurse", "pharmacist", "other")
CLINICIAN_SHARES = (0.50, 0.30, 0.06, 0.14)

BMI_CODE = "60621009"
SYSTOLIC_CODE = "271649006"
HBA1C_CODE = "999791000000106"
SMOKING_CODES = ("77176002", "8517006", "266919005")  # current, ex, never
SMOKING_SHARES = (0.13, 0.25, 0.62)

TREATMENT_FUNCTIONS_GENERAL = (
    "300",
    "100",
    "101",
    "110",
    "120",
    "130",
    "301",
    "320",
    "330",
    "340",
    "400",
    "502",
)
TREATMENT_FUNCTION_SHARES_GENERAL = (
    0.10,
    0.10,
    0.07,
    0.17,
    0.07,
    0.14,
    0.06,
    0.08,
    0.07,
    0.04,
    0.04,
    0.06,
)
PAEDIATRIC_TREATMENT_FUNCTION = "420"
# Specialty clinic most likely to follow each condition (by condition index).
CONDITION_TREATMENT_FUNCTIONS = (
    "320",
    "302",
    "302",
    "340",
    "340",
    "320",
    "320",
    "320",
    "400",
    "361",
    "430",
    "710",
    "710",
    "710",
    "370",
    "400",
    "410",
    "430",
    "400",
    "300",
)
ATTENDANCE_STATUS_CODES = ("5", "6", "7", "3", "2", "4")
# Did-not-attend (code 3) is set per person; these are the shares of the other outcomes.
ATTENDANCE_STATUS_OTHER_SHARES = (0.860, 0.045, 0.005, 0.0, 0.050, 0.040)

EMERGENCY_METHODS = ("21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D")
EMERGENCY_METHOD_SHARES = (0.70, 0.08, 0.01, 0.03, 0.01, 0.09, 0.03, 0.02, 0.005, 0.025)
ELECTIVE_METHODS = ("11", "12", "13")
ELECTIVE_METHOD_SHARES = (0.60, 0.25, 0.15)
MATERNITY_METHODS = ("31", "32")
MATERNITY_METHOD_SHARES = (0.85, 0.15)
TRANSFER_METHOD = "81"
NEWBORN_METHOD = "82"

# Emergency primary diagnoses (ICD-10) plausible for each condition, by condition index.
CONDITION_DIAGNOSES = (
    ("I10", "R55"),
    ("E10.1", "E10.9"),
    ("E11.9", "E11.6"),
    ("J45.9", "J45.0"),
    ("J44.1", "J44.0"),
    ("I50.0", "I50.9"),
    ("I48.9", "I48.0"),
    ("I21.9", "I20.0"),
    ("I63.9", "I64"),
    ("N17.9", "N18.4"),
    ("F03", "R41.0"),
    ("F32.9", "X84"),
    ("F20.9", "F20.0"),
    ("F31.9", "F31.6"),
    ("C34.9", "C18.9"),
    ("G40.9", "G41.9"),
    ("M06.9", "M05.9"),
    ("S72.0", "M80.9"),
    ("G20", "R26.8"),
    ("G40.9", "J69.0"),
)
CHILD_DIAGNOSES = ("J06.9", "A09.9", "J21.9", "R50.9", "J18.9", "S06.0")
ADULT_DIAGNOSES = ("R07.4", "R10.4", "N39.0", "J18.9", "K35.8", "S52.5", "R55", "L03.1")
OLDER_DIAGNOSES = ("J18.9", "N39.0", "S72.0", "R29.6", "E86", "R55", "I26.9", "L03.1")
ELECTIVE_DIAGNOSES = ("H25.9", "M17.1", "M16.1", "K57.3", "K80.2", "N40", "D12.6", "C50.9")
CHEMOTHERAPY_DIAGNOSIS = "Z51.1"
MATERNITY_DIAGNOSES = ("O80", "O82", "O47.9")
MATERNITY_DIAGNOSIS_SHARES = (0.6, 0.25, 0.15)
NEWBORN_DIAGNOSIS = "Z38.0"

PROVIDER_CODES = ("RF4", "RQX", "RAL", "RRV", "RKE", "RAP", "R1H", "RAX")

SERVICE_TYPES = ("home_care", "reablement", "day_care", "residential", "nursing")

# Published figures (published-rates.md) the generator is calibrated to.
EMERGENCY_AGE_BANDS = ((0, 4), (5, 14), (15, 44), (45, 64), (65, 74), (75, 84), (85, 200))
EMERGENCY_RATE_PER_1000 = (150.0, 40.0, 70.0, 90.0, 150.0, 280.0, 550.0)
AE_ATTENDANCES_PER_1000 = 420.0
OUTPATIENTS_PER_1000 = 1700.0
CONSULTATIONS_PER_PERSON = 5.0
ELECTIVE_ADMISSIONS_PER_1000 = 120.0
DEATHS_PER_YEAR = 0.0105
TYPE1_OPT_OUT_SHARE = 0.033
CARE_HOME_SHARE_BY_AGE = ((65, 74, 0.007), (75, 84, 0.035), (85, 200, 0.13))
PRACTICE_MEDIAN_LIST_SIZE = 9000
