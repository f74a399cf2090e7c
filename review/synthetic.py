"""Synthetic review decisions for the demo and the tests: the loop seen working end to end.

For each practice's current list, a seeded share of the people get a plausible decision
from a synthetic reviewer account's name (``synthetic.reviewer``): vanguard practices,
whose community physician reviews the list, decide for most people; others for fewer.
Decisions go through `review.decisions.record_decision`, so they are append-only and
carry who and when like any other; the access log records them as synthetic.
"""

from __future__ import annotations

import numpy as np

from lists.inputs import read_practices
from review.decisions import DECISIONS, NEEDS_REASON, record_decision
from review.published import current_month, practice_entries, read_practice_list, row_key
from review.store import Access, log_access, open_store
from warehouse.home import Home

REVIEWER = "synthetic.reviewer"
# Shares of each decision among people reviewed (in DECISIONS' order), as a community
# team might record them: most reviewed or given a care plan, few declining.
DECISION_SHARES = (0.30, 0.20, 0.25, 0.08, 0.07, 0.10)
REVIEWED_SHARE = {True: 0.8, False: 0.3}  # vanguard practice or not
NOT_APPROPRIATE_REASONS = ("end-of-life care in place", "risk driven by a resolved episode")


def synthetic_reviews(home: Home, pseudonym_key: bytes, seed: int = 42) -> int:
    """Record decisions for the current lists; the number recorded. The same seed and lists
    give the same decisions (their times are when they were recorded)."""
    month = current_month(home)
    if month is None:
        return 0
    with home.connect(read_only=True, wait_seconds=30) as connection:
        vanguard = {p.code: p.vanguard for p in read_practices(connection)}
    rng = np.random.default_rng(seed)
    key = row_key(pseudonym_key)
    kinds = list(DECISIONS)
    recorded = 0
    with open_store(home) as store:
        for code, entry in sorted(practice_entries(home, month).items()):
            share = REVIEWED_SHARE[vanguard.get(code, False)]
            for person in read_practice_list(home, entry, key):
                if rng.random() >= share:
                    continue
                decision = kinds[int(rng.choice(len(kinds), p=DECISION_SHARES))]
                reason = (
                    NOT_APPROPRIATE_REASONS[int(rng.integers(len(NOT_APPROPRIATE_REASONS)))]
                    if decision in NEEDS_REASON
                    else ""
                )
                record_decision(
                    store,
                    practice_code=code,
                    list_month=month,
                    row_id=person.row_id,
                    decision=decision,
                    reason=reason,
                    note="synthetic",
                    username=REVIEWER,
                )
                log_access(
                    store,
                    Access(
                        REVIEWER,
                        f"record decision: {decision}",
                        "ok (synthetic)",
                        code,
                        month,
                        person.row_id,
                    ),
                )
                recorded += 1
    return recorded
