-- People with a Type 1 opt-out: their data must not leave the practice, so they appear in
-- no feature, label, score or list. The LATEST registrations delivery that mentions a
-- person governs (extract-feed.md): an opt-out delivered after an index date still removes
-- the person from that index date's rows, and a later withdrawal of the opt-out restores
-- them. Where two practices' snapshots of that month disagree, the opt-out wins.
CREATE OR REPLACE VIEW features.type1_opt_outs AS
SELECT nhs_number
FROM (
    SELECT nhs_number, delivery_month, bool_or(coalesce(type1_opt_out, TRUE)) AS opted_out
    FROM staged.registrations
    WHERE nhs_number IS NOT NULL
    GROUP BY nhs_number, delivery_month
    QUALIFY row_number() OVER (PARTITION BY nhs_number ORDER BY delivery_month DESC) = 1
) AS latest
WHERE opted_out;
