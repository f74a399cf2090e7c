-- masked_value(column_name, value): the text kept in quarantine, ignored and warning rows.
-- An NHS number keeps only its last 3 digits, whatever its shape; any other value keeps
-- its text except that a run of exactly ten digits (an NHS number in the wrong column)
-- is masked the same way. Applied twice because adjacent runs share a separator.
CREATE OR REPLACE TEMP MACRO masked_value(column_name, value) AS
    CASE
        WHEN value IS NULL THEN NULL
        WHEN column_name = 'nhs_number' THEN '*******' || right(value, 3)
        ELSE regexp_replace(
            regexp_replace(value, '(^|[^0-9])[0-9]{7}([0-9]{3})([^0-9]|$)', '\1*******\2\3', 'g'),
            '(^|[^0-9])[0-9]{7}([0-9]{3})([^0-9]|$)', '\1*******\2\3', 'g'
        )
    END;
