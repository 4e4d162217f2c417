"""A request's documents on the official's pages: adding more after filing, and the
download every reader of the request may use (the review page links here too)."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext

from portal import document_forms
from portal.document_response import document_response
from portal.requests import bp
from portal.requests.forms import AddDocumentsForm
from portal.requests.views import _field_error, render_request
from portal.services import documents
from portal.services.errors import Conflict, Forbidden, ValidationFailed
from portal.web import current_actor, get_request_or_404, roles_required
from portal.wording import conflict_text
from workflows.roles import USER_ROLES, Role


@bp.post("/<reference>/documents")
@roles_required(Role.AGENCY_OFFICIAL)
def add_documents(reference: str) -> ResponseReturnValue:
    """Add documents (each with its kind and language) to a request of the agency."""
    req = get_request_or_404(reference)
    form = AddDocumentsForm()
    if not form.validate():
        return render_request(req, add_form=form, status=422)
    chosen, rows = document_forms.chosen(form.documents)
    try:
        added = documents.add_documents(current_actor(), reference, chosen)
    except Forbidden:
        flash(_("Only officials of the agency that filed the request can add documents."),
              "error")
        return redirect(url_for("requests.view", reference=reference))
    except Conflict:
        flash(conflict_text(reference), "error")
        return redirect(url_for("requests.view", reference=reference))
    except ValidationFailed as exc:
        rest = document_forms.place_errors(exc.errors, rows, _field_error)
        if rest and form.documents.entries:  # about the list as a whole
            first = form.documents.entries[0].form.file
            first.errors = [*first.errors, *(_field_error(e) for e in rest)]
        document_forms.refresh_errors(form.documents)
        return render_request(req, add_form=form, status=422)
    flash(ngettext("%(num)s document was added.", "%(num)s documents were added.",
                   len(added)), "success")
    return redirect(url_for("requests.view", reference=reference, _anchor="documents-title"))


@bp.get("/<reference>/attachments/<int:attachment_id>")
@roles_required(*USER_ROLES)
def attachment(reference: str, attachment_id: int) -> ResponseReturnValue:
    """Download a document of the request, only for readers who may see the request
    (the filing agency's officials and platform staff); otherwise 404."""
    return document_response(
        documents.request_document(current_actor(), reference, attachment_id))
