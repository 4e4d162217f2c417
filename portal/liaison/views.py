"""Views of the liaison blueprint."""

from __future__ import annotations

from portal.liaison import bp  # noqa: F401
