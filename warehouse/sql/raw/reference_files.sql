-- The reference files the raw practices and LSOA tables were last loaded from: one row a
-- feed, replaced in the same transaction as the feed's rows. `riskstrat run` reloads the
-- reference only when a file's digest differs from this record (pipelines.planner), so a
-- warehouse restored from a backup, or loaded from another landing zone, is reloaded.
CREATE TABLE IF NOT EXISTS raw.reference_files (
    feed VARCHAR NOT NULL PRIMARY KEY,      -- contract name: practices, lsoa_imd
    path VARCHAR NOT NULL,                  -- relative to the landing zone
    sha256 VARCHAR NOT NULL                 -- of the file's bytes, read before its rows
);
