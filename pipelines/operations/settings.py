"""Operations settings, from the environment so that `dagster dev` and the daemon agree.

RISKSTRAT_SCHEDULE_CRON       when the monthly schedule ticks (default "0 6 10 * *": the
                              10th at 06:00, after the expected delivery day)
RISKSTRAT_SCHEDULE_TIMEZONE   its time zone (default Europe/London)
RISKSTRAT_RETRAIN_EVERY       retrain once this many new labelled months exist since the
                              current model's latest index date (default 3: quarterly)
RISKSTRAT_DRIFT_THRESHOLD     PSI above which drift warns and triggers retraining (0.2)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from models.retraining import DEFAULT_RETRAIN_EVERY

DEFAULT_CRON = "0 6 10 * *"
DEFAULT_TIMEZONE = "Europe/London"

DEFAULT_DRIFT_THRESHOLD = 0.2


@dataclass(frozen=True)
class OperationsSettings:
    cron: str = DEFAULT_CRON
    timezone: str = DEFAULT_TIMEZONE
    retrain_every_months: int = DEFAULT_RETRAIN_EVERY
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD


def operations_from_environment() -> OperationsSettings:
    return OperationsSettings(
        cron=os.environ.get("RISKSTRAT_SCHEDULE_CRON", DEFAULT_CRON),
        timezone=os.environ.get("RISKSTRAT_SCHEDULE_TIMEZONE", DEFAULT_TIMEZONE),
        retrain_every_months=int(os.environ.get("RISKSTRAT_RETRAIN_EVERY", DEFAULT_RETRAIN_EVERY)),
        drift_threshold=float(os.environ.get("RISKSTRAT_DRIFT_THRESHOLD", DEFAULT_DRIFT_THRESHOLD)),
    )
