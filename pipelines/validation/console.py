"""Dagster's console logger without stack traces, for runs a person watches in a terminal.

A step that fails (a blocking check, a rejected reference file) is reported by whoever
launched the run: ``riskstrat run`` prints one paragraph naming month, feed, file and
rule; the Dagster UI shows the run's event log with its full detail. The console keeps
every warning (rejected files, missing practices) but not the failure's stack trace.
"""

import logging

import dagster as dg
from dagster._loggers import colored_console_logger


class _NoStackTraces(logging.Filter):
    """Drops failures' stack traces, and the steps skipped after a failure ("Dependencies
    for step ... failed ... Not executing."): the failure itself is the news."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        message = record.getMessage()
        return "Stack Trace:" not in message and not message.endswith("Not executing.")


@dg.logger(
    config_schema=colored_console_logger.config_schema,
    description="The colored console logger, without step failures' stack traces.",
)
def console_without_stack_traces(init_context: dg.InitLoggerContext) -> logging.Logger:
    console = colored_console_logger.logger_fn(init_context)
    console.addFilter(_NoStackTraces())
    return console
