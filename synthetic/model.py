"""The latent health process that drives every synthetic record.

Each person carries a latent frailty `h` that evolves monthly (mean-reverting random walk
that drifts up with age and deprivation, plus rare acute shocks). Long-term conditions
accrue faster when `h` is high; the monthly emergency-admission hazard depends on `h`, the
conditions a person truly has (recorded or not), care-home residence, deprivation, the
under-served subgroup and recent emergency admissions. Deaths, care-home entry and
consultations depend on the same state, so the past predicts the future as in real data.

The step functions here are shared by the simulation (simulation.py) and the ground-truth
calculation (truth.py): the truth must use exactly the dynamics that made the data, and
never the simulation's own future random draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from synthetic import codes

MAXIMUM_AGE = 110
AGES = np.arange(MAXIMUM_AGE + 1)

# Latent frailty: monthly persistence, innovation, acute shocks, drift with age/deprivation.
PERSISTENCE = 0.97
INNOVATION_SD = 0.17
SHOCK_PROBABILITY = 0.004
SHOCK_SIZE = 0.8
DEPRIVATION_DRIFT = 0.3
# Stationary variance of h (innovations plus shocks), used to normalise exp(effect * h).
FRAILTY_VARIANCE = (
    INNOVATION_SD**2 + SHOCK_PROBABILITY * (1 - SHOCK_PROBABILITY) * SHOCK_SIZE**2
) / (1 - PERSISTENCE**2)
# How strongly frailty raises each outcome (per unit of h). Effects of 1 and 1/2 let the
# ground truth share one exp() and one sqrt() per person-month (truth.py).
CONDITION_FRAILTY_EFFECT = 0.5
ADMISSION_FRAILTY_EFFECT = 1.0
DEATH_FRAILTY_EFFECT = 0.5
CONSULTATION_FRAILTY_EFFECT = 0.35
# Other terms of the log emergency-admission hazard.
CARE_HOME_EFFECT = 0.3
DEPRIVATION_EFFECT = 0.35
UNDERSERVED_EFFECT = 0.15
PRIOR_ADMISSION_EFFECT = 0.7
PRIOR_ADMISSION_DECAY = 0.85
# Recent admissions raise the hazard only up to a point, so it cannot run away.
PRIOR_ADMISSION_CAP = 3.0
MAXIMUM_MONTHLY_ADMISSIONS = 1.5
# Being admitted raises the chance of dying that month.
DEATH_AFTER_ADMISSION_FACTOR = 3.0
# Monthly probability of moving out of the area.
LEAVING_YOUNGER = 0.0045
LEAVING_OLDER = 0.0015
LEAVING_CARE_HOME = 0.0005
# Access: how much of their need the under-served and the most deprived take to their GP,
# and how likely a new condition is to be coded.
UNDERSERVED_CONSULTATION_FACTOR = 0.55
DEPRIVED_CONSULTATION_FACTOR = 0.85
RECORDING_PROBABILITY = 0.92
UNDERSERVED_RECORDING_PROBABILITY = 0.6
RECORDING_LAG_DAYS = 45.0
UNDERSERVED_RECORDING_LAG_DAYS = 150.0


def age_structure() -> np.ndarray:
    """Share of the population at each single year of age (ONS mid-2021 shape)."""
    weights = np.zeros(AGES.size)
    weights[0:16] = 0.19 / 16
    weights[16:65] = 0.63 / 49
    older = np.clip(96.0 - AGES[65:85], 1, None)
    weights[65:85] = 0.155 * older / older.sum()
    oldest = np.exp(-(AGES[85:] - 85) / 4.5)
    weights[85:] = 0.025 * oldest / oldest.sum()
    return weights / weights.sum()


def band_of(ages: np.ndarray, bands: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Index of the age band each age falls in."""
    upper = np.array([band[1] for band in bands])
    return np.searchsorted(upper, ages, side="left")


def _condition_shape(condition: codes.Condition) -> np.ndarray:
    ages = AGES.astype(float)
    if condition.shape == "logistic":
        shape = 1.0 / (1.0 + np.exp(-(ages - condition.midpoint) / condition.scale))
    else:
        shape = np.clip((ages - condition.midpoint) / condition.scale, 0.0, 1.0)
    shape[ages < condition.minimum_age] = 0.0
    return shape


@dataclass
class Model:
    """Calibrated tables of the process; built once per run from the published figures."""

    true_prevalence: np.ndarray  # [condition, age, female] probability of truly having it
    prevalence_threshold: np.ndarray  # [condition, age, female] score threshold at start
    incidence: np.ndarray  # [condition, age, female] monthly onset probability at mean h
    admission_weights: np.ndarray  # [condition]
    emergency_intercept: np.ndarray  # [age] log monthly hazard before other terms
    death_base: np.ndarray  # [age] monthly death probability before frailty terms
    care_home_entry_base: np.ndarray  # [age]
    frailty_reference: float  # mean h, so exp(effect * (h - reference)) averages near 1
    condition_normaliser: float
    death_normaliser: float
    consultation_base: np.ndarray  # [age, female] monthly consultations before terms
    ae_base: np.ndarray  # [age] monthly non-admitted A&E attendances
    outpatient_base: np.ndarray  # [age]
    elective_base: np.ndarray  # [age]

    @classmethod
    def from_published_rates(cls) -> Model:
        structure = age_structure()
        female_share = 0.505
        prevalence = np.zeros((len(codes.CONDITIONS), AGES.size, 2))
        for position, condition in enumerate(codes.CONDITIONS):
            shape = _condition_shape(condition)
            # Split the female ratio so the sex-average of the shape stays the same.
            male_factor = 1.0 / (1.0 - female_share + female_share * condition.female_ratio)
            female_factor = condition.female_ratio * male_factor
            denominator = structure[condition.denominator_age :].sum()
            recorded_share = 0.9 * RECORDING_PROBABILITY + 0.1 * UNDERSERVED_RECORDING_PROBABILITY
            level = condition.target * denominator / (structure * shape).sum() / recorded_share
            prevalence[position, :, 0] = np.clip(level * shape * male_factor, 0, 0.9)
            prevalence[position, :, 1] = np.clip(level * shape * female_factor, 0, 0.9)
        # At the start a person has a condition when CONDITION_FRAILTY_EFFECT * (h - mean)
        # + N(0, 1) passes the threshold for their age and sex, so frailer people carry more.
        score_sd = float(np.sqrt(1.0 + CONDITION_FRAILTY_EFFECT**2 * FRAILTY_VARIANCE))
        inverse = NormalDist().inv_cdf
        threshold = np.full(prevalence.shape, np.inf)
        positive = prevalence > 0
        threshold[positive] = [score_sd * inverse(1.0 - p) for p in prevalence[positive]]
        # Onsets keep age-specific prevalence steady as people age; the extra factor
        # replaces people with conditions who die sooner.
        next_year = np.concatenate([prevalence[:, 1:, :], prevalence[:, -1:, :]], axis=1)
        incidence = np.clip(next_year - prevalence, 0, None) / (1.0 - prevalence) / 12.0 * 1.3
        weights = np.array([condition.admission_weight for condition in codes.CONDITIONS])
        ages = AGES.astype(float)
        death_base = 0.11 / 12.0 * np.exp(0.094 * (ages - 85.0))
        death_base[0] = 0.004 / 12.0
        care_entry = np.where(ages >= 85, 0.13, np.where(ages >= 75, 0.035, 0.007))
        care_entry[ages < 65] = 0.0
        consultation = np.empty((AGES.size, 2))
        consultation[:, 0] = np.select(
            [ages < 5, ages < 16, ages < 45, ages < 65, ages < 75, ages < 85],
            [1.5, 0.55, 0.55, 0.9, 1.3, 1.7],
            2.2,
        )
        consultation[:, 1] = np.where((ages >= 16) & (ages < 45), 1.05, consultation[:, 0])
        ae = np.select(
            [ages < 5, ages < 16, ages < 45, ages < 65, ages < 75, ages < 85],
            [1.4, 0.7, 0.9, 0.65, 0.7, 1.0],
            1.6,
        )
        outpatient = np.select(
            [ages < 16, ages < 45, ages < 65, ages < 75, ages < 85], [0.35, 0.6, 1.0, 1.6, 1.9], 1.5
        )
        elective = np.select(
            [ages < 16, ages < 45, ages < 65, ages < 75, ages < 85], [0.3, 0.5, 1.1, 2.0, 2.2], 1.3
        )
        return cls(
            true_prevalence=prevalence,
            prevalence_threshold=threshold,
            incidence=incidence,
            admission_weights=weights,
            emergency_intercept=np.full(AGES.size, np.log(0.1 / 12.0)),
            death_base=death_base,
            care_home_entry_base=care_entry,
            frailty_reference=float(cls.frailty_mean(np.array(0.5))),
            condition_normaliser=float(
                np.exp(-(CONDITION_FRAILTY_EFFECT**2) * FRAILTY_VARIANCE / 2)
            ),
            death_normaliser=1.0,
            consultation_base=consultation,
            ae_base=ae,
            outpatient_base=outpatient,
            elective_base=elective,
        )

    # --- shared dynamics -------------------------------------------------------------

    @staticmethod
    def frailty_mean(deprivation: np.ndarray) -> np.ndarray:
        """Long-run mean of h: higher with deprivation (0 least .. 1 most deprived).

        Age works through the age-specific tables instead, so h is the person's frailty
        relative to others of their age and every age band keeps its published rates.
        """
        return np.asarray(
            DEPRIVATION_DRIFT * deprivation + SHOCK_PROBABILITY * SHOCK_SIZE / (1.0 - PERSISTENCE)
        )

    def advance_frailty(
        self, frailty: np.ndarray, mean: np.ndarray, innovation: np.ndarray, shock: np.ndarray
    ) -> np.ndarray:
        """One month of the latent process given standard-normal innovations and shocks."""
        drift_free_mean = mean - SHOCK_PROBABILITY * SHOCK_SIZE / (1.0 - PERSISTENCE)
        return (
            PERSISTENCE * frailty
            + (1.0 - PERSISTENCE) * drift_free_mean
            + INNOVATION_SD * innovation
            + SHOCK_SIZE * shock
        )

    def onset_factor(self, frailty: np.ndarray) -> np.ndarray:
        """Multiplier of the onset probability of every condition given h."""
        return (
            np.exp(CONDITION_FRAILTY_EFFECT * (frailty - self.frailty_reference))
            * self.condition_normaliser
        )

    def emergency_log_hazard(
        self,
        ages: np.ndarray,
        frailty: np.ndarray,
        condition_weight: np.ndarray,
        care_home: np.ndarray,
        deprivation: np.ndarray,
        underserved: np.ndarray,
        prior_admissions: np.ndarray,
    ) -> np.ndarray:
        """Log of the expected emergency admissions in one month."""
        log_hazard = (
            self.emergency_intercept[ages]
            + ADMISSION_FRAILTY_EFFECT * (frailty - self.frailty_reference)
            + condition_weight
            + CARE_HOME_EFFECT * care_home
            + DEPRIVATION_EFFECT * deprivation
            + UNDERSERVED_EFFECT * underserved
            + PRIOR_ADMISSION_EFFECT * np.log1p(np.minimum(prior_admissions, PRIOR_ADMISSION_CAP))
        )
        return np.minimum(log_hazard, np.log(MAXIMUM_MONTHLY_ADMISSIONS))

    def death_probability(
        self, ages: np.ndarray, frailty: np.ndarray, admitted: np.ndarray
    ) -> np.ndarray:
        """Monthly probability of death; higher in a month with an emergency admission."""
        probability = (
            self.death_base[ages]
            * np.exp(DEATH_FRAILTY_EFFECT * (frailty - self.frailty_reference))
            * self.death_normaliser
            * np.where(admitted, DEATH_AFTER_ADMISSION_FACTOR, 1.0)
        )
        return np.minimum(probability, 0.5)

    @staticmethod
    def leaving_probability(ages: np.ndarray, care_home: np.ndarray) -> np.ndarray:
        """Monthly probability of moving away (deregistration other than death)."""
        return np.where(
            care_home, LEAVING_CARE_HOME, np.where(ages >= 75, LEAVING_OLDER, LEAVING_YOUNGER)
        )

    def care_home_entry_probability(self, ages: np.ndarray, frailty: np.ndarray) -> np.ndarray:
        """Monthly probability that someone aged 65+ living at home moves into a care home."""
        return np.minimum(
            self.care_home_entry_base[ages] * np.exp(frailty - self.frailty_reference), 0.2
        )
