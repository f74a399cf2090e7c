"""Validation: the staged layer, quarantine, contract checks and data-quality reports."""
