"""Several platforms side by side: each line is read by the profile of its link's host,
bare names by the default (or the filing's service), and a stored item names its platform
by its kind and target (issue 13, part 5)."""

from __future__ import annotations

import pytest

from portal.intake import (
    TELEGRAM_PROFILE,
    X_PROFILE,
    ItemKind,
    PlatformSet,
    Reason,
    parse_entries,
    parse_text,
    platform_of,
)

BOTH = PlatformSet.of(["x", "telegram"])


def test_links_are_read_by_their_hosts_profile_and_keep_their_order():
    result = parse_text("@jack\nhttps://t.me/durov_news\nx.com/jack/status/12\n"
                        "t.me/+AbCdEfGh12\ntwitter.com/Jill\nwww.t.me/s/some_channel\n"
                        "telegram.me/durov_news/15", BOTH)
    assert result.rejected == []
    assert [(t.line, t.kind.value, t.target, t.platform) for t in result.accepted] == [
        (1, "account", "@jack", "x"),
        (2, "channel", "@durov_news", "telegram"),
        (3, "post", "https://x.com/jack/status/12", "x"),
        (4, "channel", "https://t.me/+AbCdEfGh12", "telegram"),
        (5, "account", "@jill", "x"),
        (6, "channel", "@some_channel", "telegram"),
        (7, "post", "https://t.me/durov_news/15", "telegram"),
    ]


def test_bare_names_follow_the_service_and_unknown_hosts_the_default():
    telegram_first = BOTH.with_default("telegram")
    result = parse_text("@durov_news\nhttps://example.com/x\nx.com/jack", telegram_first)
    assert [(t.kind, t.platform) for t in result.accepted] == [
        (ItemKind.CHANNEL, "telegram"), (ItemKind.ACCOUNT, "x")]
    assert [(r.line, r.reason) for r in result.rejected] == [(2, Reason.FOREIGN_URL)]
    assert "Telegram-like messenger" in result.rejected[0].detail


def test_a_disabled_platforms_links_are_foreign():
    only_x = PlatformSet.of(["x"])
    result = parse_text("t.me/durov_news\n@jack", only_x)
    assert [(r.line, r.reason) for r in result.rejected] == [(1, Reason.FOREIGN_URL)]
    assert [t.target for t in result.accepted] == ["@jack"]


def test_duplicates_are_found_within_each_platform():
    result = parse_text("@jack\nt.me/durov_news\nx.com/jack\nt.me/s/durov_news", BOTH)
    assert [(t.line, t.platform) for t in result.accepted] == [(1, "x"), (2, "telegram")]
    assert [(r.line, r.reason, r.duplicate_of) for r in result.rejected] == [
        (3, Reason.DUPLICATE, 1), (4, Reason.DUPLICATE, 2)]


def test_the_same_name_on_two_platforms_is_refused_with_a_specific_sentence():
    result = parse_text("t.me/durov_news\n@durov_news", BOTH)
    assert [t.platform for t in result.accepted] == ["telegram"]
    (rejection,) = result.rejected
    assert (rejection.line, rejection.reason, rejection.duplicate_of) == (
        2, Reason.DUPLICATE, 1)
    assert rejection.message == (
        "line 2: '@durov_news' names the same @durov_news on the X-like microblog as line 1 "
        "does on the Telegram-like messenger; one request takes one of them: file the other "
        "in a request of its own")


def test_api_indexes_out_of_order_keep_the_given_order():
    entries = [(3, "t.me/durov_news", None), (1, "@jack", None), (2, "x.com/jill", None)]
    result = parse_entries(entries, BOTH)
    assert [t.line for t in result.accepted] == [3, 1, 2]


@pytest.mark.parametrize(("kind", "target", "platform", "url"), [
    ("account", "@jack", "x", "https://x.com/jack"),
    ("post", "https://x.com/jack/status/12", "x", "https://x.com/jack/status/12"),
    ("post", "https://x.com/i/web/status/12", "x", "https://x.com/i/web/status/12"),
    ("channel", "@durov_news", "telegram", "https://t.me/durov_news"),
    ("channel", "https://t.me/+AbCdEfGh12", "telegram", "https://t.me/+AbCdEfGh12"),
    ("post", "https://t.me/durov_news/15", "telegram", "https://t.me/durov_news/15"),
])
def test_a_stored_item_names_its_platform_and_page(kind, target, platform, url):
    profile = platform_of(kind, target)
    assert profile is not None and profile.code == platform
    assert profile.page_url(target) == url


@pytest.mark.parametrize("target", ["https://evil.example/x", "javascript:alert(1)", "@a b"])
def test_no_page_for_what_no_profile_wrote(target):
    profile = platform_of("account", target)
    assert profile is None or profile.page_url(target) is None
    assert X_PROFILE.page_url(target) is None and TELEGRAM_PROFILE.page_url(target) is None


@pytest.mark.parametrize(("codes", "default", "message"), [
    ([], None, "unknown platform profile(s): (none)"),
    (["x", "mastodon"], None, "unknown platform profile(s): mastodon"),
    (["x"], "telegram", "the default platform 'telegram' is not among ['x']"),
])
def test_a_set_refuses_unknown_profiles(codes, default, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        PlatformSet.of(codes, default)


def test_a_service_outside_the_set_is_refused():
    with pytest.raises(ValueError, match="'telegram' is not one of x"):
        PlatformSet.of(["x"]).with_default("telegram")
