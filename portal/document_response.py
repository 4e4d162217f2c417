"""A stored document as a download, the same for every face (the request page, the
review page, the verification queue, the API): always an attachment, never sniffed,
never cached."""

from __future__ import annotations

import io

from flask import Response, abort, current_app, send_file

from portal.models import Attachment
from portal.services import attachments


def document_response(document: Attachment) -> Response:
    """The download of ``document``; a copy missing from the store is logged and
    answered 500 (the row says it should be there)."""
    try:
        data = attachments.read(document.sha256)
    except FileNotFoundError:
        current_app.logger.error("document %s is missing from the store (%s)",
                                 document.id, document.sha256)
        abort(500)
    response = send_file(io.BytesIO(data), mimetype=document.content_type,
                         as_attachment=True, download_name=document.filename,
                         max_age=0, etag=document.sha256)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
