"""CSV downloads that a spreadsheet opens safely: every cell escaped so that none runs as
a formula, written and sent a chunk of rows at a time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence

#: Where a spreadsheet may read a formula in a cell's text: at its start, or where a
#: reader may start a new cell inside it (a comma or semicolon, for a reader set to the
#: other separator, which ignores our quotes there; a tab; a line break, for a reader that
#: does not honour our quotes), after any spaces or quote marks such readers skip, when
#: the next character is = + - @ tab or CR.
_FORMULA = re.compile(r'(^|[,;\t\r\n])([ "]*)(?=[=+\-@\t\r])')

#: Rows written before a chunk is sent, unless the caller chooses.
CHUNK_ROWS = 500


#: A cell's first character that may start a formula (after the spaces and quote marks
#: some readers skip), and the characters where a reader may start a new cell.
_RISKY_FIRST = frozenset(' "=+-@\t\r')
_SEPARATOR = re.compile(r"[,;\t\r\n]")


def safe_cell(value: str) -> str:
    """A CSV cell that no spreadsheet runs as a formula, whichever separator (``,`` or
    ``;``) it splits on: each place a formula could start gets a ``'`` (the marker
    spreadsheets read as "text"), so ``Ministry; =HYPERLINK(…)`` becomes
    ``Ministry; '=HYPERLINK(…)``."""
    # Most cells (codes, times, names) can start no formula: skip the regular expression,
    # nine tenths of a large export's time.
    # (One search in C, not a loop over the separators: a third of a large export.)
    if not value or (value[0] not in _RISKY_FIRST and _SEPARATOR.search(value) is None):
        return value
    return _FORMULA.sub(r"\1\2'", value)


def stream_csv(header: Sequence[str], rows: Iterable[Sequence[str]], *,
               chunk_rows: int = CHUNK_ROWS,
               free_text: Sequence[int] | None = None) -> Iterator[str]:
    """The CSV text of ``header`` and ``rows`` (every cell through :func:`safe_cell`),
    a chunk of ``chunk_rows`` rows at a time, after a byte-order mark so spreadsheets
    read it as UTF-8.

    ``free_text``, when given, lists the positions of the only cells that can hold text
    someone typed (names, sources); the others are codes, numbers and times the portal
    wrote itself, which cannot start a formula, and are written as they are (a
    100,000-row export spent a third of its time checking them).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([safe_cell(v) for v in header])
    for n, row in enumerate(rows, start=1):
        if free_text is None:
            writer.writerow([safe_cell(v) for v in row])
        else:
            cells = list(row)
            for i in free_text:
                cells[i] = safe_cell(cells[i])
            writer.writerow(cells)
        if n % chunk_rows == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
