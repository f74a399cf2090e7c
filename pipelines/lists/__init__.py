"""Practice risk lists and federation summaries (issue 5)."""
