-- For the check practice_risk_lists_hold_only_registered_patients: the people read back
-- from the practices' published risk_list.csv files (relation `listed_in_outbox`:
-- practice_code from the folder, nhs_number from the file), judged against the staged
-- registrations by rules written here, apart from list_population.sql (the query that chose
-- them), so a bug there cannot pass here. A listed person is wrong when:
--   not registered there: no registration at THAT practice in the $month snapshot current
--     on $score_date (registered on or before it, not deregistered by it);
--   deceased: any delivery records a date of death;
--   Type 1 opt-out: their latest registrations delivery flags an opt-out (or leaves the
--     flag unknown) at any practice.
-- A person may break more than one rule. One row per practice with anyone wrong.
-- Parameters: $month VARCHAR ('YYYY-MM'), $score_date DATE.
WITH judged AS (
    SELECT
        l.practice_code,
        l.nhs_number,
        EXISTS (
            SELECT 1
            FROM staged.registrations AS r
            WHERE r.delivery_month = $month
              AND r.practice_code = l.practice_code
              AND r.nhs_number = l.nhs_number
              AND r.registration_date <= $score_date
              AND (r.deregistration_date IS NULL OR r.deregistration_date > $score_date)
        ) AS registered_there,
        EXISTS (
            SELECT 1
            FROM staged.registrations AS r
            WHERE r.nhs_number = l.nhs_number AND r.date_of_death IS NOT NULL
        ) AS deceased,
        EXISTS (
            SELECT 1
            FROM staged.registrations AS r
            WHERE r.nhs_number = l.nhs_number
              AND coalesce(r.type1_opt_out, TRUE)
              AND r.delivery_month = (
                  SELECT max(latest.delivery_month)
                  FROM staged.registrations AS latest
                  WHERE latest.nhs_number = l.nhs_number
              )
        ) AS opted_out
    FROM listed_in_outbox AS l
)
SELECT
    practice_code,
    count(*) FILTER (WHERE NOT registered_there) AS not_registered_there,
    count(*) FILTER (WHERE deceased) AS deceased,
    count(*) FILTER (WHERE opted_out) AS type1_opt_out
FROM judged
WHERE NOT registered_there OR deceased OR opted_out
GROUP BY practice_code
ORDER BY practice_code
