"""Logs as one JSON object a line, each carrying the request id; the id itself.

Every request has an id: the ``X-Request-ID`` header a proxy (nginx's ``$request_id``) or
client sent, when it is a sane token, or a new one. It is returned in the response's
``X-Request-ID``, written on every log line of the request and on the audit events the
request appends (their payload's ``request_id``, staff only), so one id ties a user's
report, the proxy's log, the portal's log and the audit record together.

``LOG_FORMAT = "json"`` (production's default) sends every logger of the process to
standard error as JSON: a traceback is one field of one line, not thirty lines that log
collectors split apart. ``"text"`` leaves logging as Python and gunicorn set it up.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask.logging import default_handler

#: An id from outside is kept only if it looks like one (nginx's 32 hex digits, a UUID,
#: a tracing id): nothing that could forge a log line or a header.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")

HEADER = "X-Request-ID"

request_log = logging.getLogger("portal.request")

#: LogRecord's own attributes: everything else on a record is an ``extra`` field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "request_id"}


def current_request_id() -> str | None:
    """This request's id (None outside a request)."""
    if not has_request_context():
        return None
    found: str | None = g.get("request_id")
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields and
    the exception's type, text and traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[1] is not None:
            kind, exc, tb = record.exc_info
            entry["exception"] = {
                "type": kind.__name__ if kind else type(exc).__name__,
                "message": str(exc),
                "traceback": "".join(traceback.format_exception(kind, exc, tb)),
            }
        return json.dumps(entry, default=str, ensure_ascii=False)


class _JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed (so a second app does not add another)."""


def configure_json_logging(level: str = "INFO") -> None:
    """Send every logger of this process to standard error as JSON lines (once)."""
    root = logging.getLogger()
    if any(isinstance(h, _JsonHandler) for h in root.handlers):
        return
    handler = _JsonHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # gunicorn's own messages (worker booted, timeouts) go the same way.
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True


class _RequestIds:
    """Request ids: 16 random hex digits per process, then a 16-digit counter (32 in
    all, as a UUID's hex). A random UUID per request asked the kernel for random bytes
    on every call; an id only has to be unique, not secret (callers may send their own).
    The prefix is drawn again in a forked process."""

    def __init__(self) -> None:
        self._pid = 0
        self._prefix = ""
        self._counter = itertools.count()

    def next(self) -> str:
        if self._pid != os.getpid():
            self._pid, self._prefix = os.getpid(), uuid.uuid4().hex[:16]
            self._counter = itertools.count()
        return f"{self._prefix}{next(self._counter):016x}"


_request_ids = _RequestIds()


def assign_request_id() -> None:
    """Take the caller's ``X-Request-ID`` if it is sane, or make one."""
    given = request.headers.get(HEADER, "")
    g.request_id = given if SANE_REQUEST_ID.fullmatch(given) else _request_ids.next()
    g.request_started = time.perf_counter()


def return_request_id(response: Response) -> Response:
    """Send the id back, and log the request in one line."""
    request_id = g.get("request_id")
    if request_id:
        response.headers[HEADER] = request_id
    started = g.get("request_started")
    if started is not None and current_app.config.get("LOG_REQUESTS"):
        request_log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"method": request.method, "path": request.path,
                   "endpoint": request.endpoint, "status": response.status_code,
                   "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                   "remote_addr": request.remote_addr})
    return response


def init_app(app: Flask) -> None:
    """Request ids on every request; JSON logs when ``LOG_FORMAT`` is ``json``."""
    if app.config.get("LOG_FORMAT") == "json":
        configure_json_logging(app.config.get("LOG_LEVEL", "INFO"))
        # Flask's own handler would print tracebacks a second time, in plain text.
        app.logger.removeHandler(default_handler)
    app.before_request(assign_request_id)
    app.after_request(return_request_id)
