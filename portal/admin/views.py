"""Views of the admin blueprint."""

from __future__ import annotations

from portal.admin import bp  # noqa: F401
