"""The decisions download's columns and cells, in the reader's language: the same file
for the request page and the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, stream_with_context
from flask_babel import gettext

from portal.csv_export import stream_csv
from portal.services.decision_export import DecisionExport, DecisionRow
from portal.wording import decision_label, deferral_label, ground_label, kind_label, territory_text


def _(string: str, **variables: object) -> str:
    return str(gettext(string, **variables))


#: The columns of the decisions download (codes, so a script can read any language's).
DECISION_COLUMNS = ("position", "kind", "target", "decision", "decision_code",
                    "territorial_scope", "ground", "effect_given_at", "restored_at", "notice")


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when is not None else ""


def decision_cells(row: DecisionRow) -> tuple[str, ...]:
    """One item's decision as the download's cells: kinds, decisions, scopes, grounds and
    notices in the reader's language; times in ISO 8601 UTC."""
    ground = ""
    if row.ground is not None:
        cited = ", ".join(v for v in (row.ground_statute, row.ground_article) if v)
        ground = ground_label(row.ground) + (f" ({cited})" if cited else "")
    notice = ""
    if row.user_notified_at is not None:
        notice = _("Told %(when)s", when=_iso(row.user_notified_at))
    elif row.notice_deferred_until is not None:
        notice = _("Deferred until %(when)s", when=_iso(row.notice_deferred_until))
        if row.notice_deferral_basis is not None:
            notice += f" ({deferral_label(row.notice_deferral_basis)})"
    return (
        str(row.position), kind_label(row.kind), row.target,
        decision_label(row.decision) if row.decision is not None else _("Pending"),
        row.decision.value if row.decision is not None else "pending",
        territory_text(row.territorial_scope), ground, _iso(row.effect_given_at),
        _iso(row.restored_at), notice,
    )


def decisions_response(export: DecisionExport) -> Response:
    """The download of ``export``: streamed CSV, as an attachment, never cached."""
    cells = (decision_cells(row) for row in export.rows)
    return Response(
        stream_with_context(stream_csv(DECISION_COLUMNS, cells)),
        mimetype="text/csv",
        headers={"Content-Disposition":
                 f'attachment; filename="decisions_{export.reference}.csv"',
                 "Cache-Control": "private, no-store",
                 "X-Content-Type-Options": "nosniff"},
    )


def decision_record(row: DecisionRow) -> dict[str, Any]:
    """One item's decision as JSON: codes, not words (the reader's script maps them);
    times in ISO 8601 UTC; ``null`` where there is nothing."""
    def code(value: Any) -> str | None:
        return None if value is None else str(getattr(value, "value", value))

    def iso(when: datetime | None) -> str | None:
        return None if when is None else when.isoformat()

    return {
        "position": row.position, "kind": code(row.kind), "target": row.target,
        "decision": code(row.decision) or "pending",
        "territorial_scope": row.territorial_scope, "ground": code(row.ground),
        "ground_statute": row.ground_statute, "ground_article": row.ground_article,
        "effect_given_at": iso(row.effect_given_at), "restored_at": iso(row.restored_at),
        "reason": row.reason, "no_action_reason": code(row.no_action_reason),
    }


def _json_chunks(export: DecisionExport) -> Iterator[str]:
    yield '{"reference": ' + json.dumps(export.reference) + ', "items": ['
    for n, row in enumerate(export.rows):
        yield ("," if n else "") + "\n" + json.dumps(decision_record(row), ensure_ascii=False)
    yield "\n]}\n"


def decisions_json_response(export: DecisionExport) -> Response:
    """The download of ``export`` as JSON (``{"reference", "items": [...]}``), streamed
    an item at a time, as an attachment, never cached."""
    return Response(
        stream_with_context(_json_chunks(export)),
        mimetype="application/json",
        headers={"Content-Disposition":
                 f'attachment; filename="decisions_{export.reference}.json"',
                 "Cache-Control": "private, no-store",
                 "X-Content-Type-Options": "nosniff"},
    )
