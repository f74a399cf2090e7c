-- Breaches of warning rules by rows that were staged: reported to auditors, the row loads.
CREATE TABLE IF NOT EXISTS quarantine.row_warnings (
    delivery_month VARCHAR,
    feed VARCHAR NOT NULL,
    source_file VARCHAR NOT NULL,
    line_number BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    column_name VARCHAR,
    offending_value VARCHAR                 -- NHS numbers masked as in quarantine.rows
);
