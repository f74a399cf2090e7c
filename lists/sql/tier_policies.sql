-- scores.tier_policies: the tiers a month was scored with, highest first, and their wording,
-- so the lists and summaries describe exactly the tiers in scores.risk_scores.
CREATE TABLE IF NOT EXISTS scores.tier_policies (
    delivery_month VARCHAR NOT NULL,
    position INTEGER NOT NULL,                  -- 1 = highest-risk tier
    tier VARCHAR NOT NULL,
    cumulative_share DOUBLE,                    -- NULL for the last tier (everyone else)
    rule VARCHAR NOT NULL,                      -- the whole policy in words
    PRIMARY KEY (delivery_month, position)
);
