"""What leaves riskstrat each month: scores, practice risk lists and federation summaries.

Above ``models/`` and ``warehouse/``: it ranks and tiers the model's risks, owns the
``scores`` schema (``lists/sql/``), and writes the outbox (``lists/templates/`` for the
pages). Nothing in ``warehouse/`` or ``models/`` imports it.

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
- read the environment (configuration is passed in) or import dagster.
"""
