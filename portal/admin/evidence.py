"""Agencies' verification evidence for administrators: the files an agency sent at
registration, downloaded from the agency's page in the verification queue."""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from portal.admin import bp
from portal.document_response import document_response
from portal.services import documents
from portal.web import current_actor, roles_required
from workflows.roles import Role


@bp.get("/agencies/<int:agency_id>/evidence/<int:evidence_id>")
@roles_required(Role.ADMIN)
def evidence(agency_id: int, evidence_id: int) -> ResponseReturnValue:
    """Download one evidence document of an agency (administrators only; 404 for
    anything else, so no one else learns whether it exists)."""
    return document_response(
        documents.evidence_document(current_actor(), agency_id, evidence_id))
