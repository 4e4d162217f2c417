"""Form widgets the portal writes itself, where WTForms' own cost too much."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from wtforms import widgets

_OPTION = Markup('<option value="%s">%s</option>')
_SELECTED = Markup('<option selected value="%s">%s</option>')


class LongSelect(widgets.Select):
    """WTForms' ``<select>`` for long lists of plain choices (the 184 languages a document
    can be in): each option is written by one escaped format instead of WTForms' general
    attribute writer, the same markup in a fraction of the time. The request page shows
    two such lists; written by WTForms they were a tenth of the page's render. A choice
    with attributes of its own goes through WTForms as before."""

    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            written: Markup = super().render_option(choice, **kwargs)
            return written
        template = _SELECTED if choice.selected else _OPTION
        return template % (choice.value, choice.label or choice.value)
