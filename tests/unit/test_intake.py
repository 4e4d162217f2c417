"""Tests for portal.intake, the one parser of target lists (no Flask, no database)."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal import intake
from portal.intake import (
    DEFAULT_PROFILE,
    MAX_LINE_LENGTH,
    PROFILES,
    TELEGRAM_PROFILE,
    X_PROFILE,
    IntakeFileError,
    IntakeResult,
    ItemKind,
    PlatformProfile,
    Reason,
    Rejection,
    Target,
    TargetError,
    normalise,
    parse_csv,
    parse_entries,
    parse_text,
)

ACCOUNT, POST, CHANNEL = ItemKind.ACCOUNT, ItemKind.POST, ItemKind.CHANNEL

# Modest example counts keep the file to a few seconds; no example database on disk.
PROPERTY = settings(max_examples=200, database=None, deadline=None)
# Each example of the CSV round trip is a whole file: fewer of them.
PROPERTY_FILES = settings(max_examples=60, database=None, deadline=None)


def outcome(text: str, profile: PlatformProfile = DEFAULT_PROFILE) -> tuple[str, str]:
    """normalise() as data: (kind, target) or (reason, detail)."""
    try:
        return normalise(text, profile)
    except TargetError as exc:
        return exc.reason, exc.detail


# --- normalise: accepted inputs -------------------------------------------------------------

X_ACCEPTED = [
    # accounts, every spelling
    ("@Jack", ACCOUNT, "@jack"),
    ("Jack", ACCOUNT, "@jack"),
    ("https://x.com/Jack", ACCOUNT, "@jack"),
    ("http://twitter.com/Jack/", ACCOUNT, "@jack"),
    ("www.twitter.com/jack?lang=en", ACCOUNT, "@jack"),
    ("x.com/jack", ACCOUNT, "@jack"),
    ("https://mobile.twitter.com/jack#x", ACCOUNT, "@jack"),
    ("mobile.x.com/jack", ACCOUNT, "@jack"),
    ("www.x.com/jack", ACCOUNT, "@jack"),
    ("HTTPS://WWW.X.COM/JACK", ACCOUNT, "@jack"),
    ("https://x.com/@jack", ACCOUNT, "@jack"),
    ("//x.com/jack", ACCOUNT, "@jack"),
    ("https:x.com/jack", ACCOUNT, "@jack"),
    ("https://x.com:443/jack", ACCOUNT, "@jack"),
    ("https://x.com./jack", ACCOUNT, "@jack"),
    ("https://x.com//jack//", ACCOUNT, "@jack"),
    ("x.com\\jack", ACCOUNT, "@jack"),
    ("https://x.com/jack/media", ACCOUNT, "@jack"),
    ("https://x.com/jack/with_replies?x=1", ACCOUNT, "@jack"),
    ("https://x.com/jack?q=caf\u00e9", ACCOUNT, "@jack"),
    ("1234", ACCOUNT, "@1234"),
    ("_", ACCOUNT, "@_"),
    ("@A_b_C_123456789", ACCOUNT, "@a_b_c_123456789"),
    # surrounding whitespace and invisible characters are not part of the target
    ("  @jack\t", ACCOUNT, "@jack"),
    ("\u200b@jack\u200e", ACCOUNT, "@jack"),
    ("\ufeff\u00a0@jack\u3000", ACCOUNT, "@jack"),
    # posts
    ("https://x.com/Jack/status/20", POST, "https://x.com/jack/status/20"),
    ("https://twitter.com/jack/statuses/20", POST, "https://x.com/jack/status/20"),
    ("x.com/jack/STATUS/20", POST, "https://x.com/jack/status/20"),
    ("x.com/jack/status/20/photo/1", POST, "https://x.com/jack/status/20"),
    ("x.com/jack/status/20/video/1", POST, "https://x.com/jack/status/20"),
    ("https://x.com/jack/status/20?s=20&t=AbC", POST, "https://x.com/jack/status/20"),
    ("https://x.com/jack//status//20/#m", POST, "https://x.com/jack/status/20"),
    ("x.com/jack/status/00020", POST, "https://x.com/jack/status/20"),
    ("x.com/jack/status/" + "9" * 20, POST, "https://x.com/jack/status/" + "9" * 20),
    ("https://x.com/i/web/status/20", POST, "https://x.com/i/web/status/20"),
    ("x.com/i/status/20", POST, "https://x.com/i/web/status/20"),
]

TELEGRAM_ACCEPTED = [
    ("@Durov", CHANNEL, "@durov"),
    ("durov", CHANNEL, "@durov"),
    ("t.me/Durov", CHANNEL, "@durov"),
    ("https://t.me/durov/", CHANNEL, "@durov"),
    ("https://t.me/s/Durov", CHANNEL, "@durov"),
    ("telegram.me/durov", CHANNEL, "@durov"),
    ("www.telegram.dog/durov?start=1", CHANNEL, "@durov"),
    ("t.me/a_b_c", CHANNEL, "@a_b_c"),
    ("t.me/" + "a" * 32, CHANNEL, "@" + "a" * 32),
    ("https://t.me/Durov/123", POST, "https://t.me/durov/123"),
    ("t.me/s/durov/123?single", POST, "https://t.me/durov/123"),
    ("t.me/durov/0123", POST, "https://t.me/durov/123"),
    # invite codes are case-sensitive: kept as given
    ("https://t.me/+AbCdEf_-12345678", CHANNEL, "https://t.me/+AbCdEf_-12345678"),
    ("t.me/joinchat/AbCdEf_-12345678", CHANNEL, "https://t.me/+AbCdEf_-12345678"),
    ("T.ME/JOINCHAT/AbCdEf_-12345678/", CHANNEL, "https://t.me/+AbCdEf_-12345678"),
]


@pytest.mark.parametrize(("text", "kind", "target"), X_ACCEPTED)
def test_x_accepts(text: str, kind: ItemKind, target: str) -> None:
    assert normalise(text) == (kind, target)
    assert normalise(text, X_PROFILE) == (kind, target)


@pytest.mark.parametrize(("text", "kind", "target"), TELEGRAM_ACCEPTED)
def test_telegram_accepts(text: str, kind: ItemKind, target: str) -> None:
    assert normalise(text, TELEGRAM_PROFILE) == (kind, target)


@pytest.mark.parametrize(
    ("text", "profile"),
    [(text, X_PROFILE) for text, _, _ in X_ACCEPTED]
    + [(text, TELEGRAM_PROFILE) for text, _, _ in TELEGRAM_ACCEPTED],
)
def test_normalised_form_is_a_fixed_point(text: str, profile: PlatformProfile) -> None:
    kind, target = normalise(text, profile)
    assert normalise(target, profile) == (kind, target)


def test_invite_codes_differing_only_in_case_are_different_channels() -> None:
    lower = normalise("t.me/+abcdefgh12345678", TELEGRAM_PROFILE)
    upper = normalise("t.me/+ABCDEFGH12345678", TELEGRAM_PROFILE)
    assert lower != upper


# --- normalise: rejected inputs -------------------------------------------------------------

X_REJECTED = [
    ("", Reason.EMPTY),
    ("   \t ", Reason.EMPTY),
    ("\u200b\ufeff", Reason.EMPTY),
    ("@this_handle_is_too_long", Reason.MALFORMED_HANDLE),
    ("j\u00e4ck", Reason.MALFORMED_HANDLE),
    ("ja\u0308ck", Reason.MALFORMED_HANDLE),
    ("@\u0434\u0436\u0435\u043a", Reason.MALFORMED_HANDLE),
    ("@", Reason.MALFORMED_HANDLE),
    ("@@jack", Reason.MALFORMED_HANDLE),
    ("jack smith", Reason.MALFORMED_HANDLE),
    ("@ja-ck", Reason.MALFORMED_HANDLE),
    ("jack.smith", Reason.MALFORMED_HANDLE),
    ("\uff20jack", Reason.MALFORMED_HANDLE),
    ("x.com/jack!", Reason.MALFORMED_HANDLE),
    ("https://x.com/this_handle_is_too_long", Reason.MALFORMED_HANDLE),
    ("https://facebook.com/x", Reason.FOREIGN_URL),
    ("t.me/foo", Reason.FOREIGN_URL),
    ("https://x.co/jack", Reason.FOREIGN_URL),
    ("evil-x.com/jack", Reason.FOREIGN_URL),
    ("https://x.com.evil.example/jack", Reason.FOREIGN_URL),
    ("www.facebook.com", Reason.FOREIGN_URL),
    ("x.com/search?q=a", Reason.UNSUPPORTED_URL),
    ("x.com/home", Reason.UNSUPPORTED_URL),
    ("https://x.com/i/flow/login", Reason.UNSUPPORTED_URL),
    ("x.com/hashtag/foo", Reason.UNSUPPORTED_URL),
    ("x.com/Settings", Reason.UNSUPPORTED_URL),
    ("x.com", Reason.UNSUPPORTED_URL),
    ("https://x.com/", Reason.UNSUPPORTED_URL),
    ("x.com/jack/nonsense", Reason.UNSUPPORTED_URL),
    ("x.com/jack/status/20/nonsense", Reason.UNSUPPORTED_URL),
    ("x.com/jack/status/abc", Reason.MALFORMED_URL),
    ("x.com/jack/status/" + "1" * 21, Reason.MALFORMED_URL),
    ("x.com/jack/status/\u0661\u0662\u0663", Reason.MALFORMED_URL),
    ("x.com/jack/status", Reason.MALFORMED_URL),
    ("x.com/jack/status/0", Reason.MALFORMED_URL),
    ("x.com/i/web/status/x", Reason.MALFORMED_URL),
    ("ftp://x.com/jack", Reason.MALFORMED_URL),
    ("javascript://x.com/jack", Reason.MALFORMED_URL),
    ("https://user@x.com/jack", Reason.MALFORMED_URL),
    ("https://x.com:abc/jack", Reason.MALFORMED_URL),
    ("https://localhost/jack", Reason.MALFORMED_URL),
    ("a\x00b", Reason.CONTROL_CHARACTERS),
    ("\x00", Reason.CONTROL_CHARACTERS),
    ("@ja\u200bck", Reason.CONTROL_CHARACTERS),
    ("x.com/jack\x7f", Reason.CONTROL_CHARACTERS),
    ("@jack\u2028x", Reason.CONTROL_CHARACTERS),
    ("@ja\tck", Reason.CONTROL_CHARACTERS),
    ("@jack\ud800", Reason.CONTROL_CHARACTERS),
    ("x" * (MAX_LINE_LENGTH + 1), Reason.TOO_LONG),
]

TELEGRAM_REJECTED = [
    ("t.me/abc", Reason.MALFORMED_HANDLE),
    ("@abcd", Reason.MALFORMED_HANDLE),
    ("@1durov", Reason.MALFORMED_HANDLE),
    ("@" + "a" * 33, Reason.MALFORMED_HANDLE),
    ("x.com/jack", Reason.FOREIGN_URL),
    ("https://t.me.example/durov", Reason.FOREIGN_URL),
    ("t.me", Reason.UNSUPPORTED_URL),
    ("t.me/s", Reason.UNSUPPORTED_URL),
    ("t.me/share/url?url=x", Reason.UNSUPPORTED_URL),
    ("t.me/addstickers/pack", Reason.UNSUPPORTED_URL),
    ("t.me/c/1234/56", Reason.UNSUPPORTED_URL),
    ("t.me/durov/12/34", Reason.UNSUPPORTED_URL),
    ("t.me/+4915112345678", Reason.UNSUPPORTED_URL),
    ("t.me/+AbCdEf_-12345678/extra", Reason.UNSUPPORTED_URL),
    ("t.me/durov/abc", Reason.MALFORMED_URL),
    ("t.me/durov/0", Reason.MALFORMED_URL),
    ("t.me/joinchat", Reason.MALFORMED_URL),
    ("t.me/+short", Reason.MALFORMED_URL),
    ("t.me/+bad!code12345", Reason.MALFORMED_URL),
]


@pytest.mark.parametrize(("text", "reason"), X_REJECTED)
def test_x_rejects(text: str, reason: Reason) -> None:
    with pytest.raises(TargetError) as caught:
        normalise(text)
    assert caught.value.reason is reason
    assert caught.value.detail == str(caught.value)


@pytest.mark.parametrize(("text", "reason"), TELEGRAM_REJECTED)
def test_telegram_rejects(text: str, reason: Reason) -> None:
    with pytest.raises(TargetError) as caught:
        normalise(text, TELEGRAM_PROFILE)
    assert caught.value.reason is reason


def test_length_limit_is_on_the_stripped_text_and_adjustable() -> None:
    handle = "@jack"
    assert normalise(" " * 1000 + handle + " " * 1000) == (ACCOUNT, "@jack")
    with pytest.raises(TargetError) as caught:
        normalise(handle, max_length=4)
    assert caught.value.reason is Reason.TOO_LONG
    assert normalise(handle, max_length=5) == (ACCOUNT, "@jack")


def test_nfc_is_applied_before_the_handle_check() -> None:
    # A Kelvin sign is canonically a K, so NFC turns it into one.
    assert normalise("@\u212aing") == (ACCOUNT, "@king")


def test_messages_name_the_text_and_the_rule() -> None:
    assert outcome("x.com/search?q=a")[1] == (
        "'x.com/search?q=a' is a URL of the X-like microblog but not an account, post or channel"
    )
    assert outcome("@this_handle_is_too_long")[1] == (
        "'@this_handle_is_too_long' is not a valid handle: "
        "1 to 15 letters (A-Z), digits or underscores"
    )
    assert outcome("t.me/foo")[1] == "'t.me/foo' is not a URL of the X-like microblog (host t.me)"
    assert "5 to 32" in outcome("@abc", TELEGRAM_PROFILE)[1]
    # Invisible characters are shown escaped, never raw.
    assert outcome("a\x00b")[1] == (
        "'a\\u0000b' contains an invisible or control character (U+0000)"
    )


def test_messages_quote_long_text_shortened() -> None:
    detail = outcome("https://facebook.com/" + "a" * 400)[1]
    assert len(detail) < 200
    assert "\u2026" in detail


# --- parse_text -------------------------------------------------------------------------------


def lines_of(result: IntakeResult) -> dict[int, str]:
    """Line number -> target or reason code."""
    found = {t.line: t.target for t in result.accepted}
    found.update({r.line: r.reason.value for r in result.rejected})
    return found


def test_parse_text_numbers_physical_lines() -> None:
    result = parse_text("@jack\n\nx.com/search?q=a\nhttps://x.com/bob/status/7\n")
    assert lines_of(result) == {
        1: "@jack",
        2: "empty",
        3: "unsupported_url",
        4: "https://x.com/bob/status/7",
    }
    assert result.accepted[0] == Target(1, "@jack", ACCOUNT, "@jack", "x")
    assert not result.ok


def test_trailing_newline_is_not_a_line_but_trailing_blank_lines_are() -> None:
    assert lines_of(parse_text("@jack\n")) == {1: "@jack"}
    assert lines_of(parse_text("@jack\n\n")) == {1: "@jack", 2: "empty"}
    assert lines_of(parse_text("@jack\n  \n")) == {1: "@jack", 2: "empty"}
    assert lines_of(parse_text("\n")) == {1: "empty"}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings(newline: str) -> None:
    text = newline.join(["@a", "", "@b", "@c"]) + newline
    assert lines_of(parse_text(text)) == {1: "@a", 2: "empty", 3: "@b", 4: "@c"}


def test_mixed_line_endings_and_bom() -> None:
    result = parse_text("\ufeff@a\r\n@b\r@c\n@d")
    assert lines_of(result) == {1: "@a", 2: "@b", 3: "@c", 4: "@d"}
    assert result.accepted[0].raw == "@a"
    assert result.ok


def test_other_unicode_line_separators_do_not_split_lines() -> None:
    # Only \n, \r\n and \r end a line, as in the browser's textarea.
    result = parse_text("@a\u2028@b\x0c@c\n@d")
    assert lines_of(result) == {1: "control_characters", 2: "@d"}


def test_empty_text_has_no_lines_and_is_not_ok() -> None:
    assert parse_text("") == IntakeResult([], [])
    assert not parse_text("").ok
    assert lines_of(parse_text("  ")) == {1: "empty"}


def test_duplicates_point_at_the_first_accepted_line() -> None:
    text = "\n".join(
        ["@a", "@jack", "@b", "x.com/c/status/1", "@c", "", "https://twitter.com/JACK/"]
    )
    result = parse_text(text)
    [duplicate] = [r for r in result.rejected if r.reason is Reason.DUPLICATE]
    assert (duplicate.line, duplicate.duplicate_of, duplicate.raw) == (
        7,
        2,
        "https://twitter.com/JACK/",
    )
    assert duplicate.message == "line 7: duplicate of line 2"
    assert [t.line for t in result.accepted] == [1, 2, 3, 4, 5]


def test_a_rejected_first_occurrence_is_not_what_duplicates_point_at() -> None:
    result = parse_entries([(1, "@jack", POST), (2, "@JACK", None), (3, "x.com/jack", None)])
    assert [(r.line, r.reason, r.duplicate_of) for r in result.rejected] == [
        (1, Reason.KIND_MISMATCH, None),
        (3, Reason.DUPLICATE, 2),
    ]
    assert result.accepted == [Target(2, "@JACK", ACCOUNT, "@jack", "x")]


def test_too_long_lines_are_rejected_and_shortened_for_display() -> None:
    long_line = "@" + "a" * 600
    result = parse_text(f"@ok\n{long_line}\n")
    [rejection] = result.rejected
    assert (rejection.line, rejection.reason) == (2, Reason.TOO_LONG)
    assert len(rejection.raw) <= 200
    assert "601 characters" in rejection.message
    assert lines_of(parse_text("@" + "a" * 600, max_length=1000)) == {1: "malformed_handle"}


def test_parse_text_with_the_telegram_profile() -> None:
    result = parse_text("durov\nt.me/s/Durov\nt.me/durov/5\n", TELEGRAM_PROFILE)
    assert lines_of(result) == {1: "@durov", 2: "duplicate", 3: "https://t.me/durov/5"}
    assert [t.kind for t in result.accepted] == [CHANNEL, POST]


def test_ten_thousand_lines_are_all_accepted() -> None:
    forms = [
        "@user{i}",
        "https://x.com/user{i}/status/{j}",
        "twitter.com/acct{i}/",
        "U{i}",
        "https://mobile.twitter.com/p{i}?lang=en",
    ]
    lines = [forms[i % len(forms)].format(i=i, j=i + 1) for i in range(10_000)]
    result = parse_text("\r\n".join(lines) + "\r\n")
    assert result.ok
    assert len(result.accepted) == 10_000
    assert [t.line for t in result.accepted] == list(range(1, 10_001))
    assert result.accepted[1].target == "https://x.com/user1/status/2"
    assert result.accepted[3].target == "@u3"
    assert result.accepted[9_999].target == "@p9999"


# --- parse_entries ----------------------------------------------------------------------------


def test_parse_entries_checks_the_expected_kind() -> None:
    result = parse_entries(
        [
            (1, "@jack", ACCOUNT),
            (2, "x.com/jack/status/9", POST),
            (3, "@bob", POST),
            (4, "x.com/bob/status/9", ACCOUNT),
            (5, "@carol", None),
        ]
    )
    assert lines_of(result) == {
        1: "@jack",
        2: "https://x.com/jack/status/9",
        3: "kind_mismatch",
        4: "kind_mismatch",
        5: "@carol",
    }
    assert result.rejected[0].message == (
        "line 3: '@bob' is an account, but the list says it is a post"
    )


def test_parse_entries_sorts_rejections_by_line() -> None:
    result = parse_entries([(3, "", None), (1, "@@", None), (2, "x.com/home", None)])
    assert [r.line for r in result.rejected] == [1, 2, 3]


def test_parse_entries_refuses_a_useless_limit() -> None:
    with pytest.raises(ValueError, match="max_length"):
        parse_entries([(1, "@a", None)], max_length=0)


def test_targets_and_rejections_are_frozen_values() -> None:
    [target] = parse_text("@jack").accepted
    assert target == Target(1, "@jack", ACCOUNT, "@jack", "x")
    assert hash(target) == hash(Target(1, "@jack", ACCOUNT, "@jack", "x"))
    assert dataclasses.asdict(target)["target"] == "@jack"
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.target = "@bob"  # type: ignore[misc]


# --- Rejection, reasons, profiles ----------------------------------------------------------


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_a_message_without_a_detail(reason: Reason) -> None:
    message = Rejection(4, "x", reason).message
    assert message.startswith("line 4: ")
    assert len(message) > len("line 4: ") + 5


def test_duplicate_message_without_detail_names_the_first_line() -> None:
    rejection = Rejection(7, "@a", Reason.DUPLICATE, duplicate_of=3)
    assert rejection.message == "line 7: duplicate of line 3"


def test_reason_codes_are_the_published_ones() -> None:
    # The API returns these and the web layer translates them: renaming one breaks both.
    assert {reason.value for reason in Reason} == {
        "empty",
        "too_long",
        "foreign_url",
        "unsupported_url",
        "malformed_handle",
        "malformed_url",
        "control_characters",
        "kind_mismatch",
        "duplicate",
    }
    assert {kind.value for kind in ItemKind} == {"account", "post", "channel"}


def test_profiles_registry() -> None:
    assert PROFILES == {"x": X_PROFILE, "telegram": TELEGRAM_PROFILE}
    assert DEFAULT_PROFILE is X_PROFILE


def video_profile(**changes: object) -> PlatformProfile:
    fields: dict[str, object] = {
        "name": "video site",
        "code": "video",
        "hosts": frozenset({"v.example", "www.v.example"}),
        "canonical_host": "v.example",
        "handle_pattern": r"[A-Za-z0-9]{3,10}",
        "handle_rule": "3 to 10 letters or digits",
        "bare_kind": CHANNEL,
        "reserved_paths": frozenset({"feed"}),
        "post_segment": "watch",
    }
    fields.update(changes)
    return PlatformProfile(**fields)  # type: ignore[arg-type]


def test_a_third_platform_is_data() -> None:
    profile = video_profile()
    assert normalise("www.v.example/Chan1/watch/0042", profile) == (
        POST,
        "https://v.example/chan1/watch/42",
    )
    assert normalise("Chan1", profile) == (CHANNEL, "@chan1")
    assert outcome("v.example/feed", profile)[0] is Reason.UNSUPPORTED_URL
    assert outcome("x.com/jack", profile)[0] is Reason.FOREIGN_URL


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"canonical_host": "v.other"}, "canonical host"),
        ({"hosts": frozenset({"v.example", "V.example2"})}, "lowercase"),
        ({"reserved_paths": frozenset({"Feed"})}, "lowercase"),
        ({"handle_pattern": r"([a-z]+)"}, "capture"),
        ({"handle_pattern": r"[a-z"}, "bad pattern"),
        ({"post_id_max_digits": 0}, "positive"),
    ],
)
def test_inconsistent_profiles_are_refused(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        video_profile(**changes)


# --- parse_csv --------------------------------------------------------------------------------


def test_csv_with_header_uses_the_named_column_and_counts_the_header_line() -> None:
    data = "note,Target,kind\nfirst,@jack,account\nsecond,x.com/bob/status/5,post\n"
    result = parse_csv(data)
    assert lines_of(result) == {2: "@jack", 3: "https://x.com/bob/status/5"}
    assert result.ok


@pytest.mark.parametrize("header", ["target", "HANDLE", "Url", "account", " link "])
def test_csv_header_names(header: str) -> None:
    assert lines_of(parse_csv(f"{header}\n@jack\n")) == {2: "@jack"}


def test_csv_without_header_reads_the_first_column_from_row_one() -> None:
    result = parse_csv("@jack,whatever\nx.com/bob,more\n")
    assert lines_of(result) == {1: "@jack", 2: "@bob"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # "account" is also a kind: a first row that merely says so is data.
        ("@jack,account\n@bob,post\n", {1: "@jack", 2: "@bob"}),
        ("0,account\n", {1: "@0"}),
        # ... but it is a header name in the first column or beside a kind column.
        ("account\n@jack\n", {2: "@jack"}),
        ("Account,note\n@jack,x\n", {2: "@jack"}),
        ("note,account,kind\nx,@jack,account\n", {2: "@jack"}),
    ],
)
def test_csv_account_header_versus_account_kind(data: str, expected: dict[int, str]) -> None:
    assert lines_of(parse_csv(data)) == expected


def test_csv_bytes_with_bom() -> None:
    result = parse_csv(b"\xef\xbb\xbftarget\r\n@jack\r\nx.com/bob\r\n")
    assert lines_of(result) == {2: "@jack", 3: "@bob"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(delimiter: str) -> None:
    data = delimiter.join(["target", "kind"]) + "\n"
    data += delimiter.join(["@jack", "account"]) + "\n"
    data += delimiter.join(["x.com/bob/status/5", "post"]) + "\n"
    assert lines_of(parse_csv(data)) == {2: "@jack", 3: "https://x.com/bob/status/5"}


def test_csv_a_comma_inside_a_cell_does_not_fool_the_sniffer() -> None:
    data = "target;note\n@a;hello, world\n@b;fine\n@c;also fine\n"
    assert lines_of(parse_csv(data)) == {2: "@a", 3: "@b", 4: "@c"}


def test_csv_kind_column_mismatch_and_unknown_kind() -> None:
    data = "target,kind\n@jack,post\nx.com/bob/status/1,Post\n@carol,tweet\n@dave,\n"
    result = parse_csv(data)
    assert lines_of(result) == {
        2: "kind_mismatch",
        3: "https://x.com/bob/status/1",
        4: "kind_mismatch",
        5: "@dave",
    }
    assert "'tweet'" in result.rejected[1].message


def test_csv_line_numbers_follow_physical_lines_through_quoted_newlines() -> None:
    data = 'target,note\n@jack,"two\nlines"\n"@ja\nck",x\n@bob,y\n'
    result = parse_csv(data)
    assert lines_of(result) == {2: "@jack", 4: "control_characters", 6: "@bob"}


def test_csv_trailing_empty_rows_are_ignored_interior_ones_reported() -> None:
    result = parse_csv("target,kind\n@jack,\n,\n@bob,\n,\n\n")
    assert lines_of(result) == {2: "@jack", 3: "empty", 4: "@bob"}


def test_csv_duplicates_and_telegram_profile() -> None:
    result = parse_csv("link\nt.me/durov\n@Durov\n", TELEGRAM_PROFILE)
    [duplicate] = result.rejected
    assert (duplicate.line, duplicate.duplicate_of) == (3, 2)


def test_csv_empty_file() -> None:
    assert parse_csv(b"") == IntakeResult([], [])
    assert parse_csv("target\n") == IntakeResult([], [])


def test_csv_undecodable_bytes_name_the_line_and_offset() -> None:
    with pytest.raises(IntakeFileError) as caught:
        parse_csv(b"target\n@jack\n@b\xffob\n")
    message = str(caught.value)
    assert "byte 0xff" in message
    assert "byte offset 15" in message
    assert "line 3" in message


def test_csv_offsets_count_the_bom() -> None:
    with pytest.raises(IntakeFileError, match="byte offset 4 "):
        parse_csv(b"\xef\xbb\xbf@\xc3")


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ("target\n@jack\n".encode("utf-16"), "UTF-16"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
        (b"target\n@ja\x00ck\n", "NUL"),
        ("target\n@ja\x00ck\n", "NUL"),
    ],
)
def test_csv_files_that_are_not_csv_text(data: bytes | str, complaint: str) -> None:
    with pytest.raises(IntakeFileError, match=complaint):
        parse_csv(data)


def test_csv_field_over_the_csv_module_limit_is_a_file_error() -> None:
    # An unbalanced quote swallows the rest of the file into one field.
    with pytest.raises(IntakeFileError, match="line 2"):
        parse_csv('target\n"@jack\n' + "@a\n" * 70_000)


# --- properties -------------------------------------------------------------------------------

x_handles = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True)
telegram_names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,31}", fullmatch=True)
invite_codes = st.from_regex(r"[A-Za-z0-9_-]{16,22}", fullmatch=True).filter(
    lambda code: not code.isdigit()
)
post_ids = st.integers(min_value=1, max_value=10**20 - 1)
schemes = st.sampled_from(["", "http://", "https://", "HTTPS://", "//"])
url_tails = st.sampled_from(["", "/", "?lang=en", "/?s=20", "#top"])
padding = st.sampled_from(["", " ", "\t", "\u200b", "\u00a0", "\ufeff"])


def random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def x_targets(draw: st.DrawFn) -> tuple[str, ItemKind, str]:
    """A valid X-profile line in some spelling, with the (kind, target) it must give."""
    handle = draw(x_handles)
    form = draw(st.sampled_from(["bare", "at", "profile", "post"]))
    if form in ("bare", "at"):
        text = ("@" if form == "at" else "") + handle
        return draw(padding) + text + draw(padding), ACCOUNT, "@" + handle.lower()
    assume(handle.lower() not in X_PROFILE.reserved_paths)
    host = random_case(draw, draw(st.sampled_from(sorted(X_PROFILE.hosts))))
    prefix = draw(schemes) + host + "/" + handle
    if form == "profile":
        return prefix + draw(url_tails), ACCOUNT, "@" + handle.lower()
    post_id = draw(post_ids)
    zeros = "0" * draw(st.integers(0, 20 - len(str(post_id))))
    segment = random_case(draw, draw(st.sampled_from(["status", "statuses"])))
    suffix = draw(st.sampled_from(["", "/photo/1", "/video/2"]))
    text = f"{prefix}/{segment}/{zeros}{post_id}{suffix}{draw(url_tails)}"
    return text, POST, f"https://x.com/{handle.lower()}/status/{post_id}"


@st.composite
def telegram_targets(draw: st.DrawFn) -> tuple[str, ItemKind, str]:
    """A valid Telegram-profile line in some spelling, with the (kind, target) it must give."""
    name = draw(telegram_names)
    form = draw(st.sampled_from(["bare", "at", "channel", "preview", "post", "invite"]))
    host = random_case(draw, draw(st.sampled_from(sorted(TELEGRAM_PROFILE.hosts))))
    base = draw(schemes) + host + "/"
    if form == "invite":
        code = draw(invite_codes)
        path = draw(st.sampled_from(["+", "joinchat/", "JoinChat/"])) + code
        return base + path + draw(url_tails), CHANNEL, "https://t.me/+" + code
    if form in ("bare", "at"):
        text = ("@" if form == "at" else "") + name
        return draw(padding) + text + draw(padding), CHANNEL, "@" + name.lower()
    assume(name.lower() not in TELEGRAM_PROFILE.reserved_paths | {"joinchat"})
    if form == "channel":
        return base + name + draw(url_tails), CHANNEL, "@" + name.lower()
    if form == "preview":
        return base + "s/" + name + draw(url_tails), CHANNEL, "@" + name.lower()
    post_id = draw(post_ids)
    return (
        f"{base}{name}/{post_id}{draw(url_tails)}",
        POST,
        f"https://t.me/{name.lower()}/{post_id}",
    )


# Fragments of links, shuffled: reaches the corners of the URL grammar that st.text() won't.
link_soup = st.lists(
    st.sampled_from(
        [
            "https://",
            "http:",
            "//",
            "/",
            "x.com",
            "twitter.com",
            "t.me",
            "www.",
            "JACK",
            "jack",
            "durov",
            "status",
            "statuses",
            "i",
            "web",
            "s",
            "+",
            "joinchat",
            "123",
            "0",
            "@",
            "?",
            "#",
            ":",
            "443",
            ".",
            "AbCdEf_-12345678",
            "photo",
            "video",
            "media",
            "likes",
            "JoinChat",
            "home",
            " ",
            "\u00e4",
            "\u200b",
            "\x00",
            "\\",
            "-",
            "_",
        ]
    ),
    max_size=12,
).map("".join)

any_text = st.one_of(st.text(), link_soup)


def first(case: tuple[str, ItemKind, str]) -> str:
    return case[0]


both_profiles = pytest.mark.parametrize(
    "profile", [X_PROFILE, TELEGRAM_PROFILE], ids=["x", "telegram"]
)


@PROPERTY
@given(case=x_targets())
def test_generated_x_targets_are_accepted(case: tuple[str, ItemKind, str]) -> None:
    text, kind, target = case
    assert normalise(text, X_PROFILE) == (kind, target)
    assert normalise(target, X_PROFILE) == (kind, target)


@PROPERTY
@given(case=telegram_targets())
def test_generated_telegram_targets_are_accepted(case: tuple[str, ItemKind, str]) -> None:
    text, kind, target = case
    assert normalise(text, TELEGRAM_PROFILE) == (kind, target)
    assert normalise(target, TELEGRAM_PROFILE) == (kind, target)


@both_profiles
@PROPERTY
@given(text=any_text)
def test_normalise_is_idempotent(profile: PlatformProfile, text: str) -> None:
    try:
        kind, target = normalise(text, profile)
    except TargetError as exc:
        assert isinstance(exc.reason, Reason)
        return
    assert normalise(target, profile) == (kind, target)
    assert target.isascii() and target == target.strip()


@both_profiles
@PROPERTY
@given(text=st.one_of(any_text, x_targets().map(first), telegram_targets().map(first)))
def test_fast_path_agrees_with_the_general_parser(profile: PlatformProfile, text: str) -> None:
    stripped = text.strip(intake._STRIP)
    assume(stripped and len(stripped) <= MAX_LINE_LENGTH)
    assert outcome(text, profile) == intake._classify(stripped, profile)


@both_profiles
@PROPERTY
@given(text=st.text())
def test_parse_text_never_raises_and_accepts_what_normalise_accepts(
    profile: PlatformProfile, text: str
) -> None:
    result = parse_text(text, profile)
    for target in result.accepted:
        assert normalise(target.raw, profile) == (target.kind, target.target)
    assert [r.line for r in result.rejected] == sorted(r.line for r in result.rejected)


@PROPERTY
@given(
    lines=st.lists(st.one_of(st.text(st.characters(exclude_characters="\r\n")), link_soup)),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    trailing=st.booleans(),
)
def test_every_line_is_accepted_or_rejected_once(
    lines: list[str], newline: str, trailing: bool
) -> None:
    if lines:
        lines[0] = lines[0].lstrip("\ufeff")  # a leading BOM is not text; tested elsewhere
    text = newline.join(lines) + (newline if trailing and lines else "")
    result = parse_text(text)
    # Without a final newline, an empty last line is indistinguishable from a trailing newline.
    expected = len(lines) - (1 if lines and lines[-1] == "" and not trailing else 0)
    assert len(result.accepted) + len(result.rejected) == expected
    numbers = [t.line for t in result.accepted] + [r.line for r in result.rejected]
    assert sorted(numbers) == list(range(1, expected + 1))


@PROPERTY
@given(data=st.binary())
def test_parse_csv_bytes_never_raise_anything_but_intake_file_error(data: bytes) -> None:
    try:
        result = parse_csv(data)
    except IntakeFileError as exc:
        assert str(exc)
        return
    assert isinstance(result, IntakeResult)


@PROPERTY
@given(data=st.one_of(st.text(), link_soup))
def test_parse_csv_text_never_raises_anything_but_intake_file_error(data: str) -> None:
    try:
        parse_csv(data)
    except IntakeFileError:
        pass


@PROPERTY_FILES
@given(
    cases=st.lists(x_targets(), max_size=10, unique_by=lambda case: case[2]),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    header=st.booleans(),
)
def test_csv_written_by_the_csv_module_round_trips(
    cases: list[tuple[str, ItemKind, str]], delimiter: str, header: bool
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    if header:
        writer.writerow(["Target", "kind"])
    writer.writerows([text, kind.value] for text, kind, _ in cases)
    result = parse_csv(out.getvalue().encode())
    first = 2 if header else 1
    assert [(t.line, t.kind, t.target) for t in result.accepted] == [
        (first + i, kind, target) for i, (_, kind, target) in enumerate(cases)
    ]
    assert result.rejected == []


# --- add_file_to_list --------------------------------------------------------------------

def test_a_file_is_added_after_the_pasted_lines_and_numbered_as_list_lines():
    merged = intake.add_file_to_list("@typed\n@also\n", b"target\n@a\nx.com/b\n", limit=10)
    assert merged.text == "@typed\n@also\n@a\nx.com/b"
    assert (merged.added, merged.first_line, merged.dropped) == (2, 3, [])
    # The parser reads the merged list with the file's rows on the lines announced.
    assert [t.line for t in parse_text(merged.text).accepted] == [1, 2, 3, 4]


def test_a_file_alone_starts_at_line_one_and_keeps_its_rejected_rows_in_order():
    merged = intake.add_file_to_list("  \n", b"@a\n@bad handle\n@c\n", limit=10)
    assert merged.text == "@a\n@bad handle\n@c" and merged.first_line == 1
    result = parse_text(merged.text)
    assert [r.line for r in result.rejected] == [2]


def test_rows_that_contradict_their_kind_column_are_left_out_and_listed():
    data = b"target,kind\n@a,account\nx.com/a/status/1,account\n@c,account\n"
    merged = intake.add_file_to_list("", data, limit=10)
    assert merged.text == "@a\n@c" and merged.added == 2
    assert [(r.line, r.reason) for r in merged.dropped] == [(3, Reason.KIND_MISMATCH)]


def test_a_quoted_line_break_inside_a_cell_stays_one_line():
    merged = intake.add_file_to_list("", b'target\n"@a\nstill a"\n@b\n', limit=10)
    assert merged.text == "@a still a\n@b"


@pytest.mark.parametrize(("rows", "unread"), [(11, False), (10 * 2 + 101, True)])
def test_a_file_over_the_limit_is_refused(rows, unread):
    data = "".join(f"@user{n}\n" for n in range(rows)).encode()
    with pytest.raises(intake.TooManyRows) as refused:
        intake.add_file_to_list("@typed", data, limit=10)
    assert refused.value.limit == 10
    assert refused.value.count == (None if unread else rows)


def test_a_file_that_is_not_text_is_refused_as_such():
    with pytest.raises(IntakeFileError):
        intake.add_file_to_list("", b"\xff\xfe\x00\x00binary", limit=10)


def test_an_empty_file_adds_nothing():
    merged = intake.add_file_to_list("@typed\n", b"", limit=10)
    assert (merged.text, merged.added, merged.dropped) == ("@typed\n", 0, [])


@pytest.mark.parametrize(("text", "lines"), [
    ("", 0), ("@a", 1), ("@a\n", 1), ("@a\r\n@b", 2), ("@a\r@b\r", 2), ("\n\n", 2),
])
def test_line_count_numbers_lines_as_the_parser_does(text, lines):
    assert intake.line_count(text) == lines
