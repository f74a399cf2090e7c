"""Reference data of the synthetic area: GP practices in federations, and LSOAs with IMD.

Practices get lognormal list sizes around a median of about 9,000 and sit in federations
of 5-15 practices (fewer when the population is too small for that). Each practice has a
catchment of neighbouring LSOAs whose deprivation clusters around the practice's own, as
real catchments do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from synthetic import codes

_PLACES = (
    "Abbey",
    "Ashford",
    "Beech",
    "Bridge",
    "Brook",
    "Castle",
    "Church",
    "Cliff",
    "Elm",
    "Field",
    "Forest",
    "Garden",
    "Green",
    "Grove",
    "Hall",
    "Heath",
    "High",
    "Hill",
    "Kings",
    "Lake",
    "Lime",
    "Manor",
    "Market",
    "Meadow",
    "Mill",
    "Oak",
    "Orchard",
    "Park",
    "Priory",
    "Queens",
    "River",
    "Rose",
    "Station",
    "Valley",
    "Vale",
    "Victoria",
    "Well",
    "West",
)
_PRACTICE_KINDS = (
    "Surgery",
    "Medical Centre",
    "Health Centre",
    "Medical Practice",
    "Family Practice",
)
_FEDERATION_LETTERS = "ABCDFGHJKLMNPRSTVW"
RESIDENTS_PER_LSOA = 1600


@dataclass(frozen=True)
class Area:
    """Practices, federations and LSOAs, with the arrays the simulation needs."""

    practices: pl.DataFrame
    lsoas: pl.DataFrame
    practice_codes: np.ndarray  # str, by practice index
    practice_weights: np.ndarray  # share of the population registered at each practice
    practice_federation: np.ndarray  # federation index of each practice
    catchment_start: np.ndarray  # first LSOA index of each practice's catchment
    catchment_size: np.ndarray
    lsoa_deprivation: np.ndarray  # 0 least .. 1 most deprived, by LSOA index
    federations: int


def build_area(people: int, rng: np.random.Generator) -> Area:
    """Practices, federations and LSOAs sized for `people` registered patients."""
    practice_count = max(2, round(people / codes.PRACTICE_MEDIAN_LIST_SIZE))
    federation_count = max(1, round(practice_count / 9))
    # Near-equal federations: sizes differ by at most one practice.
    federation_of_practice = np.sort(np.arange(practice_count) % federation_count)
    list_sizes = rng.lognormal(mean=0.0, sigma=0.45, size=practice_count)
    weights = list_sizes / list_sizes.sum()

    codes_out: list[str] = []
    names: list[str] = []
    for practice in range(practice_count):
        federation = int(federation_of_practice[practice])
        letter = _FEDERATION_LETTERS[federation % len(_FEDERATION_LETTERS)]
        number = 81001 + practice + 100 * (federation // len(_FEDERATION_LETTERS))
        codes_out.append(f"{letter}{number:05d}")
        place = _PLACES[int(rng.integers(len(_PLACES)))]
        kind = _PRACTICE_KINDS[int(rng.integers(len(_PRACTICE_KINDS)))]
        names.append(f"{place} {kind}")
    federation_names = [
        f"{_PLACES[(7 * federation + 3) % len(_PLACES)]} Locality"
        for federation in range(federation_count)
    ]
    vanguard = rng.random(practice_count) < 0.3
    vanguard[int(rng.integers(practice_count))] = True
    practices = pl.DataFrame(
        {
            "practice_code": codes_out,
            "practice_name": names,
            "federation_code": [
                f"FED{federation + 1:02d}" for federation in federation_of_practice
            ],
            "federation_name": [
                federation_names[federation] for federation in federation_of_practice
            ],
            "vanguard": np.where(vanguard, "Y", "N").tolist(),
        }
    )

    # Catchments: contiguous blocks of LSOAs, sized with the practice's list.
    lsoa_per_practice = np.maximum(2, np.round(weights * people / RESIDENTS_PER_LSOA)).astype(
        np.int64
    )
    catchment_start = np.concatenate([[0], np.cumsum(lsoa_per_practice)[:-1]])
    lsoa_count = int(lsoa_per_practice.sum())
    practice_centre = rng.uniform(0.5, 10.5, size=practice_count)
    decile = np.clip(
        np.round(np.repeat(practice_centre, lsoa_per_practice) + rng.normal(0, 1.8, lsoa_count)),
        1,
        10,
    ).astype(np.int64)
    lsoa_numbers = 10_000 + np.sort(rng.choice(900_000, size=lsoa_count, replace=False))
    lsoas = pl.DataFrame(
        {
            "lsoa_code": [f"E01{number:06d}" for number in lsoa_numbers],
            "imd_decile": decile,
        }
    )
    return Area(
        practices=practices,
        lsoas=lsoas,
        practice_codes=np.array(codes_out),
        practice_weights=weights,
        practice_federation=federation_of_practice,
        catchment_start=catchment_start,
        catchment_size=lsoa_per_practice,
        lsoa_deprivation=(10 - decile) / 9.0,
        federations=federation_count,
    )
