"""Operating riskstrat month after month: the schedule, the landing-zone sensor, drift.

Thin Dagster wiring (schedules.py, sensors.py, assets.py) over plain decisions
(deliveries.py: what the landing zone holds; retraining.py: whether to retrain).
"""
