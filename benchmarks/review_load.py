"""The review app under load while a pipeline run loads a month: no decision lost, no error.

    python benchmarks/review_load.py --work /tmp/review-load [--people 1500] [--months 27]
        [--users 20] [--seconds 60] [--seed 7]

Under WORK: generates a zone (`riskstrat generate`) unless WORK/zone exists, runs every
month but the last into WORK/home unless it holds their lists (a home that already holds
the last month, from an earlier load test, is made again), and makes one account per
practice. Then it starts `riskstrat serve` on a free loopback port (plain http, so
--insecure-cookies) and `riskstrat run` with the last month added to the landing zone, and
has USERS simulated users, each at one practice, log in and for SECONDS repeat: view the
list, view a person, record a decision. Every response must be 200 or 303 (a 404 for a
person who left the list when the run published a new month is counted apart, not as an
error); every decision answered 303 must be in the store afterwards; the run must exit 0.
Prints a JSON summary; exits 1 when a decision was lost, a response was an error, or the
run failed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from review.accounts import add_user
from review.published import current_month, practice_entries
from review.store import open_store, store_path
from warehouse.home import Home

PASSWORD = "load test password 0123"
ROW = re.compile(r'<tr id="([a-z2-7]{20})"')
SERVER_ERROR = re.compile(r"riskstrat\.review \S+ \S+ 5\d\d ")
LIST_MONTH = re.compile(r'name="list_month" value="([0-9]{4}-[0-9]{2})"')
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RISKSTRAT = [sys.executable, "-m", "pipelines.cli"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--people", type=int, default=1500)
    parser.add_argument("--months", type=int, default=27)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    arguments = parser.parse_args()
    work = arguments.work.resolve()
    home = Home.at(work / "home")
    landing = work / "landing"
    last_month = prepare(work, home, landing, arguments)
    practices = accounts(home)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_log = (work / "serve.log").open("w")
    server = subprocess.Popen(
        [*RISKSTRAT, "serve", "--home", str(home.root), "--port", str(port), "--insecure-cookies"],
        stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(url)
        shutil.copytree(work / "zone" / "landing" / "extracts" / last_month,
                        landing / "extracts" / last_month)  # fmt: skip
        run_log = (work / "run-during-load.log").open("w")
        run_started = time.monotonic()
        run = subprocess.Popen(
            [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home.root)],
            stdout=run_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        results = simulate(url, practices, arguments.users, arguments.seconds, arguments.seed)
        run_code = run.wait()
        run_seconds = time.monotonic() - run_started
    finally:
        server.terminate()
        server.wait(timeout=60)
    stored = stored_decisions(home)
    posted = Counter(results.posted)
    lost = sum((posted - stored).values())
    latencies = sorted(results.latencies)
    summary = {
        "users": arguments.users,
        "seconds": arguments.seconds,
        "requests": len(latencies),
        "statuses": dict(results.statuses),
        "errors": results.errors[:10],
        "error_count": len(results.errors),
        "left_the_list": results.left,
        "decisions_answered_303": sum(posted.values()),
        "decisions_stored": sum(stored.values()),
        "decisions_lost": lost,
        "latency_ms_median": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "latency_ms_p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1)
        if latencies
        else None,
        "pipeline_run_exit": run_code,
        "pipeline_run_seconds": round(run_seconds, 1),
        "list_month_after": current_month(home),
        "server_log_5xx": len(SERVER_ERROR.findall((work / "serve.log").read_text())),
        "server_log_tracebacks": (work / "serve.log").read_text().count("Traceback"),
    }
    print(json.dumps(summary, indent=2))
    failed = (
        lost
        or results.errors
        or run_code != 0
        or summary["server_log_5xx"]
        or summary["server_log_tracebacks"]
    )
    return 1 if failed else 0


def prepare(work: Path, home: Home, landing: Path, arguments: argparse.Namespace) -> str:
    """The zone, and a home with every month but the last loaded and listed; the last month."""
    zone = work / "zone"
    if not zone.is_dir():
        subprocess.run(
            [*RISKSTRAT, "generate", "--out", str(zone), "--people", str(arguments.people),
             "--months", str(arguments.months), "--seed", str(arguments.seed)],
            check=True,
        )  # fmt: skip
    months = sorted(p.name for p in (zone / "landing" / "extracts").iterdir())
    if current_month(home) == months[-1]:  # an earlier load test's home: start again
        shutil.rmtree(home.root)
    if current_month(home) is None:
        shutil.rmtree(landing, ignore_errors=True)
        shutil.copytree(zone / "landing" / "reference", landing / "reference")
        for month in months[:-1]:
            shutil.copytree(zone / "landing" / "extracts" / month, landing / "extracts" / month)
        shutil.copy(zone / "truth.csv", work / "truth.csv")
        with (work / "prepare.log").open("w") as log:
            subprocess.run(
                [*RISKSTRAT, "run", "--landing", str(landing), "--home", str(home.root)],
                check=True, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
    shutil.rmtree(landing / "extracts" / months[-1], ignore_errors=True)
    return months[-1]


def accounts(home: Home) -> list[str]:
    """One account per practice with a list (load-<code>); the practice codes."""
    month = current_month(home)
    assert month is not None, "the home has no lists"
    codes = sorted(practice_entries(home, month))
    with open_store(home) as store:
        existing = {r[0] for r in store.execute("SELECT username FROM users")}
        for code in codes:
            if f"load-{code.lower()}" not in existing:
                add_user(store, f"load-{code.lower()}", PASSWORD, practice_code=code)
    return codes


@dataclass
class Results:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    posted: list[tuple[str, str, str, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    left: int = 0


def simulate(url: str, practices: list[str], users: int, seconds: float, seed: int) -> Results:
    lock = threading.Lock()
    results = Results()
    deadline = time.monotonic() + seconds

    def timed(
        client: httpx.Client, method: str, path: str, data: dict[str, str] | None = None
    ) -> httpx.Response:
        started = time.monotonic()
        response = client.request(method, path, data=data)
        with lock:
            results.latencies.append(time.monotonic() - started)
            results.statuses[response.status_code] += 1
            if response.status_code not in (200, 303, 404):
                results.errors.append(f"{method} {path} {response.status_code}")
        return response

    def user(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        code = practices[number % len(practices)]
        with httpx.Client(base_url=url, timeout=60) as client:
            form = timed(client, "GET", "/login")
            token = CSRF.search(form.text)
            assert token
            login = timed(client, "POST", "/login", data={
                "username": f"load-{code.lower()}", "password": PASSWORD,
                "csrf_token": token.group(1),
            })  # fmt: skip
            if login.status_code != 303:
                with lock:
                    results.errors.append(f"login {code} {login.status_code}")
                return
            while time.monotonic() < deadline:
                page = timed(client, "GET", f"/practices/{code}/list")
                rows = ROW.findall(page.text)
                csrf = CSRF.search(page.text)
                month = LIST_MONTH.search(page.text)
                if page.status_code != 200 or not rows or not csrf:
                    if page.status_code == 200:
                        time.sleep(0.5)  # an empty list: nothing to decide
                    continue
                person = rng.choice(rows)
                timed(client, "GET", f"/practices/{code}/people/{person}")
                decision = rng.choice(["reviewed", "contacted", "care_plan", "declined"])
                answer = timed(
                    client, "POST", f"/practices/{code}/people/{person}/decisions",
                    data={"decision": decision, "note": f"load {number}",
                          "csrf_token": csrf.group(1),
                          "list_month": month.group(1) if month else ""},
                )  # fmt: skip
                with lock:
                    if answer.status_code == 303:
                        results.posted.append((code, person, decision, f"load-{code.lower()}"))
                    elif answer.status_code == 404:
                        results.left += 1

    threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def stored_decisions(home: Home) -> Counter[tuple[str, str, str, str]]:
    connection = sqlite3.connect(f"file:{store_path(home)}?mode=ro", uri=True)
    try:
        rows = connection.execute(
            "SELECT practice_code, row_id, decision, decided_by FROM decisions "
            "WHERE decided_by LIKE 'load-%'"
        ).fetchall()
    finally:
        connection.close()
    return Counter(tuple(r) for r in rows)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{url}/login", timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


if __name__ == "__main__":
    raise SystemExit(main())
