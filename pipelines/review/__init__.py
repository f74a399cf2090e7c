"""Dagster wiring of the review app's impact report (plain code in review/impact.py)."""
