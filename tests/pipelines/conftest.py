"""What the Dagster-layer tests share: a test home's resources."""

from __future__ import annotations

from typing import Any

from pipelines.resources import RunSettings, Warehouse


class HomeResources(Warehouse):
    """A test home's warehouse, and the landing zone its runs read.

    `resources()` gives the two resources every riskstrat asset, sensor and schedule takes.
    """

    landing: str

    def resources(self, **settings: Any) -> dict[str, Any]:
        return {
            "warehouse": Warehouse(home=self.home, lock_wait_seconds=self.lock_wait_seconds),
            "settings": RunSettings(landing=self.landing, **settings),
        }

    def settings(self, **settings: Any) -> RunSettings:
        return RunSettings(landing=self.landing, **settings)
