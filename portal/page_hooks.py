"""App-wide hooks that only the pages need, which the token-authenticated API skips.

Flask runs every app-wide ``before_request``, ``after_request`` and ``teardown_request``
hook on every request. Several exist only for the pages: the reader's language, the
session's idle timeout, NUL characters in form fields, CSRF, Flask-Limiter's page limits
and Flask-Login's remember cookie. The API blueprints are exempt from CSRF and
Flask-Limiter and their calls carry no session, so for them those hooks decide nothing,
yet each cost a call (Flask-Limiter's resolved every limit of the endpoint to find it
exempt: a tenth of a detail read).

Here they are run by one hook each way, which returns at once for a blueprint named in
:func:`skip_for` (the API's, which check tokens, rate limits and bodies themselves).
Pages, the static files, the API's documentation page and its OpenAPI document run them
as before, in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, request
from werkzeug.wrappers import Response


class PageHooks:
    """The page-only hooks of one app, and the blueprints that skip them."""

    def __init__(self, app: Flask) -> None:
        self.skipped: set[str] = set()
        self.before: list[Callable[[], Any]] = []
        self.after: list[Callable[[Response], Response]] = []
        self.teardown: list[Callable[[BaseException | None], None]] = []
        self._app = app
        self._registered: set[str] = set()

    def _skip(self) -> bool:
        return request.blueprint in self.skipped

    def run_before(self) -> Any:
        if self._skip():
            return None
        for hook in self.before:
            answer = hook()
            if answer is not None:
                return answer
        return None

    def run_after(self, response: Response) -> Response:
        if self._skip():
            return response
        for hook in reversed(self.after):  # as Flask runs after-request hooks
            response = hook(response)
        return response

    def run_teardown(self, error: BaseException | None) -> None:
        if self._skip():
            return
        for hook in reversed(self.teardown):
            hook(error)

    def register(self, kind: str) -> None:
        """Put the runner of ``kind`` among the app's hooks (once, where the first
        page-only hook of that kind was registered: the order stays theirs)."""
        if kind in self._registered:
            return
        self._registered.add(kind)
        if kind == "before":
            self._app.before_request(self.run_before)
        elif kind == "after":
            self._app.after_request(self.run_after)
        else:
            self._app.teardown_request(self.run_teardown)


def _hooks(app: Flask) -> PageHooks:
    found = app.extensions.get("page_hooks")
    if found is None:
        found = app.extensions["page_hooks"] = PageHooks(app)
    assert isinstance(found, PageHooks)
    return found


def before_request(app: Flask, hook: Callable[[], Any]) -> None:
    """Run ``hook`` before every request but those of the skipping blueprints."""
    hooks = _hooks(app)
    hooks.register("before")
    hooks.before.append(app.ensure_sync(hook))


def install(app: Flask, init_app: Callable[[Flask], None]) -> None:
    """Run an extension's ``init_app``; the app-wide hooks it registers become page-only
    hooks (in the order it registered them)."""
    hooks = _hooks(app)
    lists = (("before", app.before_request_funcs, hooks.before),
             ("after", app.after_request_funcs, hooks.after),
             ("teardown", app.teardown_request_funcs, hooks.teardown))
    known = {kind: len(registry.setdefault(None, [])) for kind, registry, _ in lists}
    init_app(app)
    for kind, registry, target in lists:
        funcs: list[Any] = registry[None]
        added = funcs[known[kind]:]
        if not added:
            continue
        del funcs[known[kind]:]
        hooks.register(kind)
        target.extend(app.ensure_sync(hook) for hook in added)


def skip_for(app: Flask, blueprint: str) -> None:
    """Calls to ``blueprint`` skip the page-only hooks: it must be exempt from CSRF and
    Flask-Limiter, and its paths must be ones the other hooks leave alone (``/api/``)."""
    _hooks(app).skipped.add(blueprint)
