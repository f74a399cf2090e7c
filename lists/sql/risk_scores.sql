-- scores.risk_scores: every eligible person at a month's index date, scored by one model.
-- Written by lists/scores.py; a month's rows are replaced whole on every run.
CREATE TABLE IF NOT EXISTS scores.risk_scores (
    delivery_month VARCHAR NOT NULL,            -- 'YYYY-MM' whose month end is the index date
    index_date DATE NOT NULL,
    nhs_number VARCHAR NOT NULL,
    practice_code VARCHAR NOT NULL,             -- registered practice at the index date
    risk DOUBLE NOT NULL,                       -- calibrated P(emergency admission in 12 months)
    area_rank INTEGER NOT NULL,                 -- 1 = highest risk; ties by nhs_number
    area_percentile DOUBLE NOT NULL,            -- % of the area at or below this risk (100 = top)
    practice_rank INTEGER NOT NULL,
    practice_percentile DOUBLE NOT NULL,
    tier VARCHAR NOT NULL,                      -- very high | high | rising | low (by area rank)
    model_version VARCHAR NOT NULL,
    reason_1 VARCHAR,                           -- clinician-worded reasons, strongest first
    reason_2 VARCHAR,
    reason_3 VARCHAR,
    age INTEGER,
    sex VARCHAR,
    care_home BOOLEAN,
    long_term_conditions VARCHAR,               -- '; '-separated clinician wording
    ltc_count INTEGER,
    emergency_admissions_12m INTEGER,
    last_emergency_admission DATE,
    ae_attendances_12m INTEGER,
    PRIMARY KEY (delivery_month, nhs_number)
);
