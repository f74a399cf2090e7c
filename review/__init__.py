"""The review app: practices review their current list in a browser and record decisions.

A layer above ``lists`` and below ``pipelines``; never imports dagster. It keeps its own
SQLite store under the home (``review.store``), reads the published lists from the outbox
and the Type 1 opt-out set from the warehouse (read-only), and never writes the warehouse.
"""
