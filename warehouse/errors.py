"""Errors that stop a run because of its input, worded for the person running it.

The message of an `InputError` names the file, the line (1-based data row, header not
counted) where there is one, and the rule broken. It never contains a row's values, so
it is safe to print, log and store in Dagster metadata.
"""

from __future__ import annotations


class InputError(RuntimeError):
    """The landing zone or a configuration file cannot be used as delivered."""
