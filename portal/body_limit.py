"""Request bodies sent in chunks (no ``Content-Length``) to the pages: bounded before the
app sees them.

A body with a ``Content-Length`` over the limit is refused by Werkzeug from the header.
A chunked one has no length to check: Werkzeug read a chunked url-encoded form whole into
memory, up to ``MAX_CONTENT_LENGTH`` (24 MB; a 100 MB upload left the worker 50 MB
larger and was answered 302 or 400, not 413). Here such a body is read first, in small
pieces, into a temporary file that stays in memory only up to 1 MiB, and only up to the
limit of its kind: ``MAX_FORM_MEMORY_SIZE`` for anything but a multipart upload (a form
of text fields), ``MAX_CONTENT_LENGTH`` for multipart (files). Past the limit the rest is
never read and the request is answered 413 by the app's own error page; within it the
app gets the body with its length, and Werkzeug's usual checks apply.

The API (``/api/``) bounds its bodies itself, per endpoint, after the token
(portal/api/body.py).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, abort, request

#: Read this much at a time; keep this much of a body in memory before using a file.
_PIECE = 64 * 1024
_IN_MEMORY = 1024 * 1024

#: The environ key telling the app the body was refused (and how large its limit was).
TOO_LARGE = "portal.body_too_large"

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def is_chunked(environ: dict[str, Any]) -> bool:
    if environ.get("CONTENT_LENGTH"):
        return False
    return bool(environ.get("wsgi.input_terminated")) or "chunked" in environ.get(
        "HTTP_TRANSFER_ENCODING", "").lower()


class ChunkedBodyLimit:
    """WSGI middleware: spool and bound chunked page bodies (see the module's text)."""

    def __init__(self, app: WSGIApp, flask_app: Flask) -> None:
        self.app = app
        self.config = flask_app.config

    def limit_for(self, environ: dict[str, Any]) -> int:
        kind = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return int(self.config["MAX_CONTENT_LENGTH"])
        return int(self.config["MAX_FORM_MEMORY_SIZE"] or self.config["MAX_CONTENT_LENGTH"])

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS") or \
                environ.get("PATH_INFO", "").startswith("/api/") or not is_chunked(environ):
            return self.app(environ, start_response)
        limit = self.limit_for(environ)
        stream = environ["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        size = 0
        while size <= limit:
            piece = stream.read(min(_PIECE, limit + 1 - size))
            if not piece:
                break
            spool.write(piece)
            size += len(piece)
        if size > limit:
            spool.close()
            environ[TOO_LARGE] = limit
            environ["wsgi.input"] = io.BytesIO(b"")
            environ["CONTENT_LENGTH"] = "0"
        else:
            spool.seek(0)
            environ["wsgi.input"] = spool
            environ["CONTENT_LENGTH"] = str(size)
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        try:
            return self.app(environ, start_response)
        finally:
            if size <= limit:
                # The response may still be streaming, but the body was read by then.
                spool.close()


def refuse_too_large() -> None:
    """The app's 413 page for a chunked body the middleware stopped reading."""
    limit = request.environ.get(TOO_LARGE)
    if limit is not None:
        abort(413, description=f"the body is larger than {limit} bytes")


def init_app(app: Flask) -> None:
    app.wsgi_app = ChunkedBodyLimit(app.wsgi_app, app)  # type: ignore[method-assign]
    app.before_request(refuse_too_large)
