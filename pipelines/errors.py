"""Why a run stopped, in words for the person running it."""

from __future__ import annotations

import signal


class RunStopped(Exception):
    """A run stopped by its input, a busy home or a blocking check; the message is for the user."""


class RunInterrupted(BaseException):
    """SIGINT (Ctrl-C) or SIGTERM: the run stops at once and is never retried.

    A BaseException, like KeyboardInterrupt, so no `except Exception` on the way swallows it.
    """

    def __init__(self, signal_number: int) -> None:
        super().__init__(signal_number)
        self.signal_number = signal_number

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signal_number).name

    @property
    def exit_code(self) -> int:
        """The shell's convention: 128 + the signal's number (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signal_number
