"""Documents in words: their kinds and how they came, in the reader's language, and
languages by name (a document's language is stored as its ISO 639-1 code)."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import Flask
from flask_babel import get_locale
from flask_babel.speaklater import LazyString
from wtforms.fields.choices import SelectChoice

from portal.i18n import lazy_gettext as _l
from portal.services.documents import language_codes
from portal.wording import labeller

DOCUMENT_KINDS: dict[str, LazyString] = {
    "order": _l("Order"),
    "annexure": _l("Annexure"),
    "translation": _l("Translation"),
    "other": _l("Other document"),
}

DOCUMENT_CONTEXTS: dict[str, LazyString] = {
    "filing": _l("with the filing"),
    "later": _l("added later"),
    "answer": _l("with an answer"),
    "evidence": _l("at registration"),
}

document_kind_label = labeller(DOCUMENT_KINDS)
document_context_label = labeller(DOCUMENT_CONTEXTS)


def language_name(code: str | None) -> str:
    """A language's name in the reader's language (``tr`` → "Turkish", "Türkçe", …);
    the code itself when the locale has no name for it; "" when none is stated."""
    if not code:
        return ""
    name = get_locale().languages.get(code) if get_locale() is not None else None
    return str(name) if name else code


def language_choices() -> list[SelectChoice]:
    """Every ISO 639-1 language by its name in the reader's language, sorted by name."""
    locale = get_locale()
    return list(_language_choices(str(locale) if locale is not None else "en"))


@lru_cache(maxsize=16)
def _language_choices(locale: str) -> tuple[SelectChoice, ...]:
    # Built once per language of the portal: 184 names looked up and sorted on every
    # request page with a document form were a tenth of its render.
    names = Locale.parse(locale).languages
    found = [SelectChoice(code, f"{names.get(code) or code} ({code})")
             for code in language_codes()]
    return tuple(sorted(found, key=lambda choice: choice.label.casefold()))


def kind_choices() -> list[SelectChoice]:
    """The kinds of document, in their order."""
    return [SelectChoice(code, label) for code, label in DOCUMENT_KINDS.items()]


def init_app(app: Flask) -> None:
    """Make the document labels available in every template."""
    app.jinja_env.globals.update(
        document_kind_label=document_kind_label,
        document_context_label=document_context_label,
        language_name=language_name,
    )
