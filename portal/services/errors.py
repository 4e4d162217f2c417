"""Errors the services raise; each face maps them to its own form (page, problem+json)."""

from __future__ import annotations

from dataclasses import dataclass


class ServiceError(Exception):
    """Base class. ``code`` is stable; ``message`` is English, for logs and the CLI."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    """No such thing, or one the actor may not know exists (another agency's request)."""

    code = "not_found"


class Forbidden(ServiceError):
    """The actor is known, may see the thing, but may not do this."""

    code = "forbidden"


class Conflict(ServiceError):
    """Someone changed the thing since the actor loaded it; nothing was changed."""

    code = "conflict"


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. ``index`` is the 1-based line/item for target lists."""

    field: str
    message: str
    code: str = "invalid"
    index: int | None = None


class ValidationFailed(ServiceError):
    """The input was refused as a whole; ``errors`` lists every problem found."""

    code = "validation_failed"

    def __init__(self, errors: list[FieldError]) -> None:
        count = len(errors)
        first = errors[0].message if errors else ""
        super().__init__(f"{count} problem{'s' if count != 1 else ''}: {first}")
        self.errors = errors


@dataclass(frozen=True)
class Problem(FieldError):
    """A field error that names the offending value (a jurisdiction code, a threshold),
    so a page can say which one in the reader's language."""

    value: str = ""
