"""Views of the review blueprint."""

from __future__ import annotations

from portal.review import bp  # noqa: F401
