-- Practices whose GP event file for $month holds at most $drop_ratio of the rows it held
-- on average over its previous $history_months loaded months (a halved extract is usually
-- a failed or partial one, not a quiet month). Practices whose previous average is under
-- $minimum_average rows are too small to judge. A practice with no file this month is a
-- missing practice, reported as such, not here.
-- Parameters: $month, $feeds (list of feed names), $drop_ratio, $minimum_average,
-- $history_months.
WITH files AS (
    SELECT
        files.delivery_month,
        files.feed,
        files.path,
        split_part(files.path, '/', 2) AS practice_code,
        files.loaded_rows
    FROM raw.delivery_files AS files
    JOIN raw.delivery_months AS months USING (delivery_month)
    WHERE files.status = 'loaded'
      AND months.status = 'loaded'
      AND list_contains($feeds, files.feed)
      AND files.path LIKE 'gp/%'
      AND files.delivery_month <= $month
),
history AS (
    SELECT
        current.practice_code,
        current.feed,
        current.path,
        current.loaded_rows AS rows,
        earlier.loaded_rows AS earlier_rows,
        row_number() OVER (
            PARTITION BY current.path ORDER BY earlier.delivery_month DESC
        ) AS months_back
    FROM files AS current
    JOIN files AS earlier
      ON earlier.path = current.path AND earlier.delivery_month < current.delivery_month
    WHERE current.delivery_month = $month
)
SELECT
    practice_code,
    feed,
    path,
    any_value(rows) AS rows,
    round(avg(earlier_rows), 1) AS previous_average,
    count(*) AS previous_months
FROM history
WHERE months_back <= $history_months
GROUP BY practice_code, feed, path
HAVING avg(earlier_rows) >= $minimum_average
   AND any_value(rows) <= $drop_ratio * avg(earlier_rows)
ORDER BY practice_code, feed;
