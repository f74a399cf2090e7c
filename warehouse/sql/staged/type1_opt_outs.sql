-- staged.type1_opt_outs (warehouse/opt_outs.py): people with a Type 1 opt-out. Their data
-- must not leave the practice, so they appear in no feature, label, score or list. The
-- LATEST registrations delivery that mentions a person governs (extract-feed.md): an
-- opt-out delivered after an index date still removes the person from that index date's
-- rows, and a later withdrawal of the opt-out restores them. Where two practices'
-- snapshots of that month disagree, or the flag is missing, the opt-out wins. (Only people
-- with an opt-out somewhere are looked at: a small set among tens of millions of snapshot
-- rows.) type1_opt_outs_check.sql states the same rule another way; both must agree.
WITH opted_out AS (
    SELECT DISTINCT nhs_number, delivery_month
    FROM staged.registrations
    WHERE coalesce(type1_opt_out, TRUE) AND nhs_number IS NOT NULL
),
latest AS (
    SELECT nhs_number, max(delivery_month) AS delivery_month
    FROM staged.registrations
    WHERE nhs_number IN (SELECT nhs_number FROM opted_out)
    GROUP BY nhs_number
)
SELECT DISTINCT nhs_number
FROM opted_out
JOIN latest USING (nhs_number, delivery_month)
