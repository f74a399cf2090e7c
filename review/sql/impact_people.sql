-- Everyone on a practice's list in any month, and the comparison group beside them: as
-- many of the practice's scored people as the list held, taken from just below its
-- cut-off (the next highest risks, not listed), with whether each had an emergency
-- admission, an A&E attendance or died in the 3, 6 and 12 months after the score date.
-- A window counts only once the loaded data covers it to its end ($observed_until).
-- Type 1 opt-outs (their latest delivery) are left out, as from every output.
-- Parameters: $emergency_methods VARCHAR[], $observed_until DATE.
WITH
listed AS (
    SELECT delivery_month, practice_code, nhs_number FROM scores.practice_lists
),
list_length AS (
    SELECT delivery_month, practice_code, count(*) AS people FROM listed GROUP BY ALL
),
scored AS (
    SELECT
        s.delivery_month, s.practice_code, s.nhs_number, s.index_date, s.risk, s.tier,
        s.practice_rank, l.nhs_number IS NOT NULL AS on_list, n.people AS list_people
    FROM scores.risk_scores AS s
    JOIN list_length AS n USING (delivery_month, practice_code)
    LEFT JOIN listed AS l USING (delivery_month, practice_code, nhs_number)
),
registered_on_score_date AS (
    -- Who the month's list could have held (lists/sql/list_population.sql, as it stood when
    -- the month was listed): registered at that practice in the month's snapshot on the
    -- score date, no death recorded in that or an earlier delivery. A death delivered
    -- later is an outcome, not a reason to leave someone out.
    SELECT DISTINCT r.delivery_month, r.practice_code, r.nhs_number
    FROM staged.registrations AS r
    JOIN (SELECT DISTINCT delivery_month, index_date FROM scored) AS d USING (delivery_month)
    WHERE r.registration_date <= d.index_date
      AND (r.deregistration_date IS NULL OR r.deregistration_date > d.index_date)
      AND r.date_of_death IS NULL
      AND r.nhs_number NOT IN (
          SELECT nhs_number FROM staged.registrations AS later
          WHERE later.date_of_death IS NOT NULL AND later.delivery_month <= d.delivery_month
      )
),
below AS (
    SELECT *, row_number() OVER (
        PARTITION BY delivery_month, practice_code ORDER BY practice_rank, nhs_number
    ) AS place_below
    FROM scored
    SEMI JOIN registered_on_score_date USING (delivery_month, practice_code, nhs_number)
    WHERE NOT on_list
),
cohort AS (
    SELECT delivery_month, practice_code, nhs_number, index_date, risk, tier, TRUE AS on_list
    FROM scored WHERE on_list
    UNION ALL
    SELECT delivery_month, practice_code, nhs_number, index_date, risk, tier, FALSE
    FROM below WHERE place_below <= list_people
),
opted_out AS (
    {opt_outs}
),
windows AS (
    SELECT c.*, h.horizon_months,
        last_day(c.index_date + to_months(h.horizon_months)) AS window_end
    FROM cohort AS c
    ANTI JOIN opted_out USING (nhs_number)
    CROSS JOIN (SELECT unnest([3, 6, 12]) AS horizon_months) AS h
),
emergency AS (
    SELECT nhs_number, admission_date AS event_date FROM staged.admissions
    WHERE list_contains($emergency_methods, admission_method)
),
attendances AS (
    SELECT nhs_number, arrival_date AS event_date FROM staged.ae_attendances
),
deaths AS (
    SELECT nhs_number, min(date_of_death) AS event_date
    FROM staged.registrations WHERE date_of_death IS NOT NULL GROUP BY nhs_number
)
SELECT
    w.delivery_month AS list_month, w.practice_code, w.nhs_number, w.on_list, w.tier, w.risk,
    w.horizon_months,
    EXISTS (SELECT 1 FROM emergency AS e WHERE e.nhs_number = w.nhs_number
            AND e.event_date > w.index_date AND e.event_date <= w.window_end) AS emergency_admission,
    EXISTS (SELECT 1 FROM attendances AS a WHERE a.nhs_number = w.nhs_number
            AND a.event_date > w.index_date AND a.event_date <= w.window_end) AS ae_attendance,
    EXISTS (SELECT 1 FROM deaths AS d WHERE d.nhs_number = w.nhs_number
            AND d.event_date > w.index_date AND d.event_date <= w.window_end) AS death
FROM windows AS w
WHERE w.window_end <= CAST($observed_until AS DATE)
ORDER BY list_month, w.practice_code, w.horizon_months, w.on_list DESC, w.nhs_number
