"""The CSV cell guard's shortcut (cells that cannot start a formula skip the regular
expression) changes no cell: for any text it answers what the expression alone does."""

from __future__ import annotations

import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from portal.csv_export import _FORMULA, safe_cell, stream_csv

# Text dense in the characters that matter, and any text at all.
RISKY = st.text(alphabet=' "=+-@\t\r\n,;aZ0é', max_size=12)


@given(st.one_of(RISKY, st.text(max_size=40)))
def test_shortcut_changes_nothing(value: str) -> None:
    assert safe_cell(value) == _FORMULA.sub(r"\1\2'", value)


def test_examples() -> None:
    assert safe_cell("2026-11-20T10:00:00+00:00") == "2026-11-20T10:00:00+00:00"
    assert safe_cell("TR-2026-000001") == "TR-2026-000001"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("Ministry; =HYPERLINK(1)") == "Ministry; '=HYPERLINK(1)"


#: Cells the portal writes itself: codes, references, ISO times (no comma, quote mark or
#: line break), and empty ones.
CODES = st.from_regex(r"[A-Za-z0-9_:+.\-T]{0,24}", fullmatch=True)


@given(rows=st.lists(st.tuples(CODES, st.one_of(RISKY, st.text(max_size=30)), CODES,
                               st.one_of(RISKY, st.text(max_size=30))), max_size=12),
       chunk=st.integers(1, 5))
def test_lines_written_directly_are_what_the_csv_writer_writes(rows, chunk) -> None:
    # The export writes rows of codes and free text as lines of its own (the csv
    # module's per-character scan was a third of a large export): byte for byte what
    # the csv module writes, with the free text escaped.
    header = ["code", "name", "time", "source"]
    expected = io.StringIO()
    writer = csv.writer(expected)
    writer.writerow(header)
    for code, name, time, source in rows:
        writer.writerow([code, safe_cell(name), time, safe_cell(source)])
    written = "".join(stream_csv(header, rows, chunk_rows=chunk, free_text=[1, 3]))
    assert written == "\ufeff" + expected.getvalue()
