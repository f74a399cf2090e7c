-- A digest of the Type 1 opt-out set (features.type1_opt_outs), recorded beside each index
-- date's build in features.feature_builds: the rows at a date are those of the opt-out set
-- they were built with. The set is the one fact later than T + 12 months that changes a
-- date's rows: a withdrawal delivered years after T must bring the person back at T.
SELECT md5(coalesce(string_agg(
    CAST(nhs_number AS VARCHAR), ',' ORDER BY CAST(nhs_number AS VARCHAR)
), '')) AS digest
FROM features.type1_opt_outs
