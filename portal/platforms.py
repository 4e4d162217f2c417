"""The platforms this portal takes targets for, from its settings.

``PLATFORM_PROFILES`` lists the enabled platform profiles (codes of
:data:`portal.intake.PROFILES`); ``PLATFORM_PROFILE`` is the one a bare ``@name`` belongs
to when a filing does not name its service. A link is read by the profile of its host, so
one deployment takes X-like and Telegram-like targets side by side.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask import Flask, current_app

from portal import intake
from portal.config import ConfigurationError


def check(config: Mapping[str, Any]) -> None:
    """Refuse platform settings that name no profile, or a default that is not enabled.

    Raises:
        ConfigurationError: naming the setting and the known codes.
    """
    try:
        _of(config)
    except ValueError as exc:
        raise ConfigurationError(
            f"PLATFORM_PROFILES={config.get('PLATFORM_PROFILES')!r} with "
            f"PLATFORM_PROFILE={config.get('PLATFORM_PROFILE')!r}: {exc}") from None


def _of(config: Mapping[str, Any]) -> intake.PlatformSet:
    codes = config.get("PLATFORM_PROFILES") or [config.get("PLATFORM_PROFILE") or "x"]
    if isinstance(codes, str):
        codes = [code.strip() for code in codes.split(",") if code.strip()]
    return _set(tuple(codes), config.get("PLATFORM_PROFILE") or None)


@lru_cache(maxsize=16)
def _set(codes: tuple[str, ...], default: str | None) -> intake.PlatformSet:
    # Asked for on every row of an items table: built once per setting.
    return intake.PlatformSet.of(codes, default)


def enabled(service: str | None = None) -> intake.PlatformSet:
    """The enabled platforms, bare names read as ``service``'s (else the default's).

    Raises:
        ValueError: ``service`` is not an enabled platform's code.
    """
    return _of(current_app.config).with_default(service)


def choices() -> list[tuple[str, str]]:
    """``(code, name in the reader's language)`` of each enabled platform, the default
    first."""
    # Imported here: wording imports the services, and the filing service imports this.
    from portal.wording import platform_label

    platforms = enabled()
    first = platforms.default
    return [(p.code, platform_label(p.code))
            for p in (first, *(p for p in platforms.profiles if p != first))]


def page_url(kind: str, target: str) -> str | None:
    """The platform's own page for a stored item (``None`` when no profile knows it):
    what the reviewer opens to look at the content."""
    profile = intake.platform_of(kind, target)
    return None if profile is None else profile.page_url(target)


def init_app(app: Flask) -> None:
    """Check the settings at start-up; give templates ``target_url(item)``,
    ``target_platform(item)`` and ``several_platforms()``."""
    check(app.config)
    app.jinja_env.globals.update(
        target_url=lambda item: page_url(item.kind, item.target),
        target_platform=lambda item: platform_code(item.kind, item.target),
        several_platforms=lambda: len(enabled().profiles) > 1,
    )


def platform_code(kind: str, target: str) -> str | None:
    """The code of the platform a stored item belongs to (``None`` if no profile knows)."""
    profile = intake.platform_of(kind, target)
    return None if profile is None else profile.code
