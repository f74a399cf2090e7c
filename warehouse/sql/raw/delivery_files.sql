-- One row per file named by a month's manifest or present in its folder.
CREATE TABLE IF NOT EXISTS raw.delivery_files (
    delivery_month VARCHAR NOT NULL,
    path VARCHAR NOT NULL,                  -- relative to the month folder, '/'-separated
    feed VARCHAR,                           -- contract name, NULL for a file that is no feed
    manifest_rows BIGINT,
    manifest_sha256 VARCHAR,
    loaded_rows BIGINT,
    status VARCHAR NOT NULL,                -- loaded | rejected
    reason VARCHAR,
    extra_columns VARCHAR[] NOT NULL,       -- unknown columns ignored on load
    PRIMARY KEY (delivery_month, path)
);
