"""Spells: one month's hospital spells as parallel arrays, one entry per spell.

The hospital feed draws them and writes sus/admissions.csv from them; the social-care
feed follows the emergency ones up (reablement after discharge). A plain record in a
module of its own, so neither feed imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Spells:
    """Hospital spells: who, admitted when, how, for what, and discharged when."""

    person: np.ndarray
    day: np.ndarray  # admission day
    method: np.ndarray  # index into the hospital feed's admission methods
    diagnosis: np.ndarray  # index into the hospital feed's ICD-10 diagnoses
    discharge: np.ndarray  # day, or NEVER while still in hospital at extraction
