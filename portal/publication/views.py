"""The publish page of a request (preview, then a reviewer's decision to publish) and the
DSA category mapping page."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal.i18n import format_datetime
from portal.models.columns import utcnow
from portal.publication import bp
from portal.publication.forms import NOTICE_TYPE_LABELS, PublishForm
from portal.services import lumen
from portal.services.errors import FieldError, ValidationFailed
from portal.web import apply_errors, current_actor, get_request_or_404, roles_required
from portal.wording import category_label
from workflows import dsa
from workflows.codes import Category
from workflows.roles import Role

STAFF = (Role.LEGAL_REVIEWER, Role.PLATFORM_LIAISON, Role.ADMIN)


def _wording(error: FieldError) -> str:
    """A publication refusal in the reader's language."""
    texts = {
        "unknown_target": lambda: _("Line %(line)s: this is not a target of this request.",
                                    line=error.index),
        "too_short": lambda: _("Line %(line)s: a passage needs at least %(count)s "
                               "characters.", line=error.index, count=lumen.MIN_PASSAGE),
        "too_many": lambda: _("At most %(count)s passages.", count=lumen.MAX_PASSAGES),
        "undecided": lambda: _("Decide every item before the request is published."),
        "choice": lambda: _("Choose one of the notice types."),
        "too_long": lambda: _("At most %(count)s characters.", count=lumen.MAX_TITLE),
    }
    text = texts.get(error.code)
    return str(text()) if text is not None else error.message


def _platform() -> tuple[str, str]:
    config = current_app.config
    return str(config["LUMEN_RECIPIENT_NAME"]), str(config["LUMEN_RECIPIENT_COUNTRY"])


def _choices(form: PublishForm) -> lumen.Choices:
    return lumen.Choices(notice_type=form.notice_type.data or "",
                         title=form.title.data or "",
                         redact_targets=form.redact_targets.data or "",
                         redact_passages=form.redact_passages.data or "")


@bp.route("/review/requests/<reference>/publish", methods=["GET", "POST"])
@roles_required(*STAFF)
def publish(reference: str) -> Any:
    """The notice of a request as it would be published: redaction choices, a preview of
    the redacted notice, and (for a legal reviewer) the decision to publish it."""
    actor = current_actor()
    req = get_request_or_404(reference)
    form = PublishForm()
    now = utcnow()
    preview: str | None = None
    problems: list[str] = []
    status = 200
    deferred = lumen.deferral(req, now)
    if request.method == "POST":
        publishing = request.form.get("action") == "publish"
        if publishing and actor.role is not Role.LEGAL_REVIEWER:
            abort(403)
        if not form.validate():
            status = 422
        elif deferred is None:
            profile = str(current_app.config.get("PLATFORM_PROFILE", "x"))
            try:
                if publishing:
                    lumen.publish(actor, reference, _choices(form), now=now,
                                  platform=_platform(), profile=profile)
                    flash(_("The request is published as a notice."), "success")
                    return redirect(url_for("publication.publish", reference=reference))
                prepared = lumen.prepare(actor, reference, _choices(form), now=now,
                                         platform=_platform(), profile=profile)
                preview = json.dumps(prepared.notice, ensure_ascii=False, indent=2)
            except ValidationFailed as exc:
                problems = apply_errors(form, exc.errors, wording=_wording)
                status = 422
        else:
            status = 409
    published = lumen.publications(actor, reference)
    return render_template(
        "publication/publish.html", req=req, form=form, preview=preview, problems=problems,
        published=published, deferred=deferred, format_datetime=format_datetime,
        can_publish=actor.role is Role.LEGAL_REVIEWER,
        latest=(json.dumps(published[0].notice, ensure_ascii=False, indent=2)
                if published and deferred is None else None),
        notice_type_label=lambda code: NOTICE_TYPE_LABELS.get(code, code),
    ), status


@bp.get("/admin/dsa-categories")
@roles_required(Role.ADMIN)
def dsa_categories() -> str:
    """How the portal's categories are filed in DSA statements of reasons."""
    rows = [(category_label(code.value), code.value, *dsa.CATEGORIES[code])
            for code in Category]
    return render_template("publication/dsa_categories.html", rows=rows,
                           source_type=current_app.config["DSA_SOURCE_TYPE"])
