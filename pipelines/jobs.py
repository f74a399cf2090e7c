"""Jobs the CLI, schedules and sensors launch."""

from __future__ import annotations

import dagster as dg

from pipelines.loading.assets import deliveries, reference_data
from pipelines.partitions import extract_months

reference_job = dg.define_asset_job(
    "reference_job", selection=dg.AssetSelection.assets(reference_data),
    description="Reload the practices and LSOA reference files.",
)

monthly_job = dg.define_asset_job(
    "monthly_job",
    selection=dg.AssetSelection.assets(deliveries),
    partitions_def=extract_months,
    description="Load and validate one extract month.",
)
