-- Reconciliation of one extract month, per delivered file:
-- delivered (rows loaded into raw) = staged + quarantined + ignored.
-- Reads the temp table staged_file_counts (source_file, staged_rows) that
-- warehouse.staged.reconcile_month fills from every staged.<feed> table, so the counts
-- come from the tables themselves, not from what the staging code meant to write.
-- Parameter: $month.
WITH quarantined AS (
    SELECT source_file, count(DISTINCT line_number) AS quarantined_rows
    FROM quarantine.rows
    WHERE delivery_month = $month
    GROUP BY source_file
),
ignored AS (
    SELECT source_file, count(DISTINCT line_number) AS ignored_rows
    FROM quarantine.ignored_rows
    WHERE delivery_month = $month
    GROUP BY source_file
)
SELECT
    files.path AS source_file,
    files.feed,
    files.status,
    files.reason,
    coalesce(files.loaded_rows, 0) AS delivered_rows,
    coalesce(staged.staged_rows, 0) AS staged_rows,
    coalesce(quarantined.quarantined_rows, 0) AS quarantined_rows,
    coalesce(ignored.ignored_rows, 0) AS ignored_rows,
    coalesce(files.loaded_rows, 0)
        - coalesce(staged.staged_rows, 0)
        - coalesce(quarantined.quarantined_rows, 0)
        - coalesce(ignored.ignored_rows, 0) AS unaccounted_rows
FROM raw.delivery_files AS files
LEFT JOIN staged_file_counts AS staged ON staged.source_file = files.path
LEFT JOIN quarantined ON quarantined.source_file = files.path
LEFT JOIN ignored ON ignored.source_file = files.path
WHERE files.delivery_month = $month
ORDER BY files.path;
