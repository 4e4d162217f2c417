"""CSV downloads that a spreadsheet opens safely: every cell escaped so that none runs as
a formula, written and sent a chunk of rows at a time."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

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
    wrote itself, which can neither start a formula nor need quoting (no comma, quote
    mark or line break), and are written as they are: a 100,000-row export spent a
    third of its time checking them, and another third in the CSV writer's scan of
    every character.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([safe_cell(v) for v in header])
    remaining = iter(rows)
    line = None if free_text is None else _lines(tuple(free_text))
    while chunk := list(islice(remaining, chunk_rows)):
        if line is None:
            writer.writerows(map(_all_cells, chunk))
        else:
            buffer.write("".join(map(line, chunk)))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _all_cells(row: Sequence[str]) -> list[str]:
    return [safe_cell(v) for v in row]


#: Distinct cells a free-text column's escaping remembers in one export. Such columns
#: hold names and sources, a few hundred in any export; the bound keeps memory constant
#: should one hold a different text on every row.
_REMEMBERED = 10_000


def _lines(free_text: tuple[int, ...]) -> Callable[[Sequence[str]], str]:
    """A row as one CSV line, as :mod:`csv` writes it: the cells at ``free_text``
    through :func:`safe_cell` and quoted where they need it, each distinct text once (in
    a 100,000-row export the same few names recur on every row); the others as they are.
    """
    encoded: dict[str, str] = {}
    cell_buffer = io.StringIO()
    # The default line ending: the writer quotes a cell that holds its characters.
    cell_writer = csv.writer(cell_buffer)

    def encode(value: str) -> str:
        # The csv module's own quoting of one cell (a lone empty cell is written as ""
        # there, to tell it from an empty row: not so within a row).
        if not value:
            return ""
        cell_buffer.seek(0)
        cell_buffer.truncate()
        cell_writer.writerow([safe_cell(value)])
        return cell_buffer.getvalue().removesuffix("\r\n")

    def line(row: Sequence[str]) -> str:
        cells = list(row)
        for i in free_text:
            value = cells[i]
            found = encoded.get(value)
            if found is None:
                found = encode(value)
                if len(encoded) < _REMEMBERED:
                    encoded[value] = found
            cells[i] = found
        return ",".join(cells) + "\r\n"

    return line
