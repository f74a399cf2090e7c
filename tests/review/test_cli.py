"""`riskstrat users add|disable|list` and `riskstrat serve`'s refusal to expose plain http."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest

from pipelines.cli import main
from review.accounts import list_users
from review.store import open_store, store_path
from tests.lists.conftest import TEST_KEY
from tests.review.conftest import PASSWORD, PRACTICE_USER, log_in, make_client
from warehouse.home import Home


def riskstrat(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_users_add_list_and_disable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = Home(tmp_path / "home")
    password = "a long enough password\n"
    add = ("users", "add", "--home", str(home.root), "--password-stdin")
    assert riskstrat(monkeypatch, *add, "jo.gp", "--practice", "A81001", stdin=password) == 0
    assert riskstrat(monkeypatch, *add, "fed.lead", "--federation", "FED01", stdin=password) == 0
    assert riskstrat(monkeypatch, *add, "jo.gp", "--practice", "A81001", stdin=password) == 1
    assert riskstrat(monkeypatch, *add, "short.pw", "--practice", "A81001", stdin="short\n") == 1
    assert riskstrat(monkeypatch, *add, "bad.code", "--practice", "../x", stdin=password) == 1
    assert riskstrat(monkeypatch, "users", "list", "--home", str(home.root)) == 0
    out, err = capsys.readouterr()
    assert "jo.gp  practice A81001" in out and "fed.lead  federation FED01 (counts only)" in out
    assert "already an account" in err and "shorter than 12" in err and "not a practice code" in err
    assert "Traceback" not in err
    assert riskstrat(monkeypatch, "users", "disable", "jo.gp", "--home", str(home.root)) == 0
    with open_store(home) as store:
        assert [(u.username, u.disabled) for u in list_users(store)] == [
            ("fed.lead", False),
            ("jo.gp", True),
        ]
    assert store_path(home).stat().st_mode & 0o777 == 0o600
    assert riskstrat(monkeypatch, "users", "disable", "nobody", "--home", str(home.root)) == 1


def test_disabling_an_account_ends_its_sessions(
    review_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(review_home) as client:
        assert log_in(client, PRACTICE_USER) == 303
        assert client.get("/practices/A81001/list").status_code == 200
        riskstrat(monkeypatch, "users", "disable", PRACTICE_USER, "--home", str(review_home.root))
        assert client.get("/practices/A81001/list").status_code == 303
        assert log_in(client, PRACTICE_USER, PASSWORD) == 401


def test_serve_refuses_plain_http_off_the_loopback_interface(
    review_home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = riskstrat(
        monkeypatch,
        "serve",
        "--home",
        str(review_home.root),
        "--host",
        "0.0.0.0",
        "--insecure-cookies",
    )
    assert code == 1
    assert "loopback interface only" in capsys.readouterr().err


def test_simulate_reviews_records_plausible_decisions_through_the_store(
    review_home: Home, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISKSTRAT_PSEUDONYM_KEY", TEST_KEY.decode())
    assert riskstrat(monkeypatch, "simulate-reviews", "--home", str(review_home.root)) == 0
    assert "synthetic review decisions" in capsys.readouterr().out
    with open_store(review_home) as store:
        decisions = store.execute("SELECT * FROM decisions").fetchall()
        logged = store.execute("SELECT count(*) FROM access_log").fetchone()[0]
    by_practice = Counter(d["practice_code"] for d in decisions)
    # 20 listed at the vanguard A81001 (80% reviewed), 10 at each other practice (30%).
    assert by_practice["A81001"] > by_practice["A81002"] and by_practice["A81001"] >= 10
    assert all(d["reason"] for d in decisions if d["decision"] == "not_appropriate")
    assert {d["decided_by"] for d in decisions} == {"synthetic.reviewer"}
    assert logged == len(decisions)
    with make_client(review_home) as client:
        log_in(client, PRACTICE_USER)
        page = client.get("/practices/A81001/list", params={"status": "decided"})
    assert page.text.count("synthetic.reviewer") == by_practice["A81001"]
