-- Rows set aside because they break an error rule of their feed's contract: one row per
-- (delivered row, rule broken), so a row breaking several rules is quarantined once but
-- every rule it breaks is recorded. offending_value never holds a whole NHS number.
CREATE TABLE IF NOT EXISTS quarantine.rows (
    delivery_month VARCHAR,                 -- 'YYYY-MM'; NULL for the reference feeds
    feed VARCHAR NOT NULL,                  -- contract name
    source_file VARCHAR NOT NULL,           -- path relative to the month folder
    line_number BIGINT NOT NULL,            -- 1-based data row, header not counted
    rule VARCHAR NOT NULL,                  -- contract rule name
    column_name VARCHAR,
    offending_value VARCHAR                 -- raw text, NHS numbers masked to their last 3 digits
);
