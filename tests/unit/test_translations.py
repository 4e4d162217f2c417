"""Every catalogue translates every message, keeps its placeholders, and compiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "portal" / "translations"
LANGUAGES = ["tr", "hi", "id", "ar"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%%")


def catalogue(language: str):
    with (ROOT / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def template_ids() -> set[str]:
    with (ROOT / "messages.pot").open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    cat = catalogue(language)
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in cat if m.id}
    assert template_ids() <= ids, "run pybabel update (see docs/OPERATIONS.md)"
    missing = [m.id for m in cat if m.id and not (m.string if isinstance(m.string, str)
                                                   else all(m.string))]
    fuzzy = [m.id for m in cat if m.id and m.fuzzy]
    assert missing == [], f"{len(missing)} untranslated in {language}: {missing[:5]}"
    assert fuzzy == [], f"{len(fuzzy)} fuzzy in {language}: {fuzzy[:5]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_kept(language):
    wrong = []
    for m in catalogue(language):
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        # A plural may name what the singular leaves out (and the count may be left
        # implicit in a form), but no translation may invent a placeholder or drop one
        # that every English form uses.
        sets = [set(PLACEHOLDER.findall(i)) for i in ids]
        every, some = set.intersection(*sets), set.union(*sets)
        for s in strings:
            found = set(PLACEHOLDER.findall(s))
            if not found <= some or not (every - {"num", "count"}) <= found:
                wrong.append((ids[0], s))
    assert wrong == [], f"{len(wrong)} with other placeholders in {language}: {wrong[:3]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_compiles(language, tmp_path):
    cat = catalogue(language)
    # The checks `pybabel compile` runs (python-format placeholders, plural forms).
    problems = [(m.id, [str(e) for e in errors]) for m, errors in cat.check()]
    assert problems == [], problems[:3]
    with (tmp_path / "messages.mo").open("wb") as f:
        write_mo(f, cat)
