"""Accounts, passwords, sessions and the login rate limit of the review app.

A practice account sees its own practice's list only; a federation account sees counts for
its federation's practices only, never a person. The data team manages accounts from the
command line (``riskstrat users``); no account can be made from the web. Passwords are
hashed with Argon2id (argon2-cffi's defaults); a session is a random token whose SHA-256 is
stored, so a copy of the store cannot be replayed as a cookie. Sessions end after
`IDLE_SECONDS` without a request, or `LIFETIME_SECONDS` in all, or at logout.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from review.store import now_text

IDLE_SECONDS = 30 * 60
LIFETIME_SECONDS = 8 * 60 * 60
# Login attempts: after this many failures within the window, for one username or from one
# client, every attempt is refused (HTTP 429) until the window has passed.
MAX_FAILURES = 5
FAILURE_WINDOW_SECONDS = 15 * 60
MINIMUM_PASSWORD_LENGTH = 12

USERNAME = re.compile(r"^[a-z][a-z0-9._-]{2,39}$")
PRACTICE_CODE = re.compile(r"^[A-Z][0-9]{5}$")
FEDERATION_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so an unknown name takes as long as a
# wrong password and the timing does not say which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone's")


class AccountError(ValueError):
    """A username, code or password the data team must change before the account is made."""


@dataclass(frozen=True)
class User:
    username: str
    role: str  # 'practice' or 'federation'
    practice_code: str | None
    federation_code: str | None
    disabled: bool = False

    def describe(self) -> str:
        scope = (
            f"practice {self.practice_code}"
            if self.role == "practice"
            else f"federation {self.federation_code} (counts only)"
        )
        return f"{self.username}  {scope}{'  disabled' if self.disabled else ''}"


def add_user(
    connection: sqlite3.Connection,
    username: str,
    password: str,
    *,
    practice_code: str | None = None,
    federation_code: str | None = None,
) -> User:
    """Make an account for one practice or one federation (exactly one of the codes)."""
    if not USERNAME.match(username):
        raise AccountError(
            f"{username!r} is not a usable username: 3-40 characters, lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter."
        )
    if (practice_code is None) == (federation_code is None):
        raise AccountError("Give exactly one of --practice and --federation.")
    if practice_code is not None and not PRACTICE_CODE.match(practice_code):
        raise AccountError(f"{practice_code!r} is not a practice code (a letter and 5 digits).")
    if federation_code is not None and not FEDERATION_CODE.match(federation_code):
        raise AccountError(f"{federation_code!r} is not a federation code.")
    if len(password) < MINIMUM_PASSWORD_LENGTH:
        raise AccountError(
            f"The password is shorter than {MINIMUM_PASSWORD_LENGTH} characters: use a longer one."
        )
    role = "practice" if practice_code is not None else "federation"
    try:
        connection.execute(
            "INSERT INTO users (username, role, practice_code, federation_code, password_hash, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (username, role, practice_code, federation_code, _hasher.hash(password), now_text()),
        )
    except sqlite3.IntegrityError:
        raise AccountError(f"There is already an account called {username!r}.") from None
    return User(username, role, practice_code, federation_code)


def disable_user(connection: sqlite3.Connection, username: str) -> None:
    """Disable an account and end its sessions at once; the account stays for the audit."""
    changed = connection.execute(
        "UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE username = ?",
        (now_text(), username),
    ).rowcount
    if not changed:
        raise AccountError(f"There is no account called {username!r}.")
    connection.execute("DELETE FROM sessions WHERE username = ?", (username,))


def list_users(connection: sqlite3.Connection) -> list[User]:
    return [
        _user(row) for row in connection.execute("SELECT * FROM users ORDER BY username").fetchall()
    ]


def _user(row: sqlite3.Row) -> User:
    return User(
        row["username"],
        row["role"],
        row["practice_code"],
        row["federation_code"],
        row["disabled_at"] is not None,
    )


def login_refused(connection: sqlite3.Connection, username: str, client: str) -> bool:
    """True while the username or the client has `MAX_FAILURES` recent failed logins."""
    since = time.time() - FAILURE_WINDOW_SECONDS
    connection.execute("DELETE FROM login_attempts WHERE at < ?", (since,))
    row = connection.execute(
        "SELECT count(*) FILTER (WHERE username = ?), count(*) FILTER (WHERE client = ?) "
        "FROM login_attempts WHERE at >= ? AND NOT succeeded",
        (username, client, since),
    ).fetchone()
    return max(row[0], row[1]) >= MAX_FAILURES


def authenticate(connection: sqlite3.Connection, username: str, password: str) -> User | None:
    """The enabled account whose password this is, else None. Writes nothing: Argon2 is
    slow on purpose, so the caller verifies outside its write transaction and records the
    attempt (`record_attempt`) after."""
    row = connection.execute("SELECT * FROM users WHERE username = ?", (username,)).fetchone()
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    verified: bool
    try:
        verified = _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        verified = False
    return _user(row) if row is not None and verified and row["disabled_at"] is None else None


def record_attempt(
    connection: sqlite3.Connection, username: str, client: str, succeeded: bool
) -> None:
    connection.execute(
        "INSERT INTO login_attempts (username, client, at, succeeded) VALUES (?, ?, ?, ?)",
        (username, client, time.time(), succeeded),
    )


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


def start_session(connection: sqlite3.Connection, user: User) -> tuple[str, Session]:
    """A new session for `user`: the cookie's token (stored only as its hash) and the session."""
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    moment = time.time()
    connection.execute(
        "INSERT INTO sessions (token_hash, username, csrf_token, created_at, last_seen) "
        "VALUES (?, ?, ?, ?, ?)",
        (_token_hash(token), user.username, csrf_token, moment, moment),
    )
    return token, Session(user, csrf_token)


def current_session(connection: sqlite3.Connection, token: str | None) -> Session | None:
    """The live session of this cookie token (its idle clock restarted), or None."""
    if not token:
        return None
    moment = time.time()
    row = connection.execute(
        "SELECT s.csrf_token, s.created_at, s.last_seen, u.* FROM sessions AS s "
        "JOIN users AS u USING (username) WHERE s.token_hash = ?",
        (_token_hash(token),),
    ).fetchone()
    if row is None:
        return None
    expired = (
        moment - row["last_seen"] > IDLE_SECONDS or moment - row["created_at"] > LIFETIME_SECONDS
    )
    if expired or row["disabled_at"] is not None:
        connection.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))
        return None
    connection.execute(
        "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", (moment, _token_hash(token))
    )
    return Session(_user(row), row["csrf_token"])


def end_session(connection: sqlite3.Connection, token: str | None) -> None:
    if token:
        connection.execute("DELETE FROM sessions WHERE token_hash = ?", (_token_hash(token),))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
