"""Views of the requests blueprint."""

from __future__ import annotations

from portal.requests import bp  # noqa: F401
