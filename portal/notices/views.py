"""The signed-in user's notices: the list, marking read, and the kinds they mute."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.models.columns import ID_MAX
from portal.notices import bp
from portal.notices.wording import KIND_LABELS
from portal.services import notices
from portal.services.errors import ValidationFailed
from portal.services.paging import page_number
from portal.web import current_actor
from workflows.notices import kinds_for, mutable
from workflows.roles import STAFF_ROLES


def unread_for(user_id: int) -> int:
    """The user's unread count, read once per request (header and page share it; kept
    in the request's environ, which no other request shares)."""
    key = "portal.unread_notices"
    if key not in request.environ:
        request.environ[key] = notices.unread_count(user_id)
    return int(request.environ[key])


def request_endpoint() -> str:
    """Where this user opens a request: the review page for staff, the agency's own
    page for officials."""
    return "review.request" if current_user.role in STAFF_ROLES else "requests.view"


@bp.get("/")
@login_required
def index() -> str:
    unread_only = request.args.get("show") == "unread"
    page = notices.notices_page(current_actor(), page=page_number(request.args.get("page")),
                                unread_only=unread_only)
    muted = notices.muted_kinds(current_user.id)
    offered = [(kind, KIND_LABELS[kind], kind in muted, mutable(kind))
               for kind in kinds_for(current_user.role)]
    return render_template("notices/index.html", page=page, unread_only=unread_only,
                           offered=offered, request_endpoint=request_endpoint())


@bp.post("/read")
@login_required
def mark_read() -> Response:
    """Mark one notice read (``notice``), or all (``all``); with ``open``, go on to its
    request."""
    back = url_for("notices.index", show=request.form.get("show") or None)
    if request.form.get("all"):
        notices.mark_read(current_actor())
        flash(_("Every notification is marked as read."), "success")
        return redirect(back)
    try:
        notice_id = int(request.form.get("notice", ""))
    except ValueError:
        notice_id = 0
    if not 0 < notice_id <= ID_MAX:  # an id no row can have (the column is 32 bits)
        flash(_("Choose a notification."), "error")
        return redirect(back)
    reference = notices.open_notice(current_actor(), notice_id)
    if reference is not None and request.form.get("open"):
        return redirect(url_for(request_endpoint(), reference=reference))
    return redirect(back)


@bp.post("/mutes")
@login_required
def mutes() -> Response:
    try:
        notices.set_mutes(current_actor(), request.form.getlist("muted"))
    except ValidationFailed:
        flash(_("These notifications cannot be turned off."), "error")
    else:
        flash(_("Your notification settings are saved."), "success")
    return redirect(url_for("notices.index"))
