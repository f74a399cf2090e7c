"""The review app through FastAPI's TestClient: isolation, CSRF, rate limit, opt-outs, audit."""

from __future__ import annotations

import csv
import re
import sqlite3

import pytest
from fastapi.testclient import TestClient

from lists.outbox import CSV_FILE
from review.published import current_month, practice_entries, row_id, row_key
from review.store import open_store, store_path
from tests.lists.conftest import TEST_KEY, publish_months
from tests.lists.population import OPTED_OUT_LATEST, all_nhs_numbers
from tests.review.conftest import (
    FEDERATION_USER,
    OTHER_PRACTICE_USER,
    PASSWORD,
    PRACTICE_USER,
    csrf_token,
    log_in,
    make_client,
)
from warehouse.connection import WarehouseBusyError, connect
from warehouse.home import Home
from warehouse.opt_outs import refresh_opt_outs

KEY = row_key(TEST_KEY)


def published_rows(home: Home, practice_code: str) -> list[dict[str, str]]:
    month = current_month(home)
    assert month is not None
    entry = practice_entries(home, month)[practice_code]
    with (home.outbox / entry.folder / CSV_FILE).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def nhs_numbers_in(text: str) -> set[str]:
    """Ten-digit numbers, written plain or in NHS style (3 3 4)."""
    return {n.replace(" ", "") for n in re.findall(r"\b\d{3} ?\d{3} ?\d{4}\b", text)}


def access_log(home: Home) -> list[sqlite3.Row]:
    with open_store(home) as store:
        return store.execute("SELECT * FROM access_log ORDER BY id").fetchall()


def test_a_practice_user_sees_exactly_the_published_list_with_its_reasons(
    client: TestClient, review_home: Home
) -> None:
    assert log_in(client, PRACTICE_USER) == 303
    page = client.get("/practices/A81001/list")
    assert page.status_code == 200
    rows = published_rows(review_home, "A81001")
    assert rows, "the fixture published no list for A81001"
    shown = nhs_numbers_in(page.text)
    assert shown == {row["nhs_number"] for row in rows}
    for row in rows:
        assert row["reason_1"] in page.text
    assert page.headers["cache-control"] == "no-store"


def test_a_practice_user_cannot_see_another_practices_list_or_person(
    client: TestClient, review_home: Home
) -> None:
    other = published_rows(review_home, "B82001")[0]["nhs_number"]
    log_in(client, PRACTICE_USER)
    assert client.get("/practices/B82001/list").status_code == 403
    assert client.get(f"/practices/B82001/people/{row_id(other, KEY)}").status_code == 403
    # Another practice's person asked for under the user's own practice: not on its list.
    assert client.get(f"/practices/A81001/people/{row_id(other, KEY)}").status_code == 404
    refused = [r for r in access_log(review_home) if r["outcome"].startswith("refused")]
    assert len(refused) == 3
    own = row_id(published_rows(review_home, "A81001")[0]["nhs_number"], KEY)
    with make_client(review_home) as other_client:
        log_in(other_client, OTHER_PRACTICE_USER)
        assert other_client.get("/practices/B82001/list").status_code == 200
        assert other_client.get(f"/practices/A81001/people/{own}").status_code == 403


def test_a_federation_account_sees_counts_only(client: TestClient, review_home: Home) -> None:
    log_in(client, FEDERATION_USER)
    assert client.get("/practices/A81001/list").status_code == 403
    page = client.get("/federation")
    assert page.status_code == 200
    assert "A81001" in page.text and "B82001" not in page.text  # its own federation only
    assert not nhs_numbers_in(page.text)
    assert "≤7" in page.text  # ten people listed per practice: tiers of 7 or fewer hidden


def test_a_decision_without_the_csrf_token_is_refused_and_not_recorded(
    client: TestClient, review_home: Home
) -> None:
    person = row_id(published_rows(review_home, "A81001")[0]["nhs_number"], KEY)
    log_in(client, PRACTICE_USER)
    url = f"/practices/A81001/people/{person}/decisions"
    assert client.post(url, data={"decision": "reviewed"}).status_code == 403
    assert client.post(url, data={"decision": "reviewed", "csrf_token": "x"}).status_code == 403
    with open_store(review_home) as store:
        assert store.execute("SELECT count(*) FROM decisions").fetchone()[0] == 0
    token = csrf_token(client.get("/practices/A81001/list").text)
    assert client.post(url, data={"decision": "reviewed", "csrf_token": token}).status_code == 303
    with open_store(review_home) as store:
        assert store.execute("SELECT count(*) FROM decisions").fetchone()[0] == 1


def test_a_login_without_the_login_forms_token_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"username": PRACTICE_USER, "password": "x" * 20})
    assert response.status_code == 403
    assert "riskstrat_session" not in response.headers.get("set-cookie", "")


def test_logins_are_rate_limited_even_with_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        assert log_in(client, PRACTICE_USER, "wrong password, wrong") == 401
    assert log_in(client, PRACTICE_USER) == 429
    assert client.get("/practices/A81001/list").status_code == 303  # not logged in


def test_the_session_cookie_is_secure_httponly_strict(review_home: Home) -> None:
    with make_client(review_home) as client:
        form = client.get("/login")
        response = client.post(
            "/login",
            data={
                "username": PRACTICE_USER,
                "password": PASSWORD,
                "csrf_token": csrf_token(form.text),
            },
        )
    cookie = response.headers["set-cookie"].lower()
    assert "riskstrat_session=" in cookie
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie


def test_sessions_expire_and_logout_ends_them(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_in(client, PRACTICE_USER)
    page = client.get("/practices/A81001/list")
    assert page.status_code == 200
    assert client.post("/logout", data={"csrf_token": csrf_token(page.text)}).status_code == 303
    assert client.get("/practices/A81001/list").status_code == 303
    log_in(client, PRACTICE_USER)
    assert client.get("/practices/A81001/list").status_code == 200
    monkeypatch.setattr("review.accounts.IDLE_SECONDS", -1)
    assert client.get("/practices/A81001/list").status_code == 303


def test_an_opt_out_after_the_list_was_published_never_appears(
    client: TestClient, review_home: Home
) -> None:
    listed = published_rows(review_home, "A81001")[0]["nhs_number"]
    log_in(client, PRACTICE_USER)
    assert listed in nhs_numbers_in(client.get("/practices/A81001/list").text)
    # A later delivery records a Type 1 opt-out for someone on the published list.
    with connect(review_home.database) as connection:
        connection.execute(
            "INSERT INTO staged.registrations SELECT * REPLACE ('2024-03' AS delivery_month, "
            "TRUE AS type1_opt_out) FROM staged.registrations "
            "WHERE nhs_number = ? AND delivery_month = '2024-02'",
            [listed],
        )
        refresh_opt_outs(connection)  # as staging the delivery does
    page = client.get("/practices/A81001/list")
    assert page.status_code == 200
    assert listed not in nhs_numbers_in(page.text)
    assert client.get(f"/practices/A81001/people/{row_id(listed, KEY)}").status_code == 404
    assert OPTED_OUT_LATEST not in nhs_numbers_in(page.text)


def test_a_busy_warehouse_uses_the_last_opt_out_set_and_with_none_shows_no_one(
    client: TestClient, review_home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline run in another process makes DuckDB refuse the app's reader: stand in for it."""

    def busy(_home: Home) -> list[str]:
        raise WarehouseBusyError("busy")

    log_in(client, PRACTICE_USER)
    monkeypatch.setattr("review.published._read_opt_outs", busy)
    page = client.get("/practices/A81001/list")
    assert page.status_code == 503
    assert not nhs_numbers_in(page.text)
    monkeypatch.undo()
    assert client.get("/practices/A81001/list").status_code == 200  # the set is read and kept
    # The warehouse changes (a run starts) and is busy: the kept set is used, and said so.
    listed = published_rows(review_home, "A81001")[0]["nhs_number"]
    with connect(review_home.database) as connection:
        connection.execute(
            "INSERT INTO staged.registrations SELECT * REPLACE ('2024-03' AS delivery_month, "
            "TRUE AS type1_opt_out) FROM staged.registrations "
            "WHERE nhs_number = ? AND delivery_month = '2024-02'",
            [listed],
        )
        refresh_opt_outs(connection)  # as staging the delivery does
    monkeypatch.setattr("review.published._read_opt_outs", busy)
    page = client.get("/practices/A81001/list")
    assert page.status_code == 200 and "busy with a pipeline run" in page.text
    monkeypatch.undo()
    assert listed not in nhs_numbers_in(client.get("/practices/A81001/list").text)


def test_every_view_and_change_is_in_the_access_log(client: TestClient, review_home: Home) -> None:
    person = row_id(published_rows(review_home, "A81001")[0]["nhs_number"], KEY)
    log_in(client, PRACTICE_USER)
    token = csrf_token(client.get("/practices/A81001/list").text)
    client.get("/practices/A81001/list?tier=high")
    client.get(f"/practices/A81001/people/{person}")
    client.post(
        f"/practices/A81001/people/{person}/decisions",
        data={"decision": "care_plan", "note": "seen", "csrf_token": token},
    )
    actions = [(r["username"], r["action"], r["outcome"]) for r in access_log(review_home)]
    assert actions == [
        (PRACTICE_USER, "login", "ok"),
        (PRACTICE_USER, "view list", "ok"),
        (PRACTICE_USER, "view list", "ok"),
        (PRACTICE_USER, "view person", "ok"),
        (PRACTICE_USER, "record decision: care_plan", "ok"),
    ]


def test_decisions_and_the_access_log_are_append_only(
    client: TestClient, review_home: Home
) -> None:
    person = row_id(published_rows(review_home, "A81001")[0]["nhs_number"], KEY)
    log_in(client, PRACTICE_USER)
    token = csrf_token(client.get("/practices/A81001/list").text)
    url = f"/practices/A81001/people/{person}/decisions"
    client.post(url, data={"decision": "reviewed", "csrf_token": token})
    client.post(url, data={"decision": "declined", "csrf_token": token})
    with open_store(review_home) as store:
        decisions = [r["decision"] for r in store.execute("SELECT * FROM decisions ORDER BY id")]
    assert decisions == ["reviewed", "declined"]  # the second supersedes, the first stays
    for statement in (
        "UPDATE decisions SET decision = 'contacted'",
        "DELETE FROM decisions",
        "UPDATE access_log SET username = 'someone else'",
        "DELETE FROM access_log",
    ):
        with (
            pytest.raises(sqlite3.DatabaseError, match="append-only"),
            open_store(review_home) as store,
        ):
            store.execute(statement)
    assert "declined" in client.get("/practices/A81001/list").text


def test_not_appropriate_needs_a_reason(client: TestClient, review_home: Home) -> None:
    person = row_id(published_rows(review_home, "A81001")[0]["nhs_number"], KEY)
    log_in(client, PRACTICE_USER)
    token = csrf_token(client.get("/practices/A81001/list").text)
    url = f"/practices/A81001/people/{person}/decisions"
    assert (
        client.post(url, data={"decision": "not_appropriate", "csrf_token": token}).status_code
        == 400
    )
    response = client.post(
        url, data={"decision": "not_appropriate", "reason": "end of life care", "csrf_token": token}
    )
    assert response.status_code == 303
    assert "not appropriate (end of life care)" in client.get(response.headers["location"]).text


def test_filters_by_tier_reason_and_status(client: TestClient, review_home: Home) -> None:
    rows = published_rows(review_home, "A81001")
    log_in(client, PRACTICE_USER)
    tier = rows[-1]["tier"]
    page = client.get("/practices/A81001/list", params={"tier": tier})
    assert nhs_numbers_in(page.text) == {r["nhs_number"] for r in rows if r["tier"] == tier}
    reason = rows[0]["reason_1"].split()[-1]
    page = client.get("/practices/A81001/list", params={"reason": reason})
    expected = {
        r["nhs_number"]
        for r in rows
        if any(reason.lower() in r[f"reason_{i}"].lower() for i in (1, 2, 3))
    }
    assert expected and nhs_numbers_in(page.text) == expected
    token = csrf_token(page.text)
    person = rows[0]["nhs_number"]
    client.post(
        f"/practices/A81001/people/{row_id(person, KEY)}/decisions",
        data={"decision": "contacted", "csrf_token": token},
    )
    page = client.get("/practices/A81001/list", params={"status": "decided"})
    assert nhs_numbers_in(page.text) == {person}
    page = client.get("/practices/A81001/list", params={"status": "open"})
    assert (
        person not in nhs_numbers_in(page.text) and len(nhs_numbers_in(page.text)) == len(rows) - 1
    )


def test_no_nhs_number_in_the_server_log_or_the_store(
    client: TestClient, review_home: Home, caplog: pytest.LogCaptureFixture
) -> None:
    rows = published_rows(review_home, "A81001")
    caplog.set_level("INFO", logger="riskstrat.review")
    log_in(client, PRACTICE_USER)
    token = csrf_token(client.get("/practices/A81001/list").text)
    for row in rows[:3]:
        person = row_id(row["nhs_number"], KEY)
        client.get(f"/practices/A81001/people/{person}")
        client.post(
            f"/practices/A81001/people/{person}/decisions",
            data={"decision": "reviewed", "csrf_token": token},
        )
    # Someone types an NHS number into a URL: refused, and logged without it.
    typed = rows[0]["nhs_number"]
    assert client.get(f"/practices/A81001/people/{typed}").status_code == 404
    assert (
        client.get(f"/practices/A81001/people/{typed[:3]} {typed[3:6]} {typed[6:]}").status_code
        == 404
    )
    assert len(caplog.records) >= 10
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert not nhs_numbers_in(logged)
    with open_store(review_home) as store:
        logged_rows = [tuple(r) for r in store.execute("SELECT * FROM access_log")]
    assert not nhs_numbers_in(repr(logged_rows))
    store = store_path(review_home).read_bytes()
    for nhs_number in all_nhs_numbers():
        assert nhs_number.encode() not in store
    assert store_path(review_home).stat().st_mode & 0o777 == 0o600
    assert review_home.review.stat().st_mode & 0o777 == 0o700


def test_last_months_decision_shows_on_the_next_months_list(staged_review_home: Home) -> None:
    home = staged_review_home
    publish_months(home, ("2024-01",))
    january = {row["nhs_number"] for row in published_rows(home, "A81001")}
    with make_client(home) as client:
        log_in(client, PRACTICE_USER)
        token = csrf_token(client.get("/practices/A81001/list").text)
        for nhs_number in january:
            client.post(
                f"/practices/A81001/people/{row_id(nhs_number, KEY)}/decisions",
                data={"decision": "care_plan", "csrf_token": token},
            )
        publish_months(home, ("2024-02",))
        page = client.get("/practices/A81001/list")
    february = {row["nhs_number"] for row in published_rows(home, "A81001")}
    both = january & february
    assert both and february - january, "the fixture should keep some people and add some"
    assert page.text.count("reviewed 2024-01: care plan in place or updated") == len(both)


def test_a_decision_made_as_the_next_list_is_published_counts_for_the_list_it_was_made_on(
    staged_review_home: Home,
) -> None:
    home = staged_review_home
    publish_months(home, ("2024-01",))
    january = {row["nhs_number"] for row in published_rows(home, "A81001")}
    with make_client(home) as client:
        log_in(client, PRACTICE_USER)
        token = csrf_token(client.get("/practices/A81001/list").text)
        publish_months(home, ("2024-02",))  # while the January page is open
        february = {row["nhs_number"] for row in published_rows(home, "A81001")}
        dropped = sorted(january - february)[0]
        url = f"/practices/A81001/people/{row_id(dropped, KEY)}/decisions"
        answer = client.post(
            url, data={"decision": "reviewed", "csrf_token": token, "list_month": "2024-01"}
        )
        assert answer.status_code == 303
        # Without the form's month, the person is not on the current list: refused, not lost.
        assert (
            client.post(url, data={"decision": "reviewed", "csrf_token": token}).status_code == 404
        )
        assert (
            client.post(
                url, data={"decision": "reviewed", "csrf_token": token, "list_month": "2023-13"}
            ).status_code
            == 404
        )
    with open_store(home) as store:
        months = [r[0] for r in store.execute("SELECT list_month FROM decisions")]
    assert months == ["2024-01"]
