-- A digest of everything features.person_features and features.labels at index date T can
-- depend on: per staged feed, the row count of each delivery month up to $horizon_month
-- (T's month + 12, the end of the label window), the digest of each of those months'
-- manifests, and the whole deprivation reference. Events are delivered in the month they
-- are dated and snapshots are as at their month's end, so later months cannot change
-- features or labels at T; a re-delivered (corrected) month changes its manifest digest.
SELECT md5(coalesce(string_agg(part, '|' ORDER BY part), '')) AS fingerprint
FROM (
    SELECT 'registrations:' || delivery_month || ':' || count(*) AS part
    FROM staged.registrations WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'conditions:' || delivery_month || ':' || count(*)
    FROM staged.conditions WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'consultations:' || delivery_month || ':' || count(*)
    FROM staged.consultations WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'medications:' || delivery_month || ':' || count(*)
    FROM staged.medications WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'observations:' || delivery_month || ':' || count(*)
    FROM staged.observations WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'ae_attendances:' || delivery_month || ':' || count(*)
    FROM staged.ae_attendances WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'outpatients:' || delivery_month || ':' || count(*)
    FROM staged.outpatients WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'admissions:' || delivery_month || ':' || count(*)
    FROM staged.admissions WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'services:' || delivery_month || ':' || count(*)
    FROM staged.services WHERE delivery_month <= $horizon_month GROUP BY delivery_month
    UNION ALL
    SELECT 'delivery:' || delivery_month || ':' || coalesce(manifest_sha256, '')
    FROM raw.delivery_months WHERE status = 'loaded' AND delivery_month <= $horizon_month
    UNION ALL
    SELECT 'lsoa_imd:' || md5(coalesce(string_agg(
        lsoa_code || '=' || coalesce(CAST(imd_decile AS VARCHAR), ''), ','
        ORDER BY lsoa_code, imd_decile
    ), ''))
    FROM staged.lsoa_imd
) AS parts
