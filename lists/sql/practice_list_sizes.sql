-- Registered list size of each practice on $month's score date: people in the month's
-- registrations snapshot registered there on $index_date and alive, without a Type 1
-- opt-out in their latest delivery (an opted-out person is counted nowhere).
-- Parameters: $month VARCHAR ('YYYY-MM'), $index_date DATE.
SELECT r.practice_code, count(DISTINCT r.nhs_number) AS registered_list_size
FROM staged.registrations AS r
ANTI JOIN staged.type1_opt_outs USING (nhs_number)  -- warehouse/opt_outs.py
WHERE r.delivery_month = $month
  AND r.nhs_number IS NOT NULL
  AND r.registration_date <= $index_date
  AND (r.deregistration_date IS NULL OR r.deregistration_date > $index_date)
  AND (r.date_of_death IS NULL OR r.date_of_death > $index_date)
GROUP BY r.practice_code
ORDER BY r.practice_code
