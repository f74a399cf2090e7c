-- People whose LATEST registrations delivery carries a Type 1 opt-out (extract-feed.md:
-- the latest delivery governs; where two practices' snapshots of that month disagree, the
-- opt-out wins; an unknown flag counts as an opt-out). Written independently of
-- features.type1_opt_outs on purpose: the outbox does not take eligibility on trust.
SELECT nhs_number
FROM (
    SELECT nhs_number, delivery_month, bool_or(coalesce(type1_opt_out, TRUE)) AS opted_out
    FROM staged.registrations
    WHERE nhs_number IS NOT NULL
    GROUP BY nhs_number, delivery_month
    QUALIFY row_number() OVER (PARTITION BY nhs_number ORDER BY delivery_month DESC) = 1
) AS latest
WHERE opted_out
