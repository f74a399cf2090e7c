-- The scored people of $month who may appear in a practice's list: registered at THAT
-- practice in the month's registrations snapshot on the score date (registered on or
-- before it, not deregistered by it), with no death recorded in any delivery, and no Type 1
-- opt-out in their latest delivery. Scores of anyone else are dropped here, whatever the
-- scoring stage let through. Parameters: $month VARCHAR ('YYYY-MM').
WITH
scored AS (
    SELECT * FROM scores.risk_scores WHERE delivery_month = $month
),
registered_on_score_date AS (
    SELECT DISTINCT r.nhs_number, r.practice_code
    FROM staged.registrations AS r
    -- The score date read from the table, not from `scored`: a CTE read twice is kept whole,
    -- every column of every score (0.80 s against 0.87 s at 964,252 people, every column
    -- read: benchmarks/list_pieces.py).
    JOIN (SELECT DISTINCT index_date FROM scores.risk_scores WHERE delivery_month = $month) AS d ON TRUE
    WHERE r.delivery_month = $month
      AND r.nhs_number IS NOT NULL
      AND r.registration_date <= d.index_date
      AND (r.deregistration_date IS NULL OR r.deregistration_date > d.index_date)
      AND r.date_of_death IS NULL
),
deceased AS (
    SELECT DISTINCT nhs_number FROM staged.registrations WHERE date_of_death IS NOT NULL
)
SELECT s.*
FROM scored AS s
SEMI JOIN registered_on_score_date AS r USING (nhs_number, practice_code)
ANTI JOIN deceased USING (nhs_number)
ANTI JOIN staged.type1_opt_outs USING (nhs_number)  -- warehouse/opt_outs.py
ORDER BY s.practice_code, s.practice_rank, s.nhs_number
