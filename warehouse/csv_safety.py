"""CSV text the project writes, with every cell safe to open in a spreadsheet.

A spreadsheet (Excel, LibreOffice Calc, Google Sheets) opening a CSV evaluates a cell
that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, and treats a leading tab or
carriage return the same way; ``=HYPERLINK("http://x","y")`` in a practice name would
become a live link in a federation's summary. Every cell written through this module is
neutralised as OWASP recommends (CSV Injection; ASVS 1.2.10): a single quote is put in
front, which a spreadsheet takes as "this cell is text" and does not show. Leading spaces
are looked through, because some spreadsheets skip them before deciding.

The exception is a plain number (``-0.5``, ``+3``, ``12``, ``1e-3``): it cannot call a
function, a spreadsheet reads it as the number it is, and quoting it would turn it into
text. Only a cell that is a number as a whole is left alone; ``-1+cmd|' /C calc'!A0``
is not a number and is neutralised.

Quoting (RFC 4180) does not stop a formula: a quoted ``"=1+1"`` is still evaluated. It
is done here as ``csv.writer`` does it with ``\n`` line ends (a field holding ``,``,
``"`` or ``\n`` is quoted, quotes doubled), and also for a field holding a carriage
return, which ``csv.writer`` leaves bare when the line end is ``\n`` although a
spreadsheet reads it as the end of a row. This module must never change a cell that
starts with no trigger and holds no carriage return, so that files of ordinary data
stay byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NEEDS_QUOTES = re.compile(r'[,"\r\n]')
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def starts_like_formula(cell: str) -> bool:
    """True when a spreadsheet could read `cell` as a formula rather than as text or a number."""
    if PLAIN_NUMBER.fullmatch(cell):
        return False
    return cell.startswith(FORMULA_TRIGGERS) or cell.lstrip(" ").startswith(FORMULA_TRIGGERS)


def neutralise_cell(value: Any) -> str:
    """`value` as the text ``csv.writer`` would write (None is empty), with a single quote
    in front when a spreadsheet would evaluate it."""
    text = "" if value is None else str(value)
    return "'" + text if starts_like_formula(text) else text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A CSV document (``\\n`` line ends, minimal quoting) with every cell neutralised."""
    lines = [_csv_line(header), *(_csv_line(row) for row in rows)]
    return "".join(line + "\n" for line in lines)


def _csv_line(cells: Iterable[Any]) -> str:
    fields = [_quoted(neutralise_cell(cell)) for cell in cells]
    # csv.writer's one exception: a row of a single empty field is written as "".
    return '""' if fields == [""] else ",".join(fields)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if NEEDS_QUOTES.search(text) else text
