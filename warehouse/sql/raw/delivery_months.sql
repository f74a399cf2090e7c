-- One row per extract month folder seen in the landing zone, with its verification outcome.
CREATE TABLE IF NOT EXISTS raw.delivery_months (
    delivery_month VARCHAR PRIMARY KEY,     -- 'YYYY-MM'
    status VARCHAR NOT NULL,                -- loaded | rejected | incomplete
    reason VARCHAR,
    manifest_sha256 VARCHAR,                -- digest of manifest.csv: a new digest is a re-delivery
    missing_practices VARCHAR[] NOT NULL
);
