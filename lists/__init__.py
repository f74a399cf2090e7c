"""What leaves the warehouse each month: practice risk lists and federation summaries.

Under the NHS rules for risk stratification, identifiable lists go only to the practice
where the person is registered, and federations see counts and keyed pseudonyms. This
package must never:
- put a person in a practice's files unless they were registered at that practice, alive,
  on the score date (checked here against ``staged.registrations``, not taken on trust
  from the scores), or put anyone in any file whose latest registrations delivery carries
  a Type 1 opt-out, or anyone whose death any delivery records;
- write an NHS number into a federation file, a report or a log line;
- turn a practice or federation code into a path before it passes ``paths``' patterns;
- write a file other than atomically (temporary name, then rename) with mode 0600;
- import dagster.
"""
