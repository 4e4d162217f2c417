"""The CSV cell guard's shortcut (cells that cannot start a formula skip the regular
expression) changes no cell: for any text it answers what the expression alone does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portal.csv_export import _FORMULA, safe_cell

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
