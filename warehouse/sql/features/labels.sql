-- features.labels: the outcome for every person in features.person_features at index date
-- $index_date: 1 if at least one emergency admission (admission_method in
-- $emergency_methods; maternity never) has admission_date in ($index_date, last_day(
-- $index_date + 12 months)], else 0. For a month-end index date that is the next twelve
-- calendar months. Labels read the future by definition; nothing here may feed a feature.
SELECT
    p.nhs_number,
    p.index_date,
    CAST(e.nhs_number IS NOT NULL AS TINYINT) AS emergency_admission_12m
FROM features.person_features AS p
LEFT JOIN (
    SELECT DISTINCT nhs_number
    FROM staged.admissions
    WHERE admission_date > CAST($index_date AS DATE)
      AND admission_date <= last_day(CAST($index_date AS DATE) + INTERVAL 12 MONTH)
      AND list_contains($emergency_methods, admission_method)
) AS e USING (nhs_number)
WHERE p.index_date = CAST($index_date AS DATE)
ORDER BY p.nhs_number
