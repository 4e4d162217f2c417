"""Searching requests by their order line: the order number ("W.P.(C) 1234/2026"), the
issuing authority and words of the description, on SQLite (FTS5) and PostgreSQL
(trigram index), through the same search box as references and targets.

Before: the search box found references and targets only; "W.P.(C)" found nothing."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import search_index
from portal.services.actors import Actor
from portal.services.filing import file_request
from portal.services.listing import list_requests
from portal.services.request_filters import RequestFilters, order_line_ids
from tests.factories import NOW, filing, make_agency, make_user


def _found(world, text: str, who: str = "official") -> set[str]:
    page = list_requests(world.actor(who), RequestFilters(search=text))
    return {r.reference for r in page.rows}


def test_an_order_number_authority_or_description_finds_the_request(world):
    writ = world.file(["@alpha"], order_reference="W.P.(C) 1234/2026",
                      issuing_authority="High Court of Delhi",
                      description="Deepfake videos of a sitting judge.")
    other = world.file(["@beta"], order_reference="2026/5651-77",
                       issuing_authority="Criminal Judgeship of Peace",
                       description="Fake aid campaigns after the earthquake.")
    assert _found(world, "W.P.(C) 1234/2026") == {writ.reference}
    assert _found(world, "W.P.(C)") == {writ.reference}
    assert _found(world, "w.p.(c) 1234/2026") == {writ.reference}  # any case
    assert _found(world, "1234/2026") == {writ.reference}
    assert _found(world, "high court") == {writ.reference}
    assert _found(world, "Judgeship of Peace") == {other.reference}
    assert _found(world, "deepfake judge") == {writ.reference}  # every word, any order
    assert _found(world, "earthquake") == {other.reference}
    assert _found(world, "earthquake deepfake") == set()
    assert _found(world, "judge") == {writ.reference, other.reference}  # "Judgeship" too
    assert _found(world, "W.P.(C) 9999/2026") == set()
    # Targets and references are still found by the same box.
    assert _found(world, "@beta") == {other.reference}
    assert _found(world, writ.reference) == {writ.reference}
    # Quotes, wildcards and FTS operators are words like any other, never syntax.
    for odd in ['"', 'W.P. "(C)', "100%", "a_b", "NEAR(x y)", "earth*", "-", "OR AND"]:
        _found(world, odd)  # no error
    assert _found(world, "earthquake OR judge") == set()


def test_sqlite_reads_a_prefix_only_for_a_last_word_that_ends_in_a_letter(app):
    # FTS5 reads a prefix's whole doclist: "1234/2026*" read every request's "2026"
    # (40 ms at 1M requests); an order number is typed whole, a name may be typed part.
    def match(text: str) -> str:
        query = order_line_ids(text)
        assert query is not None
        return str(query.compile(dialect=db.engine.dialect,
                                 compile_kwargs={"literal_binds": True}))

    if db.engine.dialect.name == "postgresql":
        # Substrings through the trigram index: a prefix is a substring like any other.
        assert "ILIKE '%%1234/2026%%'" in match("W.P.(C) 1234/2026")
        return
    assert """MATCH '"W.P.(C)" "1234/2026"'""" in match("W.P.(C) 1234/2026")
    assert """MATCH '"1234/2026)"'""" in match("1234/2026)")
    assert """MATCH '"high" "cou"*'""" in match("high cou")
    assert """MATCH '"W.P.(C)"*'""" in match("W.P.(C)")


def test_a_changed_order_line_is_found_by_its_new_words(world):
    req = world.file(["@alpha"], order_reference="W.P.(C) 1/2026")
    db.session.execute(sa.update(type(req)).where(type(req).id == req.id)
                       .values(order_reference="CRL.M.C. 42/2026"))
    db.session.commit()
    assert _found(world, "CRL.M.C. 42/2026") == {req.reference}
    assert _found(world, "W.P.(C) 1/2026") == set()


def test_search_stays_within_the_agency(world):

    mine = world.file(["@alpha"], order_reference="W.P.(C) 1234/2026")
    agency = make_agency("IN", domain="meity.gov.in")
    stranger = make_user("agency_official", agency)
    file_request(Actor.of(stranger), filing(["@other"], order_reference="W.P.(C) 1234/2026"),
                 now=NOW)
    assert _found(world, "W.P.(C) 1234/2026") == {mine.reference}
    assert len(_found(world, "W.P.(C) 1234/2026", who="reviewer")) == 2


def test_the_search_index_exists_at_head(app):
    """A later migration that rebuilds ``legal_requests`` in SQLite batch mode drops the
    index's triggers: this fails until it creates them again."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = set(conn.scalars(sa.text(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")))
            assert {search_index.FTS_TABLE, *search_index.FTS_TRIGGERS} <= names
        else:
            assert conn.scalar(sa.text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"),
                               {"n": search_index.TRIGRAM_INDEX}) == 1
