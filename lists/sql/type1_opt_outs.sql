-- People whose latest registrations delivery carries a Type 1 opt-out (extract-feed.md),
-- as kept beside the registrations (staged.type1_opt_outs, warehouse/opt_outs.py): worked
-- out once for each staging of registrations by two independently written statements of
-- the rule, which must agree. The outbox's own check (listed_people_not_registered.sql)
-- states the rule again over the registrations themselves.
SELECT nhs_number FROM staged.type1_opt_outs
