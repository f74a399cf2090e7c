-- features.person_features: one row per eligible person at one index date $index_date (a
-- month's last day), with every feature of models/feature_catalogue.py in catalogue order.
--
-- Must never read anything dated after $index_date: events are filtered on their own date
-- (<= $index_date); snapshots are taken from delivery months up to $index_date's month,
-- each as at its month's last day; a spell discharged after $index_date (or not yet) counts
-- as in hospital up to $index_date, and its discharge date is never used. Hospital and
-- social-care events join people by nhs_number, never by the hospital's practice_code.
-- The one later fact allowed in is the Type 1 opt-out (features.type1_opt_outs), which
-- only removes people.
--
-- Windows: "_Nm" counts events dated in (last_day($index_date - N months), $index_date].
-- Look-back: nothing reads further back than 12 months (start_12m), "latest", "active" and
-- "days since" included, so no feature depends on how old the feed is: a training date
-- with 12 months of history sees what the scoring date sees (docs/features.md). Only the
-- conditions snapshot (a full record, delivered whole each month) and registration
-- details reach further.
-- Parameters: $index_date DATE, its month $index_month 'YYYY-MM', and the windows' starts
-- $start_3m and $start_12m DATE (the last days of the months 3 and 12 months before). They
-- are parameters, not a CTE joined in, so that each scan skips the row groups outside its
-- window: 9.9 s to 7.6 s for the latest of 37 months at 1,000,000 people, the same rows
-- (benchmarks/feature_sql.py). $condition_names, $condition_codes VARCHAR[] (same order);
-- $emergency_methods, $elective_methods, $attended_statuses, $did_not_attend_statuses
-- VARCHAR[]; $bmi_code, $systolic_bp_code, $hba1c_code VARCHAR; $smoking_codes VARCHAR[]
-- (current, ex, never) with $smoking_statuses VARCHAR[] their names.
WITH
-- Eligibility: registered at T in the snapshot of T's month (the registration active at T
-- when a person moved: latest registration_date), alive at T, no Type 1 opt-out.
died AS (
    SELECT DISTINCT r.nhs_number
    FROM staged.registrations AS r
    WHERE r.delivery_month <= $index_month AND r.date_of_death <= $index_date
),
registered AS (
    SELECT r.nhs_number, r.practice_code, r.date_of_birth, r.sex, r.ethnic_category,
           r.lsoa_code, r.care_home
    FROM staged.registrations AS r
    WHERE r.delivery_month = $index_month
      AND r.nhs_number IS NOT NULL
      AND r.registration_date <= $index_date
      AND (r.deregistration_date IS NULL OR r.deregistration_date > $index_date)
      AND (r.date_of_death IS NULL OR r.date_of_death > $index_date)
    QUALIFY row_number() OVER (
        PARTITION BY r.nhs_number ORDER BY r.registration_date DESC, r.practice_code
    ) = 1
),
population AS (
    SELECT registered.*
    FROM registered
    ANTI JOIN died USING (nhs_number)
    ANTI JOIN features.type1_opt_outs USING (nhs_number)
),
deprivation AS (
    SELECT lsoa_code, min(imd_decile) AS imd_decile
    FROM staged.lsoa_imd
    GROUP BY lsoa_code
),

-- Conditions: each person's latest conditions snapshot at or before T's month.
condition_codes AS (
    SELECT unnest($condition_names) AS condition, unnest($condition_codes) AS snomed_code
),
condition_snapshots AS (
    SELECT c.nhs_number, max(c.delivery_month) AS delivery_month
    FROM staged.conditions AS c
    WHERE c.delivery_month <= $index_month
    GROUP BY c.nhs_number
),
diagnoses AS (
    SELECT c.nhs_number, codes.condition, min(c.diagnosis_date) AS diagnosed
    FROM staged.conditions AS c
    JOIN condition_snapshots AS s USING (nhs_number, delivery_month)
    JOIN condition_codes AS codes USING (snomed_code)
    WHERE c.diagnosis_date <= $index_date
    GROUP BY c.nhs_number, codes.condition
),
condition_features AS (
    SELECT
        nhs_number,
        bool_or(condition = 'hypertension') AS hypertension,
        bool_or(condition = 'diabetes_type1') AS diabetes_type1,
        bool_or(condition = 'diabetes_type2') AS diabetes_type2,
        bool_or(condition = 'asthma') AS asthma,
        bool_or(condition = 'copd') AS copd,
        bool_or(condition = 'heart_failure') AS heart_failure,
        bool_or(condition = 'atrial_fibrillation') AS atrial_fibrillation,
        bool_or(condition = 'ischaemic_heart_disease') AS ischaemic_heart_disease,
        bool_or(condition = 'stroke') AS stroke,
        bool_or(condition = 'chronic_kidney_disease') AS chronic_kidney_disease,
        bool_or(condition = 'dementia') AS dementia,
        bool_or(condition = 'depression') AS depression,
        bool_or(condition = 'schizophrenia') AS schizophrenia,
        bool_or(condition = 'bipolar_disorder') AS bipolar_disorder,
        bool_or(condition = 'cancer') AS cancer,
        bool_or(condition = 'epilepsy') AS epilepsy,
        bool_or(condition = 'rheumatoid_arthritis') AS rheumatoid_arthritis,
        bool_or(condition = 'osteoporosis') AS osteoporosis,
        bool_or(condition = 'parkinsons_disease') AS parkinsons_disease,
        bool_or(condition = 'learning_disability') AS learning_disability,
        count(*) AS ltc_count,
        min(diagnosed) FILTER (WHERE condition = 'heart_failure') AS heart_failure_diagnosed,
        min(diagnosed) FILTER (WHERE condition = 'copd') AS copd_diagnosed,
        min(diagnosed) FILTER (
            WHERE condition IN ('diabetes_type1', 'diabetes_type2')
        ) AS diabetes_diagnosed,
        min(diagnosed) FILTER (
            WHERE condition = 'chronic_kidney_disease'
        ) AS chronic_kidney_disease_diagnosed,
        min(diagnosed) FILTER (WHERE condition = 'dementia') AS dementia_diagnosed,
        min(diagnosed) FILTER (WHERE condition = 'cancer') AS cancer_diagnosed
    FROM diagnoses
    GROUP BY nhs_number
),

-- GP activity.
consultation_features AS (
    SELECT
        c.nhs_number,
        count(*) FILTER (WHERE c.consultation_date > $start_3m) AS consultations_3m,
        count(*) AS consultations_12m,
        count(*) FILTER (WHERE c.mode = 'home_visit') AS home_visits_12m
    FROM staged.consultations AS c
    WHERE c.consultation_date > $start_12m AND c.consultation_date <= $index_date
    GROUP BY c.nhs_number
),
-- BNF sections issued: each person's sections with the last issue in the window, then
-- counted (a section was issued in the last 3 months if its last issue was); the same
-- counts as count(DISTINCT section) per window, in 0.7 s against 1.7 s at 1,000,000 people.
medication_sections AS (
    SELECT m.nhs_number, left(m.bnf_code, 4) AS bnf_section, max(m.issue_date) AS last_issued
    FROM staged.medications AS m
    WHERE m.issue_date > $start_12m AND m.issue_date <= $index_date
    GROUP BY m.nhs_number, bnf_section
),
medication_features AS (
    SELECT
        nhs_number,
        count(bnf_section) FILTER (WHERE last_issued > $start_3m) AS bnf_sections_3m,
        count(bnf_section) AS bnf_sections_12m
    FROM medication_sections
    GROUP BY nhs_number
),

-- Hospital activity, by nhs_number.
ae_features AS (
    SELECT
        a.nhs_number,
        count(*) FILTER (WHERE a.arrival_date > $start_3m) AS ae_attendances_3m,
        count(*) AS ae_attendances_12m,
        count(*) FILTER (WHERE a.arrived_by_ambulance) AS ambulance_arrivals_12m
    FROM staged.ae_attendances AS a
    WHERE a.arrival_date > $start_12m AND a.arrival_date <= $index_date
    GROUP BY a.nhs_number
),
outpatient_features AS (
    SELECT
        o.nhs_number,
        count(*) FILTER (
            WHERE list_contains($attended_statuses, o.attendance_status)
        ) AS outpatient_attendances_12m,
        count(*) FILTER (
            WHERE list_contains($did_not_attend_statuses, o.attendance_status)
        ) AS outpatient_dnas_12m
    FROM staged.outpatients AS o
    WHERE o.appointment_date > $start_12m AND o.appointment_date <= $index_date
    GROUP BY o.nhs_number
),
spells AS (
    SELECT
        s.nhs_number,
        s.admission_date,
        list_contains($emergency_methods, s.admission_method) AS emergency,
        list_contains($elective_methods, s.admission_method) AS elective,
        -- In hospital up to T unless discharged by T: a later discharge is never read.
        CASE
            WHEN s.discharge_date IS NOT NULL AND s.discharge_date <= $index_date
                THEN s.discharge_date
            ELSE $index_date
        END AS discharge_by_index_date,
        $index_date AS index_date,
        $start_3m AS start_3m,
        $start_12m AS start_12m
    FROM staged.admissions AS s
    -- Spells admitted within the look-back only: an older spell still open at T is
    -- invisible at a training date whose history starts after its admission.
    WHERE s.admission_date > $start_12m AND s.admission_date <= $index_date
),
admission_features AS (
    SELECT
        nhs_number,
        count(*) FILTER (WHERE elective) AS elective_admissions_12m,
        count(*) FILTER (WHERE emergency AND admission_date > start_3m) AS emergency_admissions_3m,
        count(*) FILTER (WHERE emergency) AS emergency_admissions_12m,
        sum(date_diff('day', admission_date, discharge_by_index_date)) AS bed_days_12m,
        date_diff(
            'day', max(admission_date) FILTER (WHERE emergency), any_value(index_date)
        ) AS days_since_emergency_admission
    FROM spells
    GROUP BY nhs_number
),

-- Adult social care, by nhs_number.
service_features AS (
    SELECT
        s.nhs_number,
        bool_or(s.end_date IS NULL OR s.end_date > $index_date) AS social_care_active,
        bool_or(
            (s.end_date IS NULL OR s.end_date > $index_date)
            AND s.service_type IN ('residential', 'nursing')
        ) AS residential_care_active,
        count(*) AS social_care_started_12m
    FROM staged.services AS s
    -- Active means started within the look-back and not ended by T (an older service is
    -- invisible at a training date whose history starts after it began).
    WHERE s.start_date > $start_12m AND s.start_date <= $index_date
    GROUP BY s.nhs_number
),

-- Latest observations within the 12-month look-back; on one day the highest value, and for
-- smoking the status listed first in $smoking_codes (current before ex before never).
latest_observations AS (
    SELECT
        o.nhs_number,
        CASE WHEN list_contains($smoking_codes, o.snomed_code) THEN 'smoking' ELSE o.snomed_code END
            AS measure,
        o.snomed_code,
        o.value
    FROM staged.observations AS o
    WHERE o.observation_date > $start_12m AND o.observation_date <= $index_date
      AND (
          list_contains($smoking_codes, o.snomed_code)
          OR (o.snomed_code IN ($bmi_code, $systolic_bp_code, $hba1c_code) AND o.value IS NOT NULL)
      )
    QUALIFY row_number() OVER (
        PARTITION BY o.nhs_number, measure
        ORDER BY o.observation_date DESC, list_position($smoking_codes, o.snomed_code), o.value DESC
    ) = 1
),
observation_features AS (
    SELECT
        nhs_number,
        max(value) FILTER (WHERE snomed_code = $bmi_code) AS bmi,
        max(value) FILTER (WHERE snomed_code = $systolic_bp_code) AS systolic_bp,
        max(value) FILTER (WHERE snomed_code = $hba1c_code) AS hba1c,
        max($smoking_statuses[list_position($smoking_codes, snomed_code)]) FILTER (
            WHERE measure = 'smoking'
        ) AS smoking_status
    FROM latest_observations
    GROUP BY nhs_number
),

assembled AS (
    SELECT
        p.nhs_number,
        $index_date AS index_date,
        p.practice_code,
        date_sub('year', p.date_of_birth, $index_date) AS age,
        CASE p.sex
            WHEN '1' THEN 'male'
            WHEN '2' THEN 'female'
            WHEN '9' THEN 'indeterminate'
            ELSE 'not known'
        END AS sex,
        d.imd_decile,
        -- NHS ethnic category (2001 census) groups.
        CASE
            WHEN p.ethnic_category IN ('A', 'B', 'C') THEN 'White'
            WHEN p.ethnic_category IN ('D', 'E', 'F', 'G') THEN 'Mixed'
            WHEN p.ethnic_category IN ('H', 'J', 'K', 'L') THEN 'Asian'
            WHEN p.ethnic_category IN ('M', 'N', 'P') THEN 'Black'
            WHEN p.ethnic_category IN ('R', 'S') THEN 'Other'
            ELSE 'Not stated'
        END AS ethnicity_group,
        coalesce(p.care_home, FALSE) AS care_home,
        coalesce(cf.hypertension, FALSE) AS hypertension,
        coalesce(cf.diabetes_type1, FALSE) AS diabetes_type1,
        coalesce(cf.diabetes_type2, FALSE) AS diabetes_type2,
        coalesce(cf.asthma, FALSE) AS asthma,
        coalesce(cf.copd, FALSE) AS copd,
        coalesce(cf.heart_failure, FALSE) AS heart_failure,
        coalesce(cf.atrial_fibrillation, FALSE) AS atrial_fibrillation,
        coalesce(cf.ischaemic_heart_disease, FALSE) AS ischaemic_heart_disease,
        coalesce(cf.stroke, FALSE) AS stroke,
        coalesce(cf.chronic_kidney_disease, FALSE) AS chronic_kidney_disease,
        coalesce(cf.dementia, FALSE) AS dementia,
        coalesce(cf.depression, FALSE) AS depression,
        coalesce(cf.schizophrenia, FALSE) AS schizophrenia,
        coalesce(cf.bipolar_disorder, FALSE) AS bipolar_disorder,
        coalesce(cf.cancer, FALSE) AS cancer,
        coalesce(cf.epilepsy, FALSE) AS epilepsy,
        coalesce(cf.rheumatoid_arthritis, FALSE) AS rheumatoid_arthritis,
        coalesce(cf.osteoporosis, FALSE) AS osteoporosis,
        coalesce(cf.parkinsons_disease, FALSE) AS parkinsons_disease,
        coalesce(cf.learning_disability, FALSE) AS learning_disability,
        coalesce(cf.ltc_count, 0) AS ltc_count,
        date_diff('day', cf.heart_failure_diagnosed, $index_date) / 365.25
            AS years_since_heart_failure,
        date_diff('day', cf.copd_diagnosed, $index_date) / 365.25 AS years_since_copd,
        date_diff('day', cf.diabetes_diagnosed, $index_date) / 365.25 AS years_since_diabetes,
        date_diff('day', cf.chronic_kidney_disease_diagnosed, $index_date) / 365.25
            AS years_since_chronic_kidney_disease,
        date_diff('day', cf.dementia_diagnosed, $index_date) / 365.25 AS years_since_dementia,
        date_diff('day', cf.cancer_diagnosed, $index_date) / 365.25 AS years_since_cancer,
        coalesce(c.consultations_3m, 0) AS consultations_3m,
        coalesce(c.consultations_12m, 0) AS consultations_12m,
        coalesce(c.home_visits_12m, 0) AS home_visits_12m,
        coalesce(m.bnf_sections_3m, 0) AS bnf_sections_3m,
        coalesce(m.bnf_sections_12m, 0) AS bnf_sections_12m,
        coalesce(ae.ae_attendances_3m, 0) AS ae_attendances_3m,
        coalesce(ae.ae_attendances_12m, 0) AS ae_attendances_12m,
        coalesce(ae.ambulance_arrivals_12m, 0) AS ambulance_arrivals_12m,
        coalesce(op.outpatient_attendances_12m, 0) AS outpatient_attendances_12m,
        coalesce(op.outpatient_dnas_12m, 0) AS outpatient_dnas_12m,
        coalesce(a.elective_admissions_12m, 0) AS elective_admissions_12m,
        coalesce(a.emergency_admissions_3m, 0) AS emergency_admissions_3m,
        coalesce(a.emergency_admissions_12m, 0) AS emergency_admissions_12m,
        coalesce(a.bed_days_12m, 0) AS bed_days_12m,
        a.days_since_emergency_admission,
        coalesce(sc.social_care_active, FALSE) AS social_care_active,
        coalesce(sc.residential_care_active, FALSE) AS residential_care_active,
        coalesce(sc.social_care_started_12m, 0) AS social_care_started_12m,
        o.bmi,
        o.systolic_bp,
        o.hba1c,
        coalesce(o.smoking_status, 'not recorded') AS smoking_status
    FROM population AS p
    LEFT JOIN deprivation AS d USING (lsoa_code)
    LEFT JOIN condition_features AS cf USING (nhs_number)
    LEFT JOIN consultation_features AS c USING (nhs_number)
    LEFT JOIN medication_features AS m USING (nhs_number)
    LEFT JOIN ae_features AS ae USING (nhs_number)
    LEFT JOIN outpatient_features AS op USING (nhs_number)
    LEFT JOIN admission_features AS a USING (nhs_number)
    LEFT JOIN service_features AS sc USING (nhs_number)
    LEFT JOIN observation_features AS o USING (nhs_number)
)

SELECT
    nhs_number,
    index_date,
    practice_code,
    CAST(age AS DOUBLE) AS age,
    sex,
    CAST(imd_decile AS DOUBLE) AS imd_decile,
    ethnicity_group,
    CAST(care_home AS TINYINT) AS care_home,
    CAST(hypertension AS TINYINT) AS hypertension,
    CAST(diabetes_type1 AS TINYINT) AS diabetes_type1,
    CAST(diabetes_type2 AS TINYINT) AS diabetes_type2,
    CAST(asthma AS TINYINT) AS asthma,
    CAST(copd AS TINYINT) AS copd,
    CAST(heart_failure AS TINYINT) AS heart_failure,
    CAST(atrial_fibrillation AS TINYINT) AS atrial_fibrillation,
    CAST(ischaemic_heart_disease AS TINYINT) AS ischaemic_heart_disease,
    CAST(stroke AS TINYINT) AS stroke,
    CAST(chronic_kidney_disease AS TINYINT) AS chronic_kidney_disease,
    CAST(dementia AS TINYINT) AS dementia,
    CAST(depression AS TINYINT) AS depression,
    CAST(schizophrenia AS TINYINT) AS schizophrenia,
    CAST(bipolar_disorder AS TINYINT) AS bipolar_disorder,
    CAST(cancer AS TINYINT) AS cancer,
    CAST(epilepsy AS TINYINT) AS epilepsy,
    CAST(rheumatoid_arthritis AS TINYINT) AS rheumatoid_arthritis,
    CAST(osteoporosis AS TINYINT) AS osteoporosis,
    CAST(parkinsons_disease AS TINYINT) AS parkinsons_disease,
    CAST(learning_disability AS TINYINT) AS learning_disability,
    CAST(ltc_count AS DOUBLE) AS ltc_count,
    CAST(years_since_heart_failure AS DOUBLE) AS years_since_heart_failure,
    CAST(years_since_copd AS DOUBLE) AS years_since_copd,
    CAST(years_since_diabetes AS DOUBLE) AS years_since_diabetes,
    CAST(years_since_chronic_kidney_disease AS DOUBLE) AS years_since_chronic_kidney_disease,
    CAST(years_since_dementia AS DOUBLE) AS years_since_dementia,
    CAST(years_since_cancer AS DOUBLE) AS years_since_cancer,
    -- Frailty deficits (docs/features.md): 16 binary deficits, summed.
    CAST(
        CAST(heart_failure AS INTEGER) + CAST(copd AS INTEGER)
        + CAST(diabetes_type1 OR diabetes_type2 AS INTEGER)
        + CAST(chronic_kidney_disease AS INTEGER) + CAST(dementia AS INTEGER)
        + CAST(stroke AS INTEGER) + CAST(parkinsons_disease AS INTEGER)
        + CAST(osteoporosis AS INTEGER) + CAST(atrial_fibrillation AS INTEGER)
        + CAST(ischaemic_heart_disease AS INTEGER) + CAST(depression AS INTEGER)
        + CAST(care_home OR residential_care_active AS INTEGER)
        + CAST(bnf_sections_12m >= 5 AS INTEGER)
        + CAST(home_visits_12m > 0 AS INTEGER)
        + CAST(social_care_active AS INTEGER)
        + CAST(ambulance_arrivals_12m > 0 AS INTEGER)
        AS DOUBLE
    ) AS frailty_deficits,
    CAST(consultations_3m AS DOUBLE) AS consultations_3m,
    CAST(consultations_12m AS DOUBLE) AS consultations_12m,
    CAST(home_visits_12m AS DOUBLE) AS home_visits_12m,
    CAST(bnf_sections_3m AS DOUBLE) AS bnf_sections_3m,
    CAST(bnf_sections_12m AS DOUBLE) AS bnf_sections_12m,
    CAST(ae_attendances_3m AS DOUBLE) AS ae_attendances_3m,
    CAST(ae_attendances_12m AS DOUBLE) AS ae_attendances_12m,
    CAST(ambulance_arrivals_12m AS DOUBLE) AS ambulance_arrivals_12m,
    CAST(outpatient_attendances_12m AS DOUBLE) AS outpatient_attendances_12m,
    CAST(outpatient_dnas_12m AS DOUBLE) AS outpatient_dnas_12m,
    CAST(elective_admissions_12m AS DOUBLE) AS elective_admissions_12m,
    CAST(emergency_admissions_3m AS DOUBLE) AS emergency_admissions_3m,
    CAST(emergency_admissions_12m AS DOUBLE) AS emergency_admissions_12m,
    CAST(bed_days_12m AS DOUBLE) AS bed_days_12m,
    CAST(days_since_emergency_admission AS DOUBLE) AS days_since_emergency_admission,
    CAST(social_care_active AS TINYINT) AS social_care_active,
    CAST(social_care_started_12m AS DOUBLE) AS social_care_started_12m,
    CAST(bmi AS DOUBLE) AS bmi,
    CAST(systolic_bp AS DOUBLE) AS systolic_bp,
    CAST(hba1c AS DOUBLE) AS hba1c,
    smoking_status
FROM assembled
ORDER BY nhs_number
