"""MonthState: what happened to whom in one simulated month.

The simulation fills one in each month; the feed writers turn it into rows. It is a plain
record in a module of its own, so the writers can read it without importing the code
that makes it (which imports them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MonthState:
    """What happened to whom in one month; the feed writers turn it into rows."""

    index: int
    label: str
    first_day: int
    last_day: int
    present: np.ndarray  # people registered at some time in the month, ascending
    window_start: np.ndarray  # per present person: first day registered in the month
    window_end: np.ndarray  # per present person: last day registered (exit day or month end)
    emergency_person: np.ndarray  # one entry per emergency admission (person index)
    emergency_day: np.ndarray
    care_home_entrants: np.ndarray
    care_home_entry_day: np.ndarray
    births: np.ndarray
