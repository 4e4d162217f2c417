"""The portal's fast ``format_datetime`` and ``format_number`` write exactly what
Flask-Babel's write."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import flask_babel
from flask import Flask, g
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.i18n import LANGUAGES, format_datetime, format_number

ZONES = ["UTC", "Europe/Istanbul", "Asia/Kolkata", "Asia/Jakarta", "Asia/Riyadh",
         "Europe/Berlin", "America/Sao_Paulo", "Asia/Kathmandu"]
FORMATS = [None, "short", "medium", "long", "full", "yyyy-MM-dd HH:mm", "EEEE d MMMM, h:mm a"]


@settings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                           timezones=st.sampled_from([None, UTC, ZoneInfo("Asia/Tokyo")])),
       language=st.sampled_from(sorted(LANGUAGES)), zone=st.sampled_from(ZONES),
       format=st.sampled_from(FORMATS), rebase=st.booleans())
def test_same_text_as_flask_babel(shared_app: Flask, moment: datetime, language: str,
                                  zone: str, format: str | None, rebase: bool):
    # The session's app: formatting changes nothing, so examples may share it.
    with shared_app.test_request_context("/"), flask_babel.force_locale(language):
        g._flask_babel.babel_tzinfo = ZoneInfo(zone)
        expected = flask_babel.format_datetime(moment, format, rebase)
        assert format_datetime(moment, format, rebase) == expected


def test_the_viewers_zone_and_language_are_used(app: Flask):
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Berlin moves to summer time at 01:00
    with app.test_request_context("/"), flask_babel.force_locale("tr"):
        g._flask_babel.babel_tzinfo = ZoneInfo("Europe/Berlin")
        assert format_datetime(moment, "yyyy-MM-dd HH:mm") == "2026-03-29 01:30"
        assert format_datetime(moment + (moment - moment.replace(hour=0, minute=0)),
                               "HH:mm zzzz").startswith("03:00")
        assert "Mart" in format_datetime(moment, "long")


@settings(max_examples=300, deadline=None)
@given(number=st.one_of(st.integers(min_value=-2000, max_value=2_000_000),
                        st.integers(min_value=0, max_value=999)),
       language=st.sampled_from(sorted(LANGUAGES)))
def test_numbers_same_text_as_flask_babel(shared_app: Flask, number: int, language: str):
    with shared_app.test_request_context("/"), flask_babel.force_locale(language):
        assert format_number(number) == flask_babel.format_number(number)


def test_templates_group_thousands_in_the_readers_language(app: Flask):
    with app.test_request_context("/"), flask_babel.force_locale("tr"):
        render = app.jinja_env.from_string("{{ 1166|numberformat }} {{ 7|numberformat }}")
        assert render.render() == "1.166 7"


def test_a_number_and_a_sentence_follow_the_locale_within_one_request(app: Flask):
    """Both are looked up once and kept (a number per locale and value, the catalogue per
    request): a mail written in its reader's language in the middle of a page's request
    must not get the page's grouping or words, nor the page the mail's."""
    template = app.jinja_env.from_string("{{ 1234567|numberformat }} {{ _('Pending') }}")
    with app.test_request_context("/"):
        with flask_babel.force_locale("tr"):
            assert template.render() == "1.234.567 Karar bekleniyor"
        with flask_babel.force_locale("hi"):
            first = template.render()
        with flask_babel.force_locale("en"):
            assert template.render() == "1,234,567 Pending"
        with flask_babel.force_locale("tr"):
            assert template.render() == "1.234.567 Karar bekleniyor"
    assert first == "12,34,567 लंबित"
