-- Every delivery of every extract month, one row per manifest digest, kept when the month is
-- delivered again (a correction) or loaded again (--reload): raw.delivery_months holds only
-- the delivery in force, this table how it came to be. Written with raw.delivery_months, in
-- the same transaction. A month folder without manifest.csv delivered nothing and has no row.
CREATE TABLE IF NOT EXISTS raw.delivery_history (
    delivery_month VARCHAR NOT NULL,        -- 'YYYY-MM'
    manifest_sha256 VARCHAR NOT NULL,       -- digest of the delivery's manifest.csv
    delivery_number INTEGER NOT NULL,       -- 1 for the month's first delivery, then 2, 3, ...
    files BIGINT NOT NULL,                  -- files the manifest lists
    files_rejected BIGINT NOT NULL,         -- files refused on load (any reason)
    rows BIGINT NOT NULL,                   -- data rows delivered by the accepted files
    status VARCHAR NOT NULL,                -- loaded | rejected, as last loaded
    reason VARCHAR,                         -- why a month was rejected
    superseded_by VARCHAR,                  -- the manifest digest that replaced it; NULL while in force
    PRIMARY KEY (delivery_month, manifest_sha256)
);

-- A warehouse loaded before this table existed: each month's delivery in force becomes the
-- month's first recorded delivery (later deliveries are numbered from it).
INSERT INTO raw.delivery_history
SELECT
    m.delivery_month,
    m.manifest_sha256,
    1,
    count(f.manifest_sha256),
    count(*) FILTER (WHERE f.status = 'rejected'),
    coalesce(sum(f.loaded_rows), 0),
    m.status,
    m.reason,
    NULL
FROM raw.delivery_months AS m
LEFT JOIN raw.delivery_files AS f USING (delivery_month)
WHERE m.manifest_sha256 IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM raw.delivery_history AS h WHERE h.delivery_month = m.delivery_month)
GROUP BY ALL;
