-- Valid rows the pipeline does not use, with the ignore rule that says why: resends of an
-- id already delivered with identical content, codes outside the feed's scope.
CREATE TABLE IF NOT EXISTS quarantine.ignored_rows (
    delivery_month VARCHAR,
    feed VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    rule VARCHAR NOT NULL,                  -- the reason: an ignore rule of the contract
    column_name VARCHAR,
    offending_value VARCHAR                 -- NHS numbers masked as in quarantine.rows
);
