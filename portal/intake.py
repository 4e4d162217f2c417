"""Parse and normalise the target lists that agencies file: accounts, posts and channels.

This is the one place that decides what a target line means. Forms, the CSV upload and the
API all call :func:`parse_text`, :func:`parse_csv` or :func:`parse_entries`, so the same
line gets the same verdict everywhere. Pure Python: no Flask, no database.

A platform's names and links are described by a :class:`PlatformProfile` (data only), so a
further platform is usually one more profile, not more code.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import count, repeat

__all__ = [
    "DEFAULT_PROFILE",
    "MAX_LINE_LENGTH",
    "PlatformSet",
    "PROFILES",
    "TELEGRAM_PROFILE",
    "X_PROFILE",
    "IntakeFileError",
    "IntakeResult",
    "ItemKind",
    "PlatformProfile",
    "Reason",
    "Rejection",
    "Target",
    "TargetError",
    "normalise",
    "parse_csv",
    "parse_entries",
    "parse_text",
    "platform_of",
]

#: Longest target line accepted, in characters (after stripping).
MAX_LINE_LENGTH = 512

# A rejected line is kept for display; a pasted essay should not be.
_DISPLAY_LENGTH = 200
# Inside a sentence a shorter quote keeps the message readable.
_QUOTE_LENGTH = 80


class ItemKind(StrEnum):
    """What a target is. The values are stored in the database."""

    ACCOUNT = "account"
    POST = "post"
    CHANNEL = "channel"


class Reason(StrEnum):
    """Why a line was rejected. Stable codes: the API returns them, the web layer translates."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    FOREIGN_URL = "foreign_url"
    UNSUPPORTED_URL = "unsupported_url"
    MALFORMED_HANDLE = "malformed_handle"
    MALFORMED_URL = "malformed_url"
    CONTROL_CHARACTERS = "control_characters"
    KIND_MISMATCH = "kind_mismatch"
    DUPLICATE = "duplicate"


_KINDS: dict[str, ItemKind] = {kind.value: kind for kind in ItemKind}
_KIND_PHRASES: dict[ItemKind, str] = {
    ItemKind.ACCOUNT: "an account",
    ItemKind.POST: "a post",
    ItemKind.CHANNEL: "a channel",
}


@dataclass(frozen=True)
class PlatformProfile:
    """How one platform spells its accounts, posts and channels.

    Path segment names (``reserved_paths``, ``post_segment`` ...) must be lowercase: links
    are compared with them lowercased.
    ``handle_pattern`` must match whole handles only (it is used with ``fullmatch``), must
    not match dots (so a host name is never taken for a handle) and must accept both
    letter cases alike: handles are compared by lowercasing them, and the fast path
    matches the pattern against the lowercased line.

    Raises:
        ValueError: on construction, if the profile contradicts itself (for example the
            canonical host is not one of the hosts, or a pattern does not compile).
    """

    name: str
    code: str
    hosts: frozenset[str]
    canonical_host: str
    handle_pattern: str
    #: Human description of ``handle_pattern`` for error messages.
    handle_rule: str
    #: What a bare ``name``, ``@name`` or ``host/name`` means.
    bare_kind: ItemKind
    #: First path segments that are site pages, not handles.
    reserved_paths: frozenset[str]
    #: ``host/<handle>/<post_segment>/<id>`` is a post; ``None``: ``host/<handle>/<id>`` is.
    post_segment: str | None
    #: Other spellings of ``post_segment`` (normalised to ``post_segment``).
    post_segment_aliases: frozenset[str] = frozenset()
    #: Segments allowed after a post id that still mean the post (``/photo/1``).
    post_suffixes: frozenset[str] = frozenset()
    #: Segments allowed after a handle that still mean the account (``/media``).
    account_subpaths: frozenset[str] = frozenset()
    #: First segments that are another view of what follows (``t.me/s/<name>``).
    alias_prefixes: frozenset[str] = frozenset()
    #: Post links without a handle (``x.com/i/web/status/<id>``); the first is canonical.
    handleless_post_paths: tuple[tuple[str, ...], ...] = ()
    #: ``host/<prefix><code>`` is a channel invite (``t.me/+<code>``).
    invite_prefix: str | None = None
    #: ``host/<segment>/<code>`` is a channel invite (``t.me/joinchat/<code>``).
    invite_segments: frozenset[str] = frozenset()
    #: Syntax of an invite code; codes are case-sensitive and kept as given.
    invite_pattern: str = r"[A-Za-z0-9_-]{8,64}"
    post_id_max_digits: int = 20

    _handle_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _invite_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _fast_url_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _fast_bare_re: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _fast_invite_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _not_handles: frozenset[str] = field(init=False, repr=False, compare=False)
    _post_segments: frozenset[str] = field(init=False, repr=False, compare=False)
    _post_prefix: str = field(init=False, repr=False, compare=False)
    _post_infix: str = field(init=False, repr=False, compare=False)
    _invite_base: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.canonical_host not in self.hosts:
            raise ValueError(f"canonical host {self.canonical_host!r} is not in hosts")
        if any(host != host.lower() for host in self.hosts):
            raise ValueError("hosts must be lowercase")
        segment_names = (
            self.reserved_paths
            | self.post_segment_aliases
            | self.post_suffixes
            | self.account_subpaths
            | self.alias_prefixes
            | self.invite_segments
            | {segment for path in self.handleless_post_paths for segment in path}
            | {self.post_segment or ""}
        )
        if any(segment != segment.lower() for segment in segment_names):
            raise ValueError("path segment names must be lowercase")
        if self.post_id_max_digits < 1:
            raise ValueError("post_id_max_digits must be positive")
        try:
            handle_re = re.compile(self.handle_pattern)
            invite_re = re.compile(self.invite_pattern)
        except re.error as exc:
            raise ValueError(f"profile {self.code!r}: bad pattern: {exc}") from exc
        if handle_re.groups:
            # The fast path reads its groups by position.
            raise ValueError("handle_pattern must not capture: use (?:...) groups")
        post_segments = self.post_segment_aliases
        if self.post_segment is not None:
            post_segments |= {self.post_segment}
        invite_base = ""
        if self.invite_prefix:
            invite_base = f"https://{self.canonical_host}/{self.invite_prefix}"
        elif self.invite_segments:
            invite_base = f"https://{self.canonical_host}/{min(self.invite_segments)}/"
        infix = f"/{self.post_segment}/" if self.post_segment else "/"
        # Frozen dataclass: derived fields are set once, here, and never change.
        set_ = object.__setattr__
        set_(self, "_handle_re", handle_re)
        set_(self, "_invite_re", invite_re)
        set_(self, "_post_segments", post_segments)
        set_(self, "_post_prefix", f"https://{self.canonical_host}/")
        set_(self, "_post_infix", infix)
        set_(self, "_invite_base", invite_base)
        set_(
            self,
            "_not_handles",
            self.reserved_paths
            | self.alias_prefixes
            | self.invite_segments
            | {path[0] for path in self.handleless_post_paths if path},
        )
        self._compile_fast_paths(post_segments)

    def page_url(self, target: str) -> str | None:
        """The platform's page for a normalised target (``@name`` or a canonical URL of
        this profile); ``None`` for anything else, so no link goes elsewhere."""
        if target.startswith("@"):
            handle = target[1:]
            if self._handle_re.fullmatch(handle) is None:
                return None
            return f"https://{self.canonical_host}/{handle}"
        if target.startswith(f"https://{self.canonical_host}/"):
            return target
        return None

    def post_url(self, handle: str, post_id: int) -> str:
        """The canonical link of a post (as the parser normalises it)."""
        return f"{self._post_prefix}{handle.lower()}{self._post_infix}{post_id}"

    def _compile_fast_paths(self, post_segments: frozenset[str]) -> None:
        """Compile the fast path: regexes for the well-formed spellings of valid targets.

        The bare-handle and URL regexes run on the lowercased line, the invite regex on
        the line as given (codes are case-sensitive); all only on printable ASCII lines
        (control characters and NFC are the general parser's job). A line they do not
        match, or match with a reserved path, goes to the general parser, which reads every
        form and explains rejections. They exist because the general parser costs several
        times more per line, and pasted lists run to thousands of lines.
        """
        hosts = _alternatives(self.hosts)
        handle = f"(?:{self.handle_pattern})"
        site = rf"(?:https?:/*|//)?(?:{hosts})\.?(?::[0-9]{{1,5}})?/+"
        post = rf"([0-9]{{1,{self.post_id_max_digits}}})"
        if post_segments:
            post = rf"/+(?:{_alternatives(post_segments)})/+{post}"
        else:
            post = rf"/+{post}"
        if self.post_suffixes:
            post += rf"(?:/+(?:{_alternatives(self.post_suffixes)})(?:/[^?#]*)?)?"
        tails = post
        if self.account_subpaths:
            tails += rf"|/+(?:{_alternatives(self.account_subpaths)})(?:/[^?#]*)?"
        alias = rf"(?:(?:{_alternatives(self.alias_prefixes)})/+)?" if self.alias_prefixes else ""
        query = r"/*(?:[?#].*)?"
        # Groups: (handle, post id or None); handle_pattern itself captures nothing.
        url = re.compile(rf"{site}{alias}@?({handle})(?:{tails})?{query}", re.DOTALL)
        invite = None
        if self.invite_prefix or self.invite_segments:
            starts = [re.escape(self.invite_prefix)] if self.invite_prefix else []
            if self.invite_segments:
                starts.append(rf"(?:{_alternatives(self.invite_segments)})/+")
            start = "|".join(starts)
            invite = re.compile(rf"(?i:{site}(?:{start}))({self.invite_pattern}){query}", re.DOTALL)
        object.__setattr__(self, "_fast_url_re", url)
        object.__setattr__(self, "_fast_bare_re", re.compile(f"@?{handle}"))
        object.__setattr__(self, "_fast_invite_re", invite)


def _alternatives(words: Iterable[str]) -> str:
    """A regex alternation of literal words, longest first."""
    return "|".join(re.escape(word) for word in sorted(words, key=lambda w: (-len(w), w)))


#: The default platform: an X-like microblog.
X_PROFILE = PlatformProfile(
    name="X-like microblog",
    code="x",
    hosts=frozenset(
        {
            "x.com",
            "www.x.com",
            "mobile.x.com",
            "twitter.com",
            "www.twitter.com",
            "mobile.twitter.com",
        }
    ),
    canonical_host="x.com",
    handle_pattern=r"[A-Za-z0-9_]{1,15}",
    handle_rule="1 to 15 letters (A-Z), digits or underscores",
    bare_kind=ItemKind.ACCOUNT,
    reserved_paths=frozenset(
        {
            "about",
            "account",
            "bookmarks",
            "communities",
            "compose",
            "download",
            "explore",
            "following",
            "followers",
            "hashtag",
            "home",
            "i",
            "intent",
            "jobs",
            "lists",
            "login",
            "logout",
            "messages",
            "notifications",
            "premium",
            "privacy",
            "rules",
            "search",
            "settings",
            "share",
            "signup",
            "topics",
            "tos",
        }
    ),
    post_segment="status",
    post_segment_aliases=frozenset({"statuses"}),
    post_suffixes=frozenset(
        {"analytics", "history", "likes", "photo", "quotes", "retweets", "video"}
    ),
    account_subpaths=frozenset(
        {
            "affiliates",
            "articles",
            "followers",
            "followers_you_follow",
            "following",
            "header_photo",
            "highlights",
            "likes",
            "lists",
            "media",
            "photo",
            "verified_followers",
            "with_replies",
        }
    ),
    handleless_post_paths=(("i", "web", "status"), ("i", "status")),
)

#: A Telegram-like messenger: public names are channels, ``+code`` links are invites.
TELEGRAM_PROFILE = PlatformProfile(
    name="Telegram-like messenger",
    code="telegram",
    hosts=frozenset(
        {
            "t.me",
            "www.t.me",
            "telegram.me",
            "www.telegram.me",
            "telegram.dog",
            "www.telegram.dog",
        }
    ),
    canonical_host="t.me",
    handle_pattern=r"[A-Za-z][A-Za-z0-9_]{4,31}",
    handle_rule="5 to 32 letters (A-Z), digits or underscores, starting with a letter",
    bare_kind=ItemKind.CHANNEL,
    reserved_paths=frozenset(
        {
            "a",
            "addemoji",
            "addlist",
            "addstickers",
            "addtheme",
            "bg",
            "boost",
            "c",
            "confirmphone",
            "contact",
            "giftcode",
            "invoice",
            "iv",
            "k",
            "login",
            "m",
            "nft",
            "proxy",
            "setlanguage",
            "share",
            "socks",
            "z",
        }
    ),
    post_segment=None,
    alias_prefixes=frozenset({"s"}),
    invite_prefix="+",
    invite_segments=frozenset({"joinchat"}),
)

PROFILES: dict[str, PlatformProfile] = {
    X_PROFILE.code: X_PROFILE,
    TELEGRAM_PROFILE.code: TELEGRAM_PROFILE,
}
DEFAULT_PROFILE = X_PROFILE

# The host of a link, read loosely (lowercased line): enough to pick the profile that
# then parses the line properly and explains any fault.
_ROUTE_HOST_RE = re.compile(
    r"(?:https?:/*|//)?(?:www\.)?([a-z0-9.-]+?)\.?(?::[0-9]*)?(?:[/?#\\]|$)")


@dataclass(frozen=True)
class PlatformSet:
    """The platforms one portal takes side by side, and the one bare handles belong to.

    A link is read by the profile whose hosts include its host (``x.com`` and
    ``twitter.com`` by the X-like profile, ``t.me`` by the Telegram-like one); a bare
    ``@name``, and a link of a host no profile here knows, by ``default`` (which then
    explains why it refuses the link).

    Raises:
        ValueError: on construction, if the set is empty, ``default`` is not in it, or two
            profiles share a host or a code.
    """

    profiles: tuple[PlatformProfile, ...]
    default: PlatformProfile
    _by_host: dict[str, PlatformProfile] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.profiles:
            raise ValueError("a platform set needs at least one profile")
        if self.default not in self.profiles:
            raise ValueError(f"the default profile {self.default.code!r} is not in the set")
        if len({p.code for p in self.profiles}) != len(self.profiles):
            raise ValueError("two profiles share a code")
        by_host: dict[str, PlatformProfile] = {}
        for profile in self.profiles:
            for host in profile.hosts:
                host = host.removeprefix("www.")
                if by_host.get(host, profile) is not profile:
                    raise ValueError(f"host {host!r} belongs to two profiles")
                by_host[host] = profile
        object.__setattr__(self, "_by_host", by_host)

    @classmethod
    def of(cls, codes: Iterable[str], default: str | None = None) -> PlatformSet:
        """The set of the profiles named by ``codes`` (keys of :data:`PROFILES`); the
        default is ``default`` or the first code.

        Raises:
            ValueError: a code names no profile, or ``default`` is not among ``codes``.
        """
        names = list(dict.fromkeys(codes))
        unknown = [code for code in names if code not in PROFILES]
        if unknown or not names:
            raise ValueError(f"unknown platform profile(s): {', '.join(unknown) or '(none)'}; "
                             f"known: {', '.join(PROFILES)}")
        chosen = default or names[0]
        if chosen not in names:
            raise ValueError(f"the default platform {chosen!r} is not among {names}")
        return cls(tuple(PROFILES[code] for code in names), PROFILES[chosen])

    def get(self, code: str | None) -> PlatformProfile:
        """The profile with this code; the default for ``None``, ``""`` or one not here."""
        for profile in self.profiles:
            if profile.code == code:
                return profile
        return self.default

    def with_default(self, code: str | None) -> PlatformSet:
        """The same set with bare handles read as ``code``'s (unchanged for ``None``).

        Raises:
            ValueError: ``code`` is not a profile of this set.
        """
        if not code or code == self.default.code:
            return self
        if code not in {p.code for p in self.profiles}:
            raise ValueError(f"the platform {code!r} is not one of "
                             f"{', '.join(p.code for p in self.profiles)}")
        return PlatformSet(self.profiles, self.get(code))

    def profile_for(self, text: str) -> PlatformProfile:
        """The profile that reads ``text``: its link's host's, else the default."""
        if "." not in text or text[:1] == "@":
            return self.default
        match = _ROUTE_HOST_RE.match(text.strip(_STRIP).lower())
        if match is None:
            return self.default
        return self._by_host.get(match[1], self.default)


#: What the parsers take: one profile, or several side by side.
Platforms = PlatformProfile | PlatformSet


@dataclass(frozen=True, slots=True)
class Target:
    """One accepted target."""

    #: 1-based line number (or 1-based item index for API input).
    line: int
    #: The text as given, stripped.
    raw: str
    kind: ItemKind
    #: The normalised form: ``@handle``, or a canonical post or invite URL.
    target: str
    #: The code of the platform profile the target belongs to (``x``, ``telegram``).
    platform: str = ""


@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected line, with a stable reason code and an English explanation."""

    line: int
    #: The text as given, stripped (shortened if very long).
    raw: str
    reason: Reason
    #: For ``DUPLICATE``: the line of the accepted first occurrence.
    duplicate_of: int | None = None
    #: The specific English sentence (without the line number).
    detail: str = ""
    #: For a ``DUPLICATE`` of a name on another platform: that platform's code.
    other_platform: str | None = None

    @property
    def message(self) -> str:
        """A specific English sentence, starting with the line number."""
        detail = self.detail
        if not detail:
            if self.reason is Reason.DUPLICATE and self.duplicate_of is not None:
                detail = f"duplicate of line {self.duplicate_of}"
            else:
                detail = _GENERIC_DETAILS[self.reason]
        return f"line {self.line}: {detail}"


# The slots' own setters, to build a Target in bulk without its frozen __init__.
_TARGET_SLOT_SETTERS = tuple(
    vars(Target)[name].__set__ for name in ("line", "raw", "kind", "target", "platform")
)

_GENERIC_DETAILS: dict[Reason, str] = {
    Reason.EMPTY: "the line is empty",
    Reason.TOO_LONG: "the line is too long",
    Reason.FOREIGN_URL: "not a URL of this platform",
    Reason.UNSUPPORTED_URL: "a URL of this platform but not an account, post or channel",
    Reason.MALFORMED_HANDLE: "not a valid handle",
    Reason.MALFORMED_URL: "not a valid URL",
    Reason.CONTROL_CHARACTERS: "contains invisible or control characters",
    Reason.KIND_MISMATCH: "not the kind of target the list says",
    Reason.DUPLICATE: "duplicate of an earlier line",
}


@dataclass
class IntakeResult:
    """What a list parsed into: accepted targets and rejected lines (sorted by line)."""

    accepted: list[Target]
    rejected: list[Rejection]

    @property
    def ok(self) -> bool:
        """True when nothing was rejected and at least one target was accepted."""
        return not self.rejected and bool(self.accepted)


class TargetError(ValueError):
    """One target cannot be used; ``reason`` is the stable code, ``detail`` the sentence."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class IntakeFileError(ValueError):
    """An uploaded file as a whole cannot be read (bad encoding, not a CSV text file)."""


# Characters that hide in copied text around a target: every Unicode whitespace plus
# zero-width and direction marks (copying from right-to-left text adds U+200E/U+200F).
_INVISIBLE_EDGES = (
    "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)
_STRIP = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + _INVISIBLE_EDGES
# Inside a target these are never meant: they make two equal-looking targets differ.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_ASCII_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

_SCHEME_RE = re.compile(r"(?:(?i:https?):/*|(?P<other>[A-Za-z][A-Za-z0-9+.\-]*)://|//)")
# A scheme-less URL starts with a host name whose last label starts with a letter.
_HOSTLIKE_RE = re.compile(
    r"(?P<host>[\w-]+(?:\.[\w-]+)*\.[^\W\d_][\w-]*)\.?(?::[0-9]*)?(?=[/?#\\]|\Z)"
)
_AUTHORITY_RE = re.compile(r"(?P<authority>[^/?#\\]*)(?P<path>[^?#]*)")
_HOSTNAME_RE = re.compile(r"[\w-]+(?:\.[\w-]+)+")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_DIGITS_RE = re.compile(r"[0-9]+")


def _quote(text: str) -> str:
    """Quote user text for a message: shortened, with invisible characters made visible."""
    if len(text) > _QUOTE_LENGTH:
        text = text[: _QUOTE_LENGTH - 1] + "\u2026"
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    return f"'{text}'"


def _display(text: str) -> str:
    return text if len(text) <= _DISPLAY_LENGTH else text[: _DISPLAY_LENGTH - 1] + "\u2026"


def _first_invisible(text: str) -> str | None:
    if text.isprintable():
        return None
    if text.isascii():
        match = _ASCII_CONTROL_RE.search(text)
        return match.group() if match else None
    for char in text:
        if unicodedata.category(char) in _INVISIBLE_CATEGORIES:
            return char
    return None


# An outcome of the general parser: (kind, target) or (reason, English detail). Returned,
# not raised: a rejected line then costs a third as much, and pasted lists can be long.
_Outcome = tuple[ItemKind | Reason, str]


def normalise(
    text: str, profile: Platforms = DEFAULT_PROFILE, *, max_length: int = MAX_LINE_LENGTH
) -> tuple[ItemKind, str]:
    """Return ``(kind, normalised target)`` for one target.

    The normalised form is ``@handle`` (lowercase) for accounts and named channels and a
    canonical URL for posts and invites; normalising it again returns it unchanged.
    Surrounding whitespace and invisible characters are ignored; ``max_length`` applies
    to what is left.

    Raises:
        TargetError: if the text is not a target of ``profile``; ``reason`` says why.
        ValueError: if ``max_length`` is less than 1.
    """
    # One code path for one target and for ten thousand: parse_entries.
    result = parse_entries([(1, text, None)], profile, max_length=max_length)
    if result.rejected:
        rejection = result.rejected[0]
        raise TargetError(rejection.reason, rejection.detail)
    target = result.accepted[0]
    return target.kind, target.target


def _too_long(length: int, max_length: int) -> str:
    return f"the line is {length} characters long; at most {max_length} are allowed"


def _classify(text: str, profile: PlatformProfile) -> _Outcome:
    """The general parser: every form, and a specific reason for every rejection.

    ``text`` is stripped, non-empty and not too long. Never raises.
    """
    invisible = _first_invisible(text)
    if invisible is not None:
        return (
            Reason.CONTROL_CHARACTERS,
            f"{_quote(text)} contains an invisible or control character (U+{ord(invisible):04X})",
        )
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    scheme = _SCHEME_RE.match(text)
    if scheme is not None:
        if scheme["other"] is not None:
            return _malformed(text, "only http and https links are accepted")
        return _classify_url(text, text[scheme.end() :], profile)
    host = _HOSTLIKE_RE.match(text)
    if host is not None and (
        host.end() < len(text)
        or host["host"].lower() in profile.hosts
        or text[:4].lower() == "www."
    ):
        return _classify_url(text, text, profile)
    handle = text[1:] if text.startswith("@") else text
    if profile._handle_re.fullmatch(handle) is None:
        return _bad_handle(text, profile)
    return profile.bare_kind, "@" + handle.lower()


def _bad_handle(text: str, profile: PlatformProfile) -> _Outcome:
    return Reason.MALFORMED_HANDLE, f"{_quote(text)} is not a valid handle: {profile.handle_rule}"


def _unsupported(text: str, profile: PlatformProfile) -> _Outcome:
    return (
        Reason.UNSUPPORTED_URL,
        f"{_quote(text)} is a URL of the {profile.name} but not an account, post or channel",
    )


def _malformed(text: str, why: str) -> _Outcome:
    return Reason.MALFORMED_URL, f"{_quote(text)} is not a valid URL: {why}"


def _classify_url(text: str, rest: str, profile: PlatformProfile) -> _Outcome:
    """Classify ``rest``, the URL ``text`` without its scheme, as a target of ``profile``."""
    parts = _AUTHORITY_RE.match(rest)
    assert parts is not None  # both groups can match empty, so this always matches
    authority = parts["authority"]
    if "@" in authority:
        return _malformed(text, "links with a user name or password are not accepted")
    host, colon, port = authority.partition(":")
    if colon and _PORT_RE.fullmatch(port) is None:
        return _malformed(text, "the port is not a number")
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if host not in profile.hosts:
        if _HOSTNAME_RE.fullmatch(host) is None:
            return _malformed(text, "the host name is not valid")
        return (
            Reason.FOREIGN_URL,
            f"{_quote(text)} is not a URL of the {profile.name} (host {host})",
        )
    # Browsers read a backslash in an http(s) path as a slash; so do we.
    segments = [s for s in parts["path"].replace("\\", "/").split("/") if s]
    lowered = [s.lower() for s in segments]
    if lowered and lowered[0] in profile.alias_prefixes and len(segments) > 1:
        segments, lowered = segments[1:], lowered[1:]
    if not segments:
        return _unsupported(text, profile)

    invite = _classify_invite(text, segments, lowered, profile)
    if invite is not None:
        return invite

    for path in profile.handleless_post_paths:
        if tuple(lowered[: len(path)]) == path:
            problem = _post_id_problem(text, segments, len(path), profile)
            if problem is not None:
                return problem
            canonical = "/".join(profile.handleless_post_paths[0])
            post_id = segments[len(path)].lstrip("0")
            return ItemKind.POST, f"https://{profile.canonical_host}/{canonical}/{post_id}"

    if lowered[0] in profile._not_handles:
        return _unsupported(text, profile)
    handle = segments[0][1:] if segments[0].startswith("@") else segments[0]
    if profile._handle_re.fullmatch(handle) is None:
        return _bad_handle(text, profile)
    handle = handle.lower()
    if len(segments) == 1:
        return profile.bare_kind, "@" + handle
    if profile.post_segment is None:
        at = 1
    elif lowered[1] in profile._post_segments:
        at = 2
    elif lowered[1] in profile.account_subpaths:
        return profile.bare_kind, "@" + handle
    else:
        return _unsupported(text, profile)
    problem = _post_id_problem(text, segments, at, profile)
    if problem is not None:
        return problem
    post_id = segments[at].lstrip("0")
    return ItemKind.POST, profile._post_prefix + handle + profile._post_infix + post_id


def _post_id_problem(
    text: str, segments: list[str], at: int, profile: PlatformProfile
) -> _Outcome | None:
    """What is wrong with the post id at ``segments[at]`` and what follows it, if anything."""
    if len(segments) <= at:
        return _malformed(text, "the post id is missing")
    raw_id = segments[at]
    if _DIGITS_RE.fullmatch(raw_id) is None or len(raw_id) > profile.post_id_max_digits:
        return _malformed(
            text, f"the post id must be a number of at most {profile.post_id_max_digits} digits"
        )
    if not raw_id.lstrip("0"):
        return _malformed(text, "the post id cannot be zero")
    if len(segments) > at + 1 and segments[at + 1].lower() not in profile.post_suffixes:
        return _unsupported(text, profile)
    return None


def _classify_invite(
    text: str, segments: list[str], lowered: list[str], profile: PlatformProfile
) -> _Outcome | None:
    """The outcome for an invite link, or ``None`` if the path is not one."""
    prefix = profile.invite_prefix
    if prefix and segments[0].startswith(prefix):
        code, extra = segments[0][len(prefix) :], segments[1:]
    elif lowered[0] in profile.invite_segments:
        if len(segments) < 2:
            return _malformed(text, "the invite code is missing")
        code, extra = segments[1], segments[2:]
    else:
        return None
    if extra:
        return _unsupported(text, profile)
    # t.me/+<digits> opens a chat with a phone number: a person, not a channel invite.
    if _DIGITS_RE.fullmatch(code):
        return _unsupported(text, profile)
    if profile._invite_re.fullmatch(code) is None:
        return _malformed(text, "the invite code is not valid")
    return ItemKind.CHANNEL, profile._invite_base + code


def parse_entries(
    entries: Iterable[tuple[int, str, ItemKind | None]],
    profile: Platforms = DEFAULT_PROFILE,
    *,
    max_length: int = MAX_LINE_LENGTH,
) -> IntakeResult:
    """Parse ``(line or index, text, expected kind or None)`` entries into an IntakeResult.

    Every bad entry becomes a :class:`Rejection`; a repeated target is rejected as a
    duplicate of the first accepted line. Used by the API (1-based item indexes), by
    :func:`normalise` and by :func:`parse_text` and :func:`parse_csv`. With a
    :class:`PlatformSet`, each entry is read by the profile its link's host names (bare
    handles by the set's default), and accepted targets keep their order.

    Raises:
        ValueError: if ``max_length`` is less than 1 (a programming error, not bad input).
    """
    if max_length < 1:
        raise ValueError("max_length must be at least 1")
    if isinstance(profile, PlatformProfile):
        return _parse_with(entries, profile, max_length)
    if len(profile.profiles) == 1:
        return _parse_with(entries, profile.default, max_length)
    # Each platform's entries go through its own parser; a target is a duplicate only of
    # one on the same platform, so no duplicate crosses groups and merging by position
    # gives what one pass would. Positions, not line numbers: API indexes may repeat
    # nothing, but they need not be sorted.
    listed = entries if isinstance(entries, list) else list(entries)
    route = profile.profile_for
    routes = [route(text) for _, text, _ in listed]
    if all(found is routes[0] for found in routes):
        # One platform after all (the usual list): one pass, nothing to merge.
        return _parse_with(listed, routes[0] if routes else profile.default, max_length)
    groups: dict[str, list[tuple[int, str, ItemKind | None]]] = {}
    order: dict[tuple[str, int], int] = {}
    for position, (entry, found) in enumerate(zip(listed, routes, strict=True)):
        groups.setdefault(found.code, []).append(entry)
        order[found.code, entry[0]] = position
    accepted: list[Target] = []
    rejected: list[Rejection] = []
    for code, group in groups.items():
        result = _parse_with(group, profile.get(code), max_length)
        accepted += result.accepted
        rejected += result.rejected
    if len(groups) > 1:
        accepted.sort(key=lambda t: order[t.platform, t.line])
        accepted = _one_platform_per_name(accepted, rejected, profile)
        rejected.sort(key=_by_line)
    return IntakeResult(accepted, rejected)


def _one_platform_per_name(accepted: list[Target], rejected: list[Rejection],
                           platforms: PlatformSet) -> list[Target]:
    """Keep the first of two targets on different platforms with the same normalised
    name (``@name`` of an account and of a channel); reject the later one.

    A request stores each name once (its items are unique by target), so the same name on
    two platforms needs two requests; the rejection says so.
    """
    first: dict[str, Target] = {}
    kept: list[Target] = []
    for target in accepted:
        earlier = first.get(target.target)
        if earlier is None:
            first[target.target] = target
            kept.append(target)
            continue
        detail = (f"{_quote(target.raw)} names the same {target.target} on the "
                  f"{platforms.get(target.platform).name} as line {earlier.line} does on the "
                  f"{platforms.get(earlier.platform).name}; one request takes one of them: "
                  "file the other in a request of its own")
        rejected.append(Rejection(target.line, _display(target.raw), Reason.DUPLICATE,
                                  earlier.line, detail, earlier.platform))
    return kept


def platform_of(kind: ItemKind | str, target: str) -> PlatformProfile | None:
    """The profile a stored ``(kind, normalised target)`` belongs to, or ``None``.

    A link names its platform by its host; a bare ``@name`` by its kind, as each profile
    reads bare names as a kind of its own (checked below, for :data:`PROFILES`).
    """
    if target.startswith("@"):
        return _BY_BARE_KIND.get(ItemKind(kind))
    for profile in PROFILES.values():
        if target.startswith(profile._post_prefix):
            return profile
    return None


_BY_BARE_KIND = {profile.bare_kind: profile for profile in PROFILES.values()}
# A stored item is (kind, target): the platform of a bare @name must follow from its kind.
if len(_BY_BARE_KIND) != len(PROFILES):
    raise RuntimeError("two platform profiles read bare names as the same kind")


def _parse_with(
    entries: Iterable[tuple[int, str, ItemKind | None]],
    profile: PlatformProfile,
    max_length: int,
) -> IntakeResult:
    """:func:`parse_entries` with one platform profile."""
    accepted: list[Target] = []
    rejected: list[Rejection] = []
    first_line: dict[str, int] = {}
    # Hoisted out of the loop: attribute look-ups are a fair share of a line's cost.
    strip, new, post = _STRIP, object.__new__, ItemKind.POST
    fast_url, fast_bare = profile._fast_url_re.fullmatch, profile._fast_bare_re.fullmatch
    bare_kind, not_handles = profile.bare_kind, profile._not_handles
    post_prefix, post_infix = profile._post_prefix, profile._post_infix
    fast_invite = profile._fast_invite_re.fullmatch if profile._fast_invite_re else None
    invite_base = profile._invite_base
    set_line, set_raw, set_kind, set_target, set_platform = _TARGET_SLOT_SETTERS
    platform = profile.code
    for line, text, expected in entries:
        stripped = text.strip(strip)
        if not stripped:
            rejected.append(Rejection(line, "", Reason.EMPTY, detail="the line is empty"))
            continue
        if len(stripped) > max_length:
            detail = _too_long(len(stripped), max_length)
            rejected.append(Rejection(line, _display(stripped), Reason.TOO_LONG, detail=detail))
            continue
        # The fast path (see PlatformProfile._compile_fast_paths) settles most lines; the
        # general parser gets the rest, including every line that is rejected.
        kind: ItemKind | None = None
        target = ""
        if stripped.isascii() and stripped.isprintable():
            low = stripped.lower()
            if "/" in low:
                match = fast_url(low)
                if match is not None:
                    handle, post_id = match.groups()
                    if handle not in not_handles:
                        if post_id is None:
                            kind, target = bare_kind, "@" + handle
                        else:
                            post_id = post_id.lstrip("0")
                            if post_id:
                                kind, target = post, post_prefix + handle + post_infix + post_id
                elif fast_invite is not None:
                    match = fast_invite(stripped)
                    # All digits: a phone-number link; the general parser says so.
                    if match is not None and not match[1].isdigit():
                        kind, target = ItemKind.CHANNEL, invite_base + match[1]
            elif fast_bare(low) is not None:
                kind, target = bare_kind, "@" + low.removeprefix("@")
        if kind is None:
            found, target = _classify(stripped, profile)
            if isinstance(found, Reason):
                rejected.append(Rejection(line, _display(stripped), found, detail=target))
                continue
            kind = found
        if expected is not None and expected != kind:
            detail = (
                f"{_quote(stripped)} is {_KIND_PHRASES[kind]}, "
                f"but the list says it is {_KIND_PHRASES[ItemKind(expected)]}"
            )
            rejected.append(Rejection(line, _display(stripped), Reason.KIND_MISMATCH, None, detail))
            continue
        if target in first_line:
            first = first_line[target]
            detail = f"duplicate of line {first}"
            rejected.append(Rejection(line, _display(stripped), Reason.DUPLICATE, first, detail))
            continue
        first_line[target] = line
        # Equal to Target(line, stripped, kind, target), without the frozen dataclass
        # __init__ and its four object.__setattr__ calls, which cost as much as the parse.
        item = new(Target)
        set_line(item, line)
        set_raw(item, stripped)
        set_kind(item, kind)
        set_target(item, target)
        set_platform(item, platform)
        accepted.append(item)
    rejected.sort(key=_by_line)
    return IntakeResult(accepted, rejected)


def _by_line(rejection: Rejection) -> int:
    return rejection.line


_LINE_BREAK_RE = re.compile(r"\r\n?|\n")


def parse_text(
    text: str, profile: Platforms = DEFAULT_PROFILE, *, max_length: int = MAX_LINE_LENGTH
) -> IntakeResult:
    """Parse pasted text, one target per line.

    Line numbers are 1-based physical lines (``\\n``, ``\\r\\n`` or ``\\r``). A single
    trailing line break does not make an empty last line; blank lines before it are
    rejected as ``EMPTY``. A leading byte order mark is dropped.

    Raises:
        ValueError: if ``max_length`` is less than 1.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text:
        return parse_entries((), profile, max_length=max_length)
    lines = _LINE_BREAK_RE.split(text) if "\r" in text else text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return parse_entries(zip(count(1), lines, repeat(None)), profile, max_length=max_length)


# Header names (lowercase) that mark the column holding the targets.
_TARGET_HEADERS = frozenset({"target", "handle", "url", "account", "link"})
_KIND_HEADER = "kind"
# Also a value of the kind column, so alone it does not make a row a header.
_AMBIGUOUS_HEADER = ItemKind.ACCOUNT.value
# In order of preference on a tie; the first is also the fallback. Tab comes last: a tab
# at the edge of a cell is more often stray padding than a pipe is part of a target.
_DELIMITERS = (",", ";", "|", "\t")
_SNIFF_LINES = 50
_SNIFF_CHARS = 64 * 1024
_QUOTED_RE = re.compile(r'"[^"]*"')


def parse_csv(
    data: bytes | str,
    profile: Platforms = DEFAULT_PROFILE,
    *,
    max_length: int = MAX_LINE_LENGTH,
) -> IntakeResult:
    """Parse an uploaded CSV file of targets.

    Bytes are decoded as UTF-8 (a byte order mark is dropped). The delimiter is guessed
    among ``,`` ``;`` tab and ``|`` (default ``,``). If a cell of the first row is named
    ``target``, ``handle``, ``url``, ``account`` or ``link`` (any case), that column holds
    the targets and an optional ``kind`` column gives each one's expected kind; otherwise
    the first column of every row is the target and row 1 is data. As ``account`` is also
    a kind, it names the target column only in the first column or next to a ``kind``
    column (``@jack,account`` is data, not a header). Line numbers are
    physical lines of the file (the header is line 1). Empty rows at the end of the file
    are ignored (spreadsheets add them); empty rows before the end are rejected.

    Raises:
        IntakeFileError: if the file as a whole cannot be read: not UTF-8, UTF-16, a
            workbook instead of CSV, NUL bytes, or a broken quote.
        ValueError: if ``max_length`` is less than 1.
    """
    text = _decode(data) if isinstance(data, bytes) else data
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise IntakeFileError(
            "the file contains NUL characters, so it is not a CSV text file; save it as 'CSV UTF-8'"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[tuple[int, list[str]]] = []
    next_line = 1
    try:
        for cells in reader:
            rows.append((next_line, cells))
            next_line = reader.line_num + 1
    except csv.Error as exc:
        raise IntakeFileError(f"line {next_line}: the file cannot be read as CSV: {exc}") from exc
    while rows and not "".join(rows[-1][1]).strip(_STRIP):
        rows.pop()

    target_column, kind_column = 0, None
    if rows:
        names = [cell.strip(_STRIP).lower() for cell in rows[0][1]]
        header = _target_column(names)
        if header is not None:
            target_column = header
            kind_column = names.index(_KIND_HEADER) if _KIND_HEADER in names else None
            rows = rows[1:]

    entries: list[tuple[int, str, ItemKind | None]] = []
    bad_kinds: list[Rejection] = []
    for line, cells in rows:
        cell = cells[target_column] if target_column < len(cells) else ""
        expected: ItemKind | None = None
        if kind_column is not None and kind_column < len(cells):
            kind_text = cells[kind_column].strip(_STRIP)
            if kind_text:
                expected = _KINDS.get(kind_text.lower())
                stripped = cell.strip(_STRIP)
                if expected is None and stripped:
                    detail = f"the kind {_quote(kind_text)} is not one of " + ", ".join(
                        kind.value for kind in ItemKind
                    )
                    bad_kinds.append(
                        Rejection(line, _display(stripped), Reason.KIND_MISMATCH, detail=detail)
                    )
                    continue
        entries.append((line, cell, expected))
    result = parse_entries(entries, profile, max_length=max_length)
    if bad_kinds:
        result.rejected = sorted([*result.rejected, *bad_kinds], key=_by_line)
    return result


def _target_column(names: list[str]) -> int | None:
    """The target column if ``names`` (a first row, stripped and lowercased) is a header."""
    for index, name in enumerate(names):
        if name in _TARGET_HEADERS and (
            name != _AMBIGUOUS_HEADER or index == 0 or _KIND_HEADER in names
        ):
            return index
    return None


def _decode(data: bytes) -> str:
    """Decode an uploaded file as UTF-8.

    Raises:
        IntakeFileError: if it is UTF-16, a ZIP archive (a workbook) or not UTF-8.
    """
    offset = 0
    if data.startswith(b"\xef\xbb\xbf"):
        offset = 3
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IntakeFileError("the file is UTF-16 text; save it as 'CSV UTF-8'")
    elif data.startswith(b"PK\x03\x04"):
        raise IntakeFileError(
            "the file is a ZIP archive (a spreadsheet workbook?); export the sheet as 'CSV UTF-8'"
        )
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        position = offset + exc.start
        before = data[:position]
        line = 1 + before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
        raise IntakeFileError(
            f"the file is not UTF-8 text: byte 0x{data[position]:02x} at byte offset "
            f"{position} (line {line}) cannot be decoded; save it as 'CSV UTF-8'"
        ) from exc


def _sniff_delimiter(text: str) -> str:
    """Guess the delimiter: the candidate found outside quotes on most sample lines.

    A candidate must occur on at least half of the sampled lines, so a comma inside the
    odd URL does not turn a one-column file into two columns.
    """
    sample = [
        _QUOTED_RE.sub("", line)
        for line in _LINE_BREAK_RE.split(text[:_SNIFF_CHARS])
        if line.strip(_STRIP)
    ][:_SNIFF_LINES]
    best, best_lines = _DELIMITERS[0], 0
    for delimiter in _DELIMITERS:
        lines = sum(1 for line in sample if delimiter in line)
        if lines > best_lines and 2 * lines >= len(sample):
            best, best_lines = delimiter, lines
    return best


# -- a pasted list with a file added ----------------------------------------------------

def line_count(text: str) -> int:
    """Lines as :func:`parse_text` numbers them (a final line break adds no line)."""
    if not text:
        return 0
    lines = _LINE_BREAK_RE.split(text)
    return len(lines) - 1 if lines[-1] == "" else len(lines)


class TooManyRows(ValueError):
    """A file holds more targets than one request may; ``count`` is ``None`` when the
    file was refused unread (far over the limit)."""

    def __init__(self, count: int | None, limit: int) -> None:
        super().__init__(f"the file has {'more than ' + str(limit) if count is None else count}"
                         f" rows; at most {limit} targets fit in one request")
        self.count = count
        self.limit = limit


@dataclass(frozen=True)
class ListWithFile:
    """A pasted list with an uploaded CSV file's rows added at its end.

    ``added`` rows became lines ``first_line`` to ``first_line + added - 1`` of ``text``.
    ``dropped`` are rows whose ``kind`` column contradicts them: a kind cannot be carried
    in a line of text, so they are left out and listed.
    """

    text: str
    added: int = 0
    first_line: int = 0
    dropped: list[Rejection] = field(default_factory=list)


def add_file_to_list(text: str, data: bytes, profile: Platforms = DEFAULT_PROFILE,
                     *, limit: int) -> ListWithFile:
    """Add the rows of a CSV file to the end of a pasted list, as lines of text.

    The file becomes text so that it survives a preview's re-posting (a browser never sends
    a file twice); the rows keep their order in the file, rejected ones included, so the
    parser reports them on their list line.

    Raises:
        TooManyRows: the file holds more than ``limit`` targets.
        IntakeFileError: the file cannot be read as CSV text.
    """
    # A rough bound before parsing: a file far over the limit is refused unread.
    if data.count(b"\n") > 2 * limit + 100:
        raise TooManyRows(None, limit)
    result = parse_csv(data, profile)
    kept = [(t.line, t.raw) for t in result.accepted] + [
        (r.line, r.raw) for r in result.rejected if r.reason is not Reason.KIND_MISMATCH
    ]
    dropped = [r for r in result.rejected if r.reason is Reason.KIND_MISMATCH]
    if len(kept) > limit:
        raise TooManyRows(len(kept), limit)
    # A cell may hold a line break (quoted); in the list it stays one line.
    rows = [_LINE_BREAK_RE.sub(" ", raw) for _line, raw in sorted(kept)]
    base = text.rstrip("\r\n")
    before = line_count(base) if base.strip() else 0
    if not rows:
        return ListWithFile(text, dropped=dropped)
    added = "\n".join(rows)
    return ListWithFile(f"{base}\n{added}" if before else added, len(rows), before + 1,
                        dropped)
