-- scores.practice_lists: who was on each practice's list in each month, so next month's
-- list can say who is new and whose tier changed. Replaced per month by lists/practice_lists.py.
CREATE TABLE IF NOT EXISTS scores.practice_lists (
    delivery_month VARCHAR NOT NULL,
    practice_code VARCHAR NOT NULL,
    nhs_number VARCHAR NOT NULL,
    list_rank INTEGER NOT NULL,
    tier VARCHAR NOT NULL,
    PRIMARY KEY (delivery_month, practice_code, nhs_number)
);
