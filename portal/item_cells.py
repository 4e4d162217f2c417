"""An item's cells in the items tables, as HTML: the target as a link to the platform's
page, its platform, and its decision as the law reads it (the action or why none, where,
on what ground, from when, lifted later, the user's notice, a preservation hold).

The reviewer's workspace, the agency's request page and the item page show the same
cells. They are written here rather than as Jinja macros because a page of 100 items
called seven macros a row, and those 700 macro calls were a third of the workspace's
render (docs/BENCHMARKS.md, "Item rows without macro calls"); a Python function returns
the same markup for a fraction of the cost. Every value is escaped (``%`` escapes what
is not markup already); user-written text is isolated in ``<bdi>``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from flask import Flask
from markupsafe import Markup

from portal import platforms
from portal.i18n import bdi, format_datetime, gettext
from portal.wording import (
    decision_label,
    deferral_label,
    ground_label,
    no_action_reason_label,
    platform_label,
    restore_reason_label,
    territory_text,
)


def _(message: str, **values: object) -> Markup:
    """A catalogue sentence as markup, the sentence and its values escaped."""
    text = Markup.escape(gettext(message))
    return text % values if values else text

_LINK = Markup('<a href="%s" target="_blank" rel="noreferrer noopener" dir="ltr"'
               ' class="target-link"><bdi>%s</bdi><span class="visually-hidden">'
               ' %s</span></a>')


class Item(Protocol):
    """What the cells read of a request item (a ``RequestItem`` or a row like it)."""

    kind: str
    target: str
    decision: Any
    no_action_reason: str | None
    restored_at: datetime | None
    restored_reason: str | None
    territorial_scope: str | None
    scope_reason: str | None
    ground: str | None
    ground_statute: str | None
    ground_article: str | None
    effect_given_at: datetime | None
    suspended_until: datetime | None
    preserved_until: datetime | None
    user_notified_at: datetime | None
    notice_deferred_until: datetime | None
    notice_deferral_basis: str | None


def target_link(item: Item) -> Markup:
    """The target as text that opens the platform's own page for it in a new tab, with
    no referrer: the platform must not learn which portal page, and so which request, a
    click came from. Plain (isolated) text when no platform profile knows the target."""
    url = platforms.page_url(item.kind, item.target)
    if not url:
        return Markup('<bdi dir="ltr">%s</bdi>') % item.target
    return _LINK % (url, item.target, _("(opens the platform's page in a new tab)"))


def platform_name(item: Item) -> str:
    """The platform of a target in words ("" when no profile knows it): a table shows it
    in a column of its own when the portal takes more than one platform."""
    code = platforms.platform_code(item.kind, item.target)
    return platform_label(code) if code else ""


def decision_cell(item: Item) -> Markup:
    """The action taken, or why none, and a "Restored" badge; "Pending" before that."""
    if not item.decision:
        return Markup('<span class="badge pending">%s</span>') % _("Pending")
    html = Markup.escape(decision_label(item.decision))
    if item.no_action_reason:
        html += Markup('<br><span class="muted">%s</span>') % no_action_reason_label(
            item.no_action_reason)
    if item.restored_at:
        html += Markup(' <span class="badge restored">%s</span>') % _("Restored")
    return html


def scope_cell(item: Item) -> Markup:
    """Where the action applies, and the reviewer's reason for that scope."""
    if not item.territorial_scope:
        return Markup()
    html = Markup('<span dir="ltr">%s</span>') % territory_text(item.territorial_scope)
    if item.scope_reason:
        html += Markup('<br><span class="muted">%s</span>') % bdi(item.scope_reason)
    return html


def ground_cell(item: Item) -> Markup:
    """The legal ground, with the statute and article cited."""
    if not item.ground:
        return Markup()
    html = Markup.escape(ground_label(item.ground))
    if item.ground_statute:
        cited = bdi(item.ground_statute)
        if item.ground_article:
            cited += Markup(", ") + bdi(item.ground_article)
        html += Markup('<br><span class="muted">%s</span>') % cited
    return html


def effect_cell(item: Item, now: datetime) -> Markup:
    """When the action took effect, a suspension's end, a preservation hold (TCO Art. 6)
    and a restoration."""
    html = Markup()
    if item.effect_given_at:
        html += Markup('<time datetime="%s">%s</time>') % (
            item.effect_given_at.isoformat(), _short(item.effect_given_at))
    if item.suspended_until:
        html += Markup('<br><span class="muted">%s</span>') % _(
            "Suspended until %(when)s", when=_short(item.suspended_until))
    if item.preserved_until:
        text = (_("Preserved until %(when)s (TCO Art. 6)", when=_short(item.preserved_until))
                if item.preserved_until > now
                else _("Preservation ended %(when)s", when=_short(item.preserved_until)))
        html += Markup('<br><span class="muted preservation">%s</span>') % text
    if item.restored_at:
        html += Markup('<br><span class="muted">%s</span>') % _(
            "Restored %(when)s: %(reason)s", when=_short(item.restored_at),
            reason=restore_reason_label(item.restored_reason))
    return html


def notice_cell(item: Item, now: datetime) -> Markup:
    """When the affected user was told, or until when the notice is deferred and why."""
    if item.user_notified_at:
        return Markup.escape(_("Told %(when)s", when=_short(item.user_notified_at)))
    if not item.notice_deferred_until:
        return Markup()
    if item.notice_deferred_until > now:
        html = Markup.escape(_("Deferred until %(when)s",
                               when=_short(item.notice_deferred_until)))
    else:
        html = Markup("<strong>%s</strong>") % _("Deferral ended %(when)s",
                                                 when=_short(item.notice_deferred_until))
    return html + Markup('<br><span class="muted">%s</span>') % deferral_label(
        item.notice_deferral_basis)


def _short(moment: datetime) -> str:
    return format_datetime(moment, "short")


def init_app(app: Flask) -> None:
    """Give templates the cell functions."""
    app.jinja_env.globals.update(
        target_link=target_link, platform_name=platform_name, decision_cell=decision_cell,
        scope_cell=scope_cell, ground_cell=ground_cell, effect_cell=effect_cell,
        notice_cell=notice_cell)
