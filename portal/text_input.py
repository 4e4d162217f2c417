"""Refuse text with a NUL character before any view sees it.

No text column can hold U+0000 on PostgreSQL (SQLite keeps it and cuts strings at it in
places), and nobody types it: it arrives from pasted binary or a hostile client. One
check here covers every form field and every JSON string, instead of one in each service.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l

from portal.api.problems import problem

NUL = "\x00"

#: Form fields whose own parser reports a NUL more precisely: the pasted target list,
#: where the intake parser names the line (and never stores the text).
_PARSED_FIELDS = frozenset({"targets"})

_TITLE = _l("The request could not be understood")
_EXPLANATION = _l("A field of the form contains a null character (U+0000), which text "
                  "cannot hold. Nothing was saved: remove it and send the form again.")


def _nul_paths(value: Any, path: str = "") -> list[str]:
    """Paths (``items/3/target``) of the strings in a JSON value that contain NUL."""
    if isinstance(value, str):
        return [path or "/"] if NUL in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items()
                for p in (_nul_paths(k, path) if isinstance(k, str) and NUL in k else [])
                + _nul_paths(v, f"{path}/{k}".lstrip("/"))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _nul_paths(v, f"{path}/{i}".lstrip("/"))]
    return []


def refuse_nul() -> Any:
    """A 400 page (forms) or a 422 problem (the API) when any submitted text holds NUL."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.path.startswith("/api/"):
        if not request.is_json:
            return None
        body = request.get_json(silent=True)
        paths = _nul_paths(body) if body is not None else []
        if not paths:
            return None
        return problem(422, f"{len(paths)} problem(s): text cannot contain NUL (U+0000)",
                       kind="validation",
                       errors=[{"path": p, "index": None, "code": "nul_character",
                                "message": "contains a NUL character (U+0000)"}
                               for p in paths])
    if any(NUL in value for name, value in request.form.items(multi=True)
           if name not in _PARSED_FIELDS):
        return render_template("errors/error.html", code=400, title=_TITLE,
                               explanation=_EXPLANATION), 400
    return None


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul)
