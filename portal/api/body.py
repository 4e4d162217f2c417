"""Reading an API call's JSON body: only after its token and rate limit were checked, only
up to a size limit, only to a bounded depth, and never with a NUL character in its text.

Order matters for denial of service: an anonymous or rate-limited caller is answered from
the headers alone, and a body larger than its endpoint allows is refused from its
``Content-Length`` (or, sent in chunks, after at most one byte past the limit) before
anything parses it.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, current_app, g, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from portal.api.problems import problem

#: Config settings holding the body limit of the endpoints that need more than
#: ``API_MAX_BODY_BYTES``: a filing carries up to MAX_ITEMS_PER_REQUEST targets.
BODY_LIMITS = {"api_requests.Requests": "API_MAX_FILING_BYTES",
               "api_requests.add_documents": "MAX_CONTENT_LENGTH",
               "api_requests.answer": "MAX_CONTENT_LENGTH"}

#: Endpoints that take ``multipart/form-data`` (PDF files) instead of JSON. Their limit is
#: the pages' upload limit (``MAX_CONTENT_LENGTH``), so a document the pages take is taken
#: here too; each file is then held to ``MAX_ATTACHMENT_BYTES`` by the documents service.
MULTIPART_ENDPOINTS = frozenset({"api_requests.add_documents", "api_requests.answer"})

#: Endpoints that take a list whose length has a configured maximum: (field, setting).
#: Counted before anything looks at an item, so 300,000 tiny items in a body under the
#: size limit cost a count, not a schema error per item (166,666 bad items took 3.5 s).
LIST_LIMITS = {"api_requests.Requests": ("items", "MAX_ITEMS_PER_REQUEST")}

#: The deepest body the API takes is three levels ({"items": [{"target": …}]}): anything
#: much deeper is an attack on the parser (1,000 levels was a 500 from RecursionError).
MAX_JSON_DEPTH = 16

#: Endpoints whose schema and service report a NUL themselves, on the field or the item
#: (by its index, beside every other item's error) that holds it: the filing, where the
#: intake parser rejects each target with control characters and the service each text
#: field. Every other endpoint is refused here, naming each path with a NUL.
NUL_REPORTED_BY_SERVICE = frozenset({"api_requests.Requests"})

NUL = "\x00"

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def body_limit(endpoint: str | None) -> int:
    """The largest body, in bytes, that this endpoint reads."""
    setting = BODY_LIMITS.get(endpoint or "", "API_MAX_BODY_BYTES")
    return int(current_app.config[setting])


def read_body(limit: int) -> bytes:
    """The request body, read only if it is at most ``limit`` bytes.

    Raises:
        RequestEntityTooLarge (413): ``Content-Length`` says more than ``limit`` (nothing
            is read), or a body without one (chunked) goes past it (at most ``limit + 1``
            bytes are read).
    """
    length = request.content_length
    if length is not None and length > limit:
        abort(413, description=f"the body is {length} bytes; this call takes at most "
                               f"{limit}")
    # Werkzeug then bounds the stream: by Content-Length, or for a chunked body by this
    # maximum (it raises 413 on a read past it), so get_data reads at most limit + 1.
    request.max_content_length = limit + 1
    data = request.get_data(cache=True)
    if len(data) > limit:
        abort(413, description=f"the body is larger than {limit} bytes, the most this "
                               "call takes")
    return data


def _walk(value: Any) -> tuple[int, list[str]]:
    """The nesting depth of a parsed JSON value and the paths (``items/3/target``) of
    the strings (values or keys) that hold a NUL; iterative, so no depth can overflow the
    stack. Stops counting past :data:`MAX_JSON_DEPTH`."""
    deepest = 0
    nul_paths: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if NUL in node:
                nul_paths.append(path or "/")
            continue
        if isinstance(node, dict):
            depth += 1
            for key, child in node.items():
                child_path = f"{path}/{key}" if path else str(key)
                if NUL in key:
                    nul_paths.append(child_path)
                stack.append((child, child_path, depth))
        elif isinstance(node, list):
            depth += 1
            stack.extend((child, f"{path}/{i}" if path else str(i), depth)
                         for i, child in enumerate(node))
        if depth > deepest:
            deepest = depth
            if deepest > MAX_JSON_DEPTH:
                break
    nul_paths.sort(key=_path_order)
    return deepest, nul_paths


def _path_order(path: str) -> list[tuple[int, int | str]]:
    """Paths in document order: items/2 before items/10."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in path.split("/")]


def _index(path: str) -> int | None:
    """The position in the list the path goes through (``items/3/target`` -> 3)."""
    return next((int(part) for part in path.split("/") if part.isdigit()), None)


def _too_deep() -> Response:
    return problem(422, f"the body is nested more than {MAX_JSON_DEPTH} levels deep",
                   kind="validation",
                   errors=[{"path": "/", "index": None, "code": "too_deep",
                            "message": f"JSON nested more than {MAX_JSON_DEPTH} levels"}])


def _too_many_items(parsed: Any) -> Response | None:
    """A 413 problem when the endpoint's list holds more entries than its setting
    allows (the same answer the filing service gives)."""
    found = LIST_LIMITS.get(request.endpoint or "")
    if found is None or not isinstance(parsed, dict):
        return None
    field, setting = found
    entries = parsed.get(field)
    limit = int(current_app.config[setting])
    if not isinstance(entries, list) or len(entries) <= limit:
        return None
    message = f"{len(entries)} targets given; at most {limit} per request"
    return problem(413, f"1 problem: {message}", kind="too-many-items",
                   errors=[{"path": field, "index": None, "code": "too_many",
                            "message": message}])


def bound_multipart(limit: int) -> None:
    """Hold a multipart body to ``limit`` bytes before Werkzeug parses it.

    Raises:
        RequestEntityTooLarge (413): ``Content-Length`` says more than ``limit`` (nothing
            is read); a body sent in chunks is stopped by Werkzeug when it reads past it.
    """
    length = request.content_length
    if length is not None and length > limit:
        abort(413, description=f"the body is {length} bytes; this call takes at most "
                               f"{limit} (each file at most "
                               f"{current_app.config['MAX_ATTACHMENT_BYTES']} bytes)")
    request.max_content_length = limit


def load_json_body() -> Response | None:
    """Read, bound and parse the JSON body of a POST, PUT or PATCH into ``g.api_body``;
    a problem response when it is too large (413), not JSON (400), too deep or holds a
    NUL (422). Runs after the token and the rate limit were checked. A multipart body
    (:data:`MULTIPART_ENDPOINTS`) is only bounded here; its view reads the parts."""
    if request.method not in _BODY_METHODS:
        return None
    if request.endpoint in MULTIPART_ENDPOINTS:
        bound_multipart(body_limit(request.endpoint))
        return None
    if not is_json_request(request):
        return None
    data = read_body(body_limit(request.endpoint))
    if not data.strip():
        g.api_body = core.missing
        return None
    try:
        parsed = json.loads(data)
    except RecursionError:
        return _too_deep()
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return problem(400, f"the body is not valid JSON: {exc}", kind="invalid-json",
                       errors=[{"path": "/", "index": None, "code": "invalid_json",
                                "message": str(exc)}])
    too_many = _too_many_items(parsed)
    if too_many is not None:
        return too_many
    depth, nul_paths = _walk(parsed)
    if depth > MAX_JSON_DEPTH:
        return _too_deep()
    if nul_paths and request.endpoint not in NUL_REPORTED_BY_SERVICE:
        return problem(
            422, f"{len(nul_paths)} problem(s): text cannot contain NUL (U+0000)",
            kind="validation",
            errors=[{"path": p, "index": _index(p), "code": "control_characters",
                     "message": "contains a NUL character (U+0000)"} for p in nul_paths])
    g.api_body = parsed
    return None


class BodyParser(FlaskParser):
    """webargs' parser, reading the body :func:`load_json_body` already parsed (once)
    instead of parsing it again."""

    def _raw_load_json(self, req: Any) -> Any:
        if "api_body" in g:
            return g.api_body
        return super()._raw_load_json(req)


def parsed_body() -> Any:
    """The parsed JSON body of this call (after :func:`load_json_body`)."""
    return g.get("api_body")
