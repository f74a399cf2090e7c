"""Why a run stopped, in words for the person running it."""

from __future__ import annotations


class RunStopped(Exception):
    """A run stopped by its input, a busy home or a blocking check; the message is for the user."""
