-- The review app's own store (<home>/review/review.sqlite3, WAL mode): accounts, sessions,
-- login attempts, decisions, the access log and the last opt-out set read from the
-- warehouse. People are named by their review row id (a keyed pseudonym), never by NHS
-- number. Decisions and the access log are append-only: the triggers below refuse any
-- UPDATE or DELETE, so a changed mind is a new decision that supersedes the last one.

CREATE TABLE IF NOT EXISTS users (
    username        TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('practice', 'federation')),
    practice_code   TEXT,
    federation_code TEXT,
    password_hash   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    disabled_at     TEXT,
    CHECK ((role = 'practice') = (practice_code IS NOT NULL)),
    CHECK ((role = 'federation') = (federation_code IS NOT NULL))
);

CREATE TABLE IF NOT EXISTS sessions (
    token_hash  TEXT PRIMARY KEY,
    username    TEXT NOT NULL REFERENCES users (username),
    csrf_token  TEXT NOT NULL,
    created_at  REAL NOT NULL,
    last_seen   REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS login_attempts (
    id         INTEGER PRIMARY KEY,
    username   TEXT NOT NULL,
    client     TEXT NOT NULL,
    at         REAL NOT NULL,
    succeeded  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_at ON login_attempts (at);

CREATE TABLE IF NOT EXISTS decisions (
    id             INTEGER PRIMARY KEY,
    practice_code  TEXT NOT NULL,
    list_month     TEXT NOT NULL,
    row_id         TEXT NOT NULL,
    decision       TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    decided_by     TEXT NOT NULL,
    decided_at     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_person ON decisions (practice_code, row_id, list_month);

CREATE TABLE IF NOT EXISTS access_log (
    id             INTEGER PRIMARY KEY,
    at             TEXT NOT NULL,
    username       TEXT NOT NULL,
    action         TEXT NOT NULL,
    practice_code  TEXT NOT NULL DEFAULT '',
    list_month     TEXT NOT NULL DEFAULT '',
    row_id         TEXT NOT NULL DEFAULT '',
    outcome        TEXT NOT NULL,
    client         TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS opt_outs (
    row_id TEXT PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS opt_out_source (
    only_row    INTEGER PRIMARY KEY CHECK (only_row = 1),
    fingerprint TEXT NOT NULL,
    read_at     TEXT NOT NULL
);

CREATE TRIGGER IF NOT EXISTS decisions_no_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;
CREATE TRIGGER IF NOT EXISTS decisions_no_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only: record a new decision instead'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
