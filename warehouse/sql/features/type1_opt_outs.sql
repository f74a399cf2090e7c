-- People with a Type 1 opt-out, as the features read them: staged.type1_opt_outs, the set
-- kept beside the registrations (warehouse/opt_outs.py; the rule is
-- sql/staged/type1_opt_outs.sql). A view, not a table: the purge deletes an opted-out
-- person from every table of the features schema with an nhs_number column.
CREATE OR REPLACE VIEW features.type1_opt_outs AS
SELECT nhs_number FROM staged.type1_opt_outs;
