"""Synthetic landing zones for riskstrat: a stand-in for the GP, hospital and council feeds.

`generate(out, people, months, seed, start, faults)` writes `out/landing/` exactly as
docs/landing-zone.md specifies, plus `out/truth.csv` (each person's true 12-month
emergency-admission risk) and, with `faults=True`, `out/faults.json`. It is not part of
the pipeline and depends on numpy and polars only.
"""

from synthetic.generator import GenerationSummary, generate

__all__ = ["GenerationSummary", "generate"]
