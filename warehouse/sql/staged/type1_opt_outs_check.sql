-- The Type 1 opt-out rule of type1_opt_outs.sql, written independently (it was the lists'
-- own until the set was kept as a table): staging stops if the two ever disagree
-- (warehouse/opt_outs.py), so a mistake in either cannot let an opted-out person through.
-- People whose LATEST registrations delivery carries a Type 1 opt-out (extract-feed.md:
-- the latest delivery governs; where two practices' snapshots of that month disagree, the
-- opt-out wins; an unknown flag counts as an opt-out).
-- One aggregate, no window: a person is opted out when the latest month with an opt-out
-- (or unknown flag) row is their latest delivered month (2.8 s to 0.5 s on 2.6 M rows).
-- Only people with such a row can be opted out, so only their rows are aggregated (37 M
-- rows at 1,000,000 people: 1.50 s to 0.96 s; benchmarks/opt_out_sets.py).
SELECT nhs_number
FROM (
    SELECT
        nhs_number,
        max(delivery_month) AS latest_month,
        max(delivery_month) FILTER (WHERE coalesce(type1_opt_out, TRUE)) AS latest_opt_out
    FROM staged.registrations
    WHERE nhs_number IN (
        SELECT nhs_number FROM staged.registrations WHERE coalesce(type1_opt_out, TRUE)
    )
    GROUP BY nhs_number
) AS latest
WHERE latest_opt_out = latest_month
