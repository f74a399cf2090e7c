"""The review app (FastAPI): log in, see the practice's current list, record decisions.

Who sees what: a practice account sees only its own practice's list and people (another
practice's list is 403, a person not on the practice's list 404); a federation account sees
counts only, suppressed as ``review.disclosure`` says. Every view of a list or a person,
every decision and every refusal is written to the store's append-only access log.

Security: sessions are server-side (``review.accounts``), in an HttpOnly, SameSite=Strict
cookie that is Secure unless `ReviewSettings.secure_cookies` is off (plain http on the
loopback interface only, see ``riskstrat serve``); every POST form carries the session's
CSRF token (the login form a token of its own, in a cookie of its own), checked before
anything else; logins are rate-limited. Pages with identifiable data are never cached, and
the Content-Security-Policy allows only the app's own files: every asset is served locally.
URLs name people by row id, never by NHS number, and the query strings (filters) carry no
identifier, so the server's request log (``riskstrat.review``: method, path, status) holds
none.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from lists.paths import MONTH, PRACTICE_CODE
from lists.pseudonyms import pseudonym_key
from lists.rendering import format_nhs_number, month_label, tier_class
from review.accounts import (
    Session,
    authenticate,
    current_session,
    end_session,
    login_refused,
    record_attempt,
    start_session,
)
from review.decisions import (
    DECISIONS,
    DecisionError,
    decision_counts,
    earlier_decisions,
    latest_decisions,
    person_history,
    record_decision,
)
from review.disclosure import shown
from review.impact import read_impact
from review.published import (
    ListedPerson,
    ListUnavailable,
    OptOutsUnavailable,
    current_month,
    current_opt_outs,
    list_months,
    practice_entries,
    practice_names,
    read_practice_list,
    row_key,
)
from review.store import Access, ensure_store, log_access, open_store
from warehouse.home import Home

LOG = logging.getLogger("riskstrat.review")
SESSION_COOKIE = "riskstrat_session"
LOGIN_COOKIE = "riskstrat_login"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LONG_NUMBER = re.compile(r"\d(?:[\s-]*\d){5,}")
ROW_ID = re.compile(r"^[a-z2-7]{20}$")
STATUSES = {"": "everyone", "open": "no decision this month", "decided": "decided this month"}


@dataclass(frozen=True)
class ReviewSettings:
    home: Path
    secure_cookies: bool = True
    pseudonym_key: str | None = None  # the configured key; None: <home>/secrets/pseudonym.key


def create_app(settings: ReviewSettings) -> FastAPI:
    home = Home.at(settings.home)
    ensure_store(home)
    key = row_key(pseudonym_key(home, settings.pseudonym_key))
    package = resources.files("review")
    templates = Jinja2Templates(directory=str(package.joinpath("templates")))
    templates.env.globals.update(
        decisions=DECISIONS, statuses=STATUSES, month_label=month_label, shown=shown
    )
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(package.joinpath("static"))), name="static")

    @app.middleware("http")
    async def headers_and_request_log(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.monotonic()
        response = await call_next(request)
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        # The path only, the query string left out; the app's own URLs name people by row
        # id, and any number typed into a URL (an NHS number?) is masked.
        LOG.info(
            "%s %s %d %.0f ms",
            request.method,
            LONG_NUMBER.sub("[number]", request.url.path),
            response.status_code,
            1000 * (time.monotonic() - started),
        )
        return response

    @app.exception_handler(sqlite3.OperationalError)
    def store_busy(request: Request, error: sqlite3.OperationalError) -> HTMLResponse:
        # The store's write lock was not free within its busy timeout: nothing was done.
        LOG.warning("review store busy: %s", error)
        return page(
            request,
            "message.html.j2",
            {
                "session": None,
                "title": "Busy",
                "message": "The app is busy: nothing was recorded. Try again in a moment.",
            },
            503,
        )

    def page(
        request: Request, name: str, context: dict[str, Any], status_code: int = 200
    ) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def refuse(
        request: Request,
        store: sqlite3.Connection,
        session: Session | None,
        status: int,
        message: str,
        access: Access,
    ) -> HTMLResponse:
        log_access(store, access)
        return page(
            request,
            "message.html.j2",
            {"session": session, "title": "Not available", "message": message},
            status,
        )

    def set_cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )

    def client(request: Request) -> str:
        return request.client.host if request.client else ""

    def session_of(request: Request, store: sqlite3.Connection) -> Session | None:
        return current_session(store, request.cookies.get(SESSION_COOKIE))

    def csrf_ok(session: Session, token: str) -> bool:
        return hmac.compare_digest(session.csrf_token.encode(), token.encode())

    @app.get("/")
    def index(request: Request) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
        if session is None:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse(landing_page(session), status_code=303)

    @app.get("/login")
    def login_form(request: Request) -> Response:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html.j2", {"session": None, "csrf_token": token})
        set_cookie(response, LOGIN_COOKIE, token, max_age=600)
        return response

    @app.post("/login")
    def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf_token: str = Form(""),
    ) -> Response:
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
            return page(
                request,
                "message.html.j2",
                {
                    "session": None,
                    "title": "Form expired",
                    "message": "The login form had expired or was not sent by this app. "
                    "Open the login page again.",
                },
                403,
            )
        username = username.strip().lower()
        access = Access(username or "-", "login", "", client=client(request))
        with open_store(home) as store:
            refused = login_refused(store, username, client(request))
            if refused:
                log_access(store, _with(access, outcome="refused: rate limit"))
        if refused:
            return page(
                request,
                "login.html.j2",
                {
                    "session": None,
                    "csrf_token": csrf_token,
                    "error": "Too many failed logins: wait 15 minutes and try again.",
                },
                429,
            )
        with open_store(home, write=False) as store:  # Argon2 takes no write lock
            user = authenticate(store, username, password)
        with open_store(home) as store:
            record_attempt(store, username, client(request), user is not None)
            if user is None:
                log_access(store, _with(access, outcome="failed"))
            else:
                token, session = start_session(store, user)
                log_access(store, _with(access, outcome="ok"))
        if user is None:
            return page(
                request,
                "login.html.j2",
                {
                    "session": None,
                    "csrf_token": csrf_token,
                    "error": "The username or password is not right, or the account is disabled.",
                },
                401,
            )
        response = RedirectResponse(landing_page(session), status_code=303)
        set_cookie(response, SESSION_COOKIE, token, max_age=None)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @app.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
            if session is None or not csrf_ok(session, csrf_token):
                return refuse(
                    request,
                    store,
                    session,
                    403,
                    "This form was not sent by this app (no valid CSRF token): nothing was done.",
                    Access(session.user.username if session else "-", "logout", "refused: csrf"),
                )
            end_session(store, request.cookies.get(SESSION_COOKIE))
            log_access(store, Access(session.user.username, "logout", "ok", client=client(request)))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/practices/{practice_code}/list")
    def practice_list(
        request: Request, practice_code: str, tier: str = "", reason: str = "", status: str = ""
    ) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
            if session is None:
                return RedirectResponse("/login", status_code=303)
            denied = practice_denied(request, store, session, practice_code, "view list")
            if denied is not None:
                return denied
            loaded = load_list(request, store, session, practice_code, "view list")
            if isinstance(loaded, Response):
                return loaded
            month, people, stale_note = loaded
            decided = latest_decisions(store, practice_code, month)
            before = earlier_decisions(store, practice_code, month)
            shown_people = [
                p
                for p in people
                if (not tier or p.tier == tier)
                and (not reason or any(reason.lower() in r.lower() for r in p.reasons))
                and (not status or (status == "decided") == (p.row_id in decided))
            ]
            log_access(
                store,
                Access(
                    session.user.username,
                    "view list",
                    "ok",
                    practice_code,
                    month,
                    client=client(request),
                ),
            )
        tiers = list(dict.fromkeys(p.tier for p in people))
        return page(
            request,
            "practice_list.html.j2",
            {
                "session": session,
                "practice_code": practice_code,
                "month": month,
                "people": [person_view(p) for p in shown_people],
                "total": len(people),
                "tiers": tiers,
                "filters": {"tier": tier, "reason": reason, "status": status},
                "decided": decided,
                "before": before,
                "stale_note": stale_note,
                "decided_count": sum(p.row_id in decided for p in people),
            },
        )

    @app.get("/practices/{practice_code}/people/{row_id}")
    def person(request: Request, practice_code: str, row_id: str) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
            if session is None:
                return RedirectResponse("/login", status_code=303)
            return person_page(request, store, session, practice_code, row_id)

    @app.post("/practices/{practice_code}/people/{row_id}/decisions")
    def decide(
        request: Request,
        practice_code: str,
        row_id: str,
        decision: str = Form(""),
        reason: str = Form(""),
        note: str = Form(""),
        csrf_token: str = Form(""),
        back: str = Form(""),
        tier: str = Form(""),
        filter_reason: str = Form(""),
        status: str = Form(""),
        list_month: str = Form(""),
    ) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
            if session is None:
                return refuse(
                    request,
                    store,
                    None,
                    401,
                    "Your session has ended: log in again. Nothing was recorded.",
                    Access("-", "record decision", "refused: no session", practice_code),
                )
            if not csrf_ok(session, csrf_token):
                return refuse(
                    request,
                    store,
                    session,
                    403,
                    "This form was not sent by this app (no valid CSRF token): nothing was recorded.",
                    Access(
                        session.user.username, "record decision", "refused: csrf", practice_code
                    ),
                )
            denied = practice_denied(request, store, session, practice_code, "record decision")
            if denied is not None:
                return denied
            # The month of the list the form was on: a decision made as the next month's
            # list is published is recorded against the list the clinician was reading.
            shown_month = list_month if list_month in list_months(home) else None
            loaded = load_list(
                request, store, session, practice_code, "record decision", shown_month
            )
            if isinstance(loaded, Response):
                return loaded
            month, people, _ = loaded
            if row_id not in {p.row_id for p in people}:
                return refuse(
                    request,
                    store,
                    session,
                    404,
                    "This person is not on the list this form came from.",
                    Access(
                        session.user.username,
                        "record decision",
                        "refused: not on list",
                        practice_code,
                        month,
                        safe_row_id(row_id),
                        client(request),
                    ),
                )
            try:
                record_decision(
                    store,
                    practice_code=practice_code,
                    list_month=month,
                    row_id=row_id,
                    decision=decision,
                    reason=reason,
                    note=note,
                    username=session.user.username,
                )
            except DecisionError as error:
                log_access(
                    store,
                    Access(
                        session.user.username,
                        "record decision",
                        "refused: invalid",
                        practice_code,
                        month,
                        row_id,
                        client(request),
                    ),
                )
                return person_page(request, store, session, practice_code, row_id, str(error), 400)
            log_access(
                store,
                Access(
                    session.user.username,
                    f"record decision: {decision}",
                    "ok",
                    practice_code,
                    month,
                    row_id,
                    client(request),
                ),
            )
        if back == "list":  # back to the list as it was filtered, at the person's row
            filters = urlencode(
                {"tier": tier, "reason": filter_reason, "status": status}, quote_via=quote
            )
            return RedirectResponse(f"/practices/{practice_code}/list?{filters}#{row_id}", 303)
        return RedirectResponse(f"/practices/{practice_code}/people/{row_id}", 303)

    @app.get("/federation")
    def federation(request: Request) -> Response:
        with open_store(home) as store:
            session = session_of(request, store)
            if session is None:
                return RedirectResponse("/login", status_code=303)
            if session.user.role != "federation":
                return refuse(
                    request,
                    store,
                    session,
                    403,
                    "This page is for federation accounts.",
                    Access(session.user.username, "view federation", "refused: role"),
                )
            federation_code = str(session.user.federation_code)
            month = current_month(home)
            rows: list[dict[str, Any]] = []
            tiers: list[str] = []
            if month is not None:
                entries = [
                    e
                    for e in practice_entries(home, month).values()
                    if e.federation_code == federation_code
                ]
                names = practice_names(home, federation_code, month)
                counts = decision_counts(store, month)
                for entry in sorted(entries, key=lambda e: e.practice_code):
                    tiers = tiers or list(entry.listed_per_tier)
                    rows.append(
                        {
                            "practice_code": entry.practice_code,
                            "practice_name": names.get(entry.practice_code, ""),
                            "listed": entry.listed,
                            "per_tier": entry.listed_per_tier,
                            "decisions": counts.get(entry.practice_code, {}),
                        }
                    )
            log_access(
                store,
                Access(
                    session.user.username,
                    "view federation",
                    "ok",
                    list_month=month or "",
                    client=client(request),
                ),
            )
        return page(
            request,
            "federation.html.j2",
            {
                "session": session,
                "federation_code": federation_code,
                "month": month,
                "rows": rows,
                "tiers": tiers,
                "impact": read_impact(home, federation_code),
            },
        )

    def landing_page(session: Session) -> str:
        if session.user.role == "federation":
            return "/federation"
        return f"/practices/{session.user.practice_code}/list"

    def practice_denied(
        request: Request,
        store: sqlite3.Connection,
        session: Session,
        practice_code: str,
        action: str,
    ) -> Response | None:
        """A 403 page (logged) unless the session's account is this practice's."""
        if session.user.role == "practice" and session.user.practice_code == practice_code:
            return None
        return refuse(
            request,
            store,
            session,
            403,
            "Your account may not see this practice's list.",
            Access(
                session.user.username,
                action,
                "refused: not this account's practice",
                practice_code if PRACTICE_CODE.match(practice_code) else "?",
                client=client(request),
            ),
        )

    def load_list(
        request: Request,
        store: sqlite3.Connection,
        session: Session,
        practice_code: str,
        action: str,
        month: str | None = None,
    ) -> Response | tuple[str, list[ListedPerson], str]:
        """The practice's list of `month` (by default the current one) less opt-outs, or a
        refusal page."""
        month = month or current_month(home)
        entry = practice_entries(home, month).get(practice_code) if month else None
        if month is None or entry is None or not MONTH.match(month):
            return refuse(
                request,
                store,
                session,
                404,
                "No list has been published for your practice yet.",
                Access(session.user.username, action, "no list", practice_code),
            )
        try:
            opt_outs = current_opt_outs(home, store, key)
            people = read_practice_list(home, entry, key)
        except (OptOutsUnavailable, ListUnavailable) as error:
            return refuse(
                request,
                store,
                session,
                503,
                str(error),
                Access(session.user.username, action, "unavailable", practice_code, month),
            )
        note = (
            f"The warehouse is busy with a pipeline run: opt-outs as read at {opt_outs.read_at}."
            if opt_outs.stale
            else ""
        )
        return month, [p for p in people if p.row_id not in opt_outs.row_ids], note

    def person_page(
        request: Request,
        store: sqlite3.Connection,
        session: Session,
        practice_code: str,
        row_id: str,
        error: str = "",
        status_code: int = 200,
    ) -> Response:
        denied = practice_denied(request, store, session, practice_code, "view person")
        if denied is not None:
            return denied
        loaded = load_list(request, store, session, practice_code, "view person")
        if isinstance(loaded, Response):
            return loaded
        month, people, stale_note = loaded
        found = next((p for p in people if p.row_id == row_id), None)
        if found is None:
            return refuse(
                request,
                store,
                session,
                404,
                "This person is not on your practice's current list.",
                Access(
                    session.user.username,
                    "view person",
                    "refused: not on list",
                    practice_code,
                    month,
                    safe_row_id(row_id),
                    client(request),
                ),
            )
        history = person_history(store, practice_code, row_id)
        log_access(
            store,
            Access(
                session.user.username,
                "view person",
                "ok",
                practice_code,
                month,
                row_id,
                client(request),
            ),
        )
        return page(
            request,
            "person.html.j2",
            {
                "session": session,
                "practice_code": practice_code,
                "month": month,
                "person": person_view(found),
                "history": history,
                "error": error,
                "stale_note": stale_note,
            },
            status_code,
        )

    return app


def person_view(person: ListedPerson) -> dict[str, Any]:
    return {
        **person.__dict__,
        "nhs_display": format_nhs_number(person.nhs_number),
        "risk_percent": f"{person.risk_score * 100:.1f}%",
        "tier_class": tier_class(person.tier),
    }


def safe_row_id(text: str) -> str:
    """A row id as given in a URL, for the access log: '?' when it is not one (a typed
    NHS number must not reach the log)."""
    return text if ROW_ID.match(text) else "?"


def _with(access: Access, outcome: str) -> Access:
    return replace(access, outcome=outcome)
