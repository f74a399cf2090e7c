"""Write the lists' files into the outbox: one delivery folder per practice and per federation.

Each file is written atomically (temporary name, then rename) with mode 0600 into a folder
made owner-only (0700), and ``manifest.csv`` is written last, naming the model and the
deliveries the files were made from (``manifest``); the manifests of earlier publications
of the folder stay in its ``manifests/``. Folder paths come from ``paths``, which checks
every code. The same document gives the same bytes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from lists.documents import (
    FederationSummary,
    PracticeList,
    PublishedList,
    PublishedSummary,
    tier_column,
)
from lists.manifest import DeliveredFile, MadeFrom, write_manifest
from lists.paths import make_private_folder
from lists.rendering import practice_documents, render_federation_html
from warehouse.csv_safety import csv_text
from warehouse.files import write_bytes_atomic

log = logging.getLogger(__name__)

CSV_FILE, XLSX_FILE, HTML_FILE = "risk_list.csv", "risk_list.xlsx", "risk_list.html"
SUMMARY_CSV, SUMMARY_HTML = "practice_summary.csv", "practice_summary.html"
PSEUDONYMS_CSV = "risk_tiers_pseudonymised.csv"


WORKER = "lists.rendering_worker"
_ROOT = str(Path(__file__).resolve().parents[1])  # where the worker imports lists from
# Below this many listed people in all, the lists' files are rendered in this process only:
# a worker process costs about a quarter of a second to start (benchmarks/practice_files.py).
PARALLEL_RENDERING_ROWS = 10_000


def practice_files(item: PracticeList) -> dict[str, bytes]:
    """risk_list.csv, .xlsx and .html of one list (`rendering.practice_documents`)."""
    return _as_files(practice_documents(item))


def _as_files(documents: tuple[bytes, bytes, bytes]) -> dict[str, bytes]:
    return dict(zip((CSV_FILE, XLSX_FILE, HTML_FILE), documents, strict=True))


def render_practice_files(
    items: Sequence[PracticeList], *, parallel: bool | None = None
) -> list[dict[str, bytes]]:
    """`practice_files` of each list, in order: the same bytes however they are rendered.

    Rendering is pure Python (6 s for the 111 lists of 1,000,000 people), so with many
    lists and two cores a worker process (`lists.rendering_worker`, a fresh interpreter
    that imports only the renderers) renders every other list while this process renders
    the rest. Not multiprocessing: its worker processes re-import the parent's main module
    (a benchmark, a test runner, or nothing importable at all), and a fork of this process
    would copy the locks of its other threads (the warehouse's, the model's). If the
    worker fails, this process renders its lists too, with a warning.
    """
    if parallel is None:
        from models.registry import available_cores

        rows = sum(len(item.rows) for item in items)
        parallel = rows >= PARALLEL_RENDERING_ROWS and available_cores() >= 2
    if not parallel or len(items) < 2:
        return [practice_files(item) for item in items]
    theirs = list(items[1::2])
    request = pickle.dumps(theirs)
    answer: list[bytes] = []
    worker = None
    try:
        # -P: lists is imported from this installation (PYTHONPATH), never from the
        # working directory.
        worker = subprocess.Popen(
            [sys.executable, "-P", "-m", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # a traceback could quote a list's row: never logged
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, (_ROOT, os.environ.get("PYTHONPATH")))),
            },
        )
    except OSError as error:
        log.warning("the rendering worker did not start (%s); rendering here", error.strerror)
    talking = threading.Thread(
        target=lambda: answer.append(worker.communicate(request)[0]) if worker else None,
        daemon=True,
    )
    talking.start()
    try:
        mine = [practice_files(item) for item in items[::2]]
    except BaseException:
        if worker is not None:
            worker.kill()
        raise
    finally:
        talking.join()
    rendered = _worker_answer(answer, worker.returncode if worker else None, len(theirs))
    if rendered is None:
        if worker is not None:
            worker.kill()  # if it is still running, it answers no one
            worker.wait()
            log.warning(
                "the rendering worker failed (exit status %s); rendering its %d lists here",
                worker.returncode,
                len(theirs),
            )
        rendered = [practice_files(item) for item in theirs]
    ordered: list[dict[str, bytes]] = [{} for _ in items]
    ordered[::2], ordered[1::2] = mine, rendered
    return ordered


def _worker_answer(
    answer: list[bytes], returncode: int | None, expected: int
) -> list[dict[str, bytes]] | None:
    """The worker's documents as files, or None if it failed or answered wrongly."""
    if returncode != 0 or not answer:
        return None
    try:
        documents = pickle.loads(answer[0])  # our own worker's answer
    except Exception:  # any unreadable answer: render here instead
        return None
    if not isinstance(documents, list) or len(documents) != expected:
        return None
    return [_as_files(files) for files in documents]


def write_practice_delivery(
    outbox: Path,
    folder: Path,
    item: PracticeList,
    made_from: MadeFrom,
    contents: dict[str, bytes],
) -> PublishedList:
    """risk_list.csv, .xlsx, .html (`contents`, as `render_practice_files` rendered them), then
    manifest.csv, each atomically with mode 0600."""
    make_private_folder(folder, outbox)
    for name, content in contents.items():
        write_bytes_atomic(folder / name, content)
    write_manifest(folder, [DeliveredFile(name, len(item.rows)) for name in contents], made_from)
    return PublishedList(
        practice_code=item.practice.code,
        federation_code=item.practice.federation_code,
        folder=str(folder.relative_to(outbox)),
        population=item.population,
        listed=len(item.rows),
        listed_per_tier=item.listed_per_tier,
        new_to_list=item.new_to_list,
        changed_tier=item.changed_tier,
        data_quality=item.data_quality,
        files={name: hashlib.sha256(content).hexdigest() for name, content in contents.items()},
    )


def write_federation_delivery(
    outbox: Path, folder: Path, summary: FederationSummary, made_from: MadeFrom
) -> PublishedSummary:
    """practice_summary.csv, .html, risk_tiers_pseudonymised.csv, then manifest.csv."""
    make_private_folder(folder, outbox)
    contents = {
        SUMMARY_CSV: (summary_csv(summary), len(summary.practices)),
        SUMMARY_HTML: (render_federation_html(summary).encode("utf-8"), len(summary.practices)),
        PSEUDONYMS_CSV: (pseudonyms_csv(summary), summary.pseudonymised.height),
    }
    for name, (content, _rows) in contents.items():
        write_bytes_atomic(folder / name, content)
    write_manifest(
        folder,
        [DeliveredFile(name, rows) for name, (_content, rows) in contents.items()],
        made_from,
    )
    return PublishedSummary(
        federation_code=summary.federation_code,
        folder=str(folder.relative_to(outbox)),
        practices=len(summary.practices),
        people_scored=int(summary.totals["people_scored"]),
        people_per_tier={t: int(summary.totals[tier_column(t)]) for t in summary.tier_names},
        expected_people_admitted_next_12m=float(
            summary.totals["expected_people_admitted_next_12m"]
        ),
        observed_people_admitted_last_12m=int(summary.totals["observed_people_admitted_last_12m"]),
        files={name: rows for name, (_content, rows) in contents.items()},
    )


def summary_csv(summary: FederationSummary) -> bytes:
    rows = (
        [
            "" if row[c] is None else (f"{row[c]:.1f}" if isinstance(row[c], float) else row[c])
            for c in summary.columns
        ]
        for row in summary.practices
    )
    return csv_text(summary.columns, rows).encode("utf-8")


def pseudonyms_csv(summary: FederationSummary) -> bytes:
    rows = (
        [pseudonym, practice_code, tier, f"{risk:.4f}", "Y" if on_list else "N"]
        for pseudonym, practice_code, tier, risk, on_list in summary.pseudonymised.iter_rows()
    )
    header = ["pseudonym", "practice_code", "tier", "risk_score", "on_practice_list"]
    return csv_text(header, rows).encode("utf-8")
