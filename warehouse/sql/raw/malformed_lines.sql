-- Data rows of a loaded file that could not be parsed (too many or too few fields, a quote
-- never closed, text after a closing quote): set aside line by line so that the rest of the
-- file loads. Staging quarantines each under the rule malformed_line. Never the line's
-- content, which could hold an NHS number: only what is wrong with its shape.
CREATE TABLE IF NOT EXISTS raw.malformed_lines (
    delivery_month VARCHAR NOT NULL,
    feed VARCHAR NOT NULL,                  -- contract name
    source_file VARCHAR NOT NULL,           -- path relative to the month folder
    line_number BIGINT NOT NULL,            -- 1-based data row, header not counted
    reason VARCHAR NOT NULL,                -- e.g. '11 fields where the header has 10'
    PRIMARY KEY (delivery_month, source_file, line_number)
);
