"""The practices' files rendered with a worker process: the same bytes as in this process,
and a failed worker costs only time (lists.outbox.render_practice_files)."""

from __future__ import annotations

import logging

import pytest

from lists import outbox
from lists.outbox import render_practice_files
from lists.practice_lists import build_practice_lists
from tests.lists.conftest import SCORE_MONTH, TEST_POLICY
from warehouse.connection import connect


@pytest.fixture
def lists(published_home):
    with connect(published_home.database) as connection:
        built, _ = build_practice_lists(
            connection, SCORE_MONTH, TEST_POLICY, models_dir=published_home.models
        )
    assert len(built) >= 3 and all(item.rows for item in built)
    return built


def test_a_worker_renders_the_same_bytes_in_the_same_order(
    lists, caplog: pytest.LogCaptureFixture
) -> None:
    here = render_practice_files(lists, parallel=False)
    with caplog.at_level(logging.WARNING, logger="lists.outbox"):
        assert render_practice_files(lists, parallel=True) == here
    assert "rendering worker" not in caplog.text  # the worker rendered its lists itself
    assert [sorted(files) for files in here] == [
        ["risk_list.csv", "risk_list.html", "risk_list.xlsx"]
    ] * len(lists)
    # Each list's own files: its first listed person's NHS number is in its CSV.
    for item, files in zip(lists, here, strict=True):
        assert item.rows[0]["nhs_number"].encode() in files["risk_list.csv"]


def test_a_failed_worker_leaves_its_lists_to_this_process(
    lists, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    here = render_practice_files(lists, parallel=False)
    monkeypatch.setattr(outbox, "WORKER", "lists.no_such_worker")
    with caplog.at_level(logging.WARNING, logger="lists.outbox"):
        assert render_practice_files(lists, parallel=True) == here
    assert "the rendering worker failed (exit status 1)" in caplog.text
    numbers = {row["nhs_number"] for item in lists for row in item.rows}
    assert not any(number in caplog.text for number in numbers)


def test_many_listed_people_bring_in_the_worker(lists, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []
    real = outbox.subprocess.Popen

    def popen(*args, **kwargs):
        started.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(outbox.subprocess, "Popen", popen)
    monkeypatch.setattr("models.registry.available_cores", lambda: 2)
    render_practice_files(lists)
    assert started == []  # a test home's few listed people: rendered here
    monkeypatch.setattr(outbox, "PARALLEL_RENDERING_ROWS", 1)
    render_practice_files(lists)
    assert len(started) == 1 and started[0][-1] == "lists.rendering_worker"


def test_a_worker_that_cannot_start_leaves_its_lists_to_this_process(
    lists, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    here = render_practice_files(lists, parallel=False)
    monkeypatch.setattr(outbox.sys, "executable", "/nonexistent/python")
    with caplog.at_level(logging.WARNING, logger="lists.outbox"):
        assert render_practice_files(lists, parallel=True) == here
    assert "the rendering worker did not start" in caplog.text
