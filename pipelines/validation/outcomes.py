"""What a finished run says about its validation, in words for the person who ran it.

Used by the ``riskstrat run`` runner: a failed blocking check becomes one paragraph naming
month, feed, file and rule (taken from the check's ``summary`` metadata, which never
holds a row's values), and Data Docs are rebuilt after every run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dagster as dg

logger = logging.getLogger(__name__)


def blocking_check_message(result: dg.ExecuteInProcessResult) -> str | None:
    """One paragraph for the blocking checks that failed with ERROR severity, or None."""
    failed = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    if not failed:
        return None
    sentences = []
    for evaluation in failed:
        summary = evaluation.metadata.get("summary")
        text = summary.value if summary is not None else evaluation.description
        sentences.append(f"blocking check {evaluation.check_name} failed: {text}")
    return (
        " ".join(sentences)
        + " Nothing is built on this month's staged data until the cause is fixed and the month rerun;"
        " see reports/data_quality/ and reports/data_docs/index.html."
    )


def update_data_docs(home: Path) -> None:
    """Rebuild Data Docs if any suite has run under this home; never fails the run.

    Runs after a failed step too, so it must stay quiet: a fault here is one warning line,
    never GX's own tracebacks (which once buried the run's one-paragraph error).
    """
    if not (home / "gx").is_dir():
        return
    silenced = logging.root.manager.disable
    logging.disable(logging.CRITICAL)  # GX logs each unrenderable result with its traceback
    try:
        # Registers riskstrat's own expectations (valid NHS numbers) with GX, which a run
        # stopped before any validation step would not have imported: without them GX
        # cannot render the stored suites.
        import data_contracts.expectations  # noqa: F401
        from warehouse.validation import build_data_docs

        build_data_docs(home)
    except Exception as error:  # a view: a rendering fault must not hide the run's outcome
        logging.disable(silenced)
        logger.warning("Data Docs were not rebuilt: %s", str(error).splitlines()[0][:200])
    finally:
        logging.disable(silenced)
