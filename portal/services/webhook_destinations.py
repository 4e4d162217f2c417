"""Where a webhook may be delivered: an http(s) URL on an allowed port whose host resolves
only to public internet addresses.

Webhook URLs come from outside. Without these checks an agency could make the portal's
worker call addresses inside the platform's own network (loopback, private ranges, the
cloud metadata service at 169.254.169.254) and read the outcome in its delivery log: an
internal port scanner. So:

- one table (:data:`NON_PUBLIC`) names every range that is not the public internet; an
  address that carries an IPv4 address inside an IPv6 one (NAT64, 6to4, Teredo,
  IPv4-mapped, IPv4-compatible, IPv4-translated) is judged by the IPv4 address it carries,
  since that is where the packets end up;
- every address the host resolves to must be public (one private answer refuses all);
- only the scheme's standard port (443, and 80 where plain http is allowed at all), plus
  the ports an operator lists in ``WEBHOOK_EXTRA_PORTS``;
- the transport (:mod:`portal.services.webhook_transport`) connects to the very
  addresses checked here, never to a name resolved again, and follows no redirect.

Tests declare loopback servers public through ``WEBHOOK_TESTING_PUBLIC_NETWORKS`` and
answer names through ``WEBHOOK_TESTING_RESOLVER``; both are honoured only while the app is
``TESTING`` (and refused at start-up otherwise).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: ``(host, port) -> addresses``; the system's resolver unless a test gives another.
Resolver = Callable[[str, int], Sequence[str]]

DEFAULT_PORTS = {"https": 443, "http": 80}
MAX_URL_LENGTH = 2000


def _table(rows: Sequence[tuple[str, str]]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), kind) for net, kind in rows)


#: Every range that is not the public internet, with what it is (IANA special-purpose
#: registries, RFC 6890 and its updates). More specific rows come first, so an address
#: is named by its narrowest range. Python's ``is_global`` is asked as well, but it is
#: not enough on its own: on Python 3.11 it calls 64:ff9b::7f00:1, 2002:7f00:1:: and
#: 224.0.0.1 global.
NON_PUBLIC: tuple[tuple[IPNetwork, str], ...] = _table((
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (carrier-grade NAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved (IETF protocol assignments)"),
    ("192.0.2.0/24", "documentation"),
    ("192.31.196.0/24", "reserved (AS112)"),
    ("192.52.193.0/24", "reserved (AMT)"),
    ("192.88.99.0/24", "reserved (6to4 relay anycast)"),
    ("192.168.0.0/16", "private"),
    ("192.175.48.0/24", "reserved (AS112)"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    # The local-use NAT64 prefix (RFC 8215): where the IPv4 address sits depends on the
    # prefix length each operator picks, so it cannot be read reliably; never public.
    ("64:ff9b:1::/48", "local-use NAT64"),
    ("100::/64", "discard-only"),
    ("100:0:0:1::/64", "reserved (dummy prefix)"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "reserved (IETF protocol assignments)"),
    ("3fff::/20", "documentation"),
    ("5f00::/16", "reserved (segment routing)"),
    ("fc00::/7", "private (unique local)"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
))

#: IPv6 forms that carry an IPv4 address, judged by that address (6to4, 2002::/16, and
#: Teredo, 2001::/32, are read by ``ipaddress``). The IPv4-compatible form (deprecated)
#: covers ``::/96`` apart from ``::`` and ``::1``, named above.
_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address
                  ) -> tuple[str, tuple[ipaddress.IPv4Address, ...]] | None:
    """The IPv4 address(es) an IPv6 address carries and the form's name, or ``None``.

    Teredo carries two (its server and, de-obfuscated, its client); the others one.
    """
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _MAPPED:
        return "IPv4-mapped", (low32,)
    if address in _TRANSLATED:
        return "IPv4-translated", (low32,)
    if address in _NAT64:
        return "NAT64", (low32,)
    if address.sixtofour is not None:
        return "6to4", (address.sixtofour,)
    if address.teredo is not None:
        return "Teredo", address.teredo
    if address in _COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", (low32,)
    return None


def _kind(address: IPAddress) -> str | None:
    for network, kind in NON_PUBLIC:
        if address.version == network.version and address in network:
            return kind
    if not address.is_global or address.is_multicast:
        return "reserved"
    return None


def non_public_kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("loopback", "private", …), or ``None``
    when it is a public internet address."""
    if isinstance(address, ipaddress.IPv6Address):
        # A scope ("fe80::1%eth0") does not change which range an address is in.
        address = ipaddress.IPv6Address(int(address))
        if int(address) > 1:  # :: and ::1 are named by the table, not decoded
            carried = embedded_ipv4(address)
            if carried is not None:
                form, inner = carried
                for ipv4 in inner:
                    kind = _kind(ipv4)
                    if kind is not None:
                        return f"{kind} ({ipv4}, carried by {form})"
                return None
    return _kind(address)


class DestinationRefused(Exception):
    """The portal will not call this URL. ``field_code`` and ``message`` are what the
    agency is told; ``detail`` (addresses, resolver errors) is for the server log only."""

    def __init__(self, field_code: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.field_code = field_code
        self.message = message
        self.detail = detail or message


@dataclass(frozen=True)
class Target:
    """A checked webhook URL, split for the transport: ``host`` is ASCII (IDNA), used for
    the Host header and the TLS server name; ``target`` is the path and query."""

    scheme: str
    host: str
    port: int
    target: str


def parse_url(url: str, config: Mapping[str, Any]) -> Target:
    """Split and check a webhook URL (its form, scheme and port; not its addresses).

    Raises:
        DestinationRefused: ``too_long``, ``invalid`` (not an absolute http(s) URL, a bad
            port, spaces or non-ASCII in the path) or ``credentials`` (a user name or
            password in the URL).
    """
    if len(url) > MAX_URL_LENGTH:
        raise DestinationRefused("too_long", f"at most {MAX_URL_LENGTH} characters")
    schemes = allowed_schemes(config)
    absolute = f"an absolute {' or '.join(sorted(schemes))} URL"
    # urlsplit drops tabs and line breaks silently: refuse them rather than store a URL
    # other than the one checked.
    if any(c <= " " or c == "\x7f" for c in url):
        raise DestinationRefused("invalid", f"{absolute}, without spaces or control "
                                 "characters (percent-encode them)")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        raise DestinationRefused("invalid", absolute) from None
    if parts.scheme not in schemes or not hostname:
        raise DestinationRefused("invalid", absolute)
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(
            "credentials", "no user name or password in the URL: the signature tells "
            "the receiver that a delivery comes from the portal")
    try:
        given = parts.port
    except ValueError:  # not a number, or past 65535
        given = 0
    if given == 0:
        raise DestinationRefused("invalid", "the port must be a number from 1 to 65535")
    port = given or DEFAULT_PORTS[parts.scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not target.isascii():
        raise DestinationRefused("invalid", "no non-ASCII characters in the path or query "
                                 "(percent-encode them)")
    try:
        host = hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise DestinationRefused("invalid", f"{hostname!r} is not a valid host name"
                                 ) from None
    return Target(parts.scheme, host, port, target)


def check_port(target: Target, config: Mapping[str, Any]) -> None:
    """Only the scheme's standard port, or one the operator added: any other would let
    an agency probe which services listen behind a public address.

    Raises:
        DestinationRefused: ``forbidden_port``.
    """
    if config["WEBHOOK_ALLOW_PRIVATE"] or target.port in allowed_ports(target.scheme, config):
        return
    standard = DEFAULT_PORTS[target.scheme]
    raise DestinationRefused(
        "forbidden_port", f"port {target.port} is not allowed: use the standard "
        f"{target.scheme} port ({standard}), i.e. leave the port out of the URL")


def allowed_schemes(config: Mapping[str, Any]) -> set[str]:
    return {"https"} | ({"http"} if config["WEBHOOK_ALLOW_HTTP"] else set())


def allowed_ports(scheme: str, config: Mapping[str, Any]) -> set[int]:
    """The scheme's standard port and any the operator added (``WEBHOOK_EXTRA_PORTS``)."""
    return {DEFAULT_PORTS[scheme]} | {int(p) for p in config["WEBHOOK_EXTRA_PORTS"] or ()}


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for ``host`` (TCP), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def resolve(target: Target, config: Mapping[str, Any], *, testing: bool) -> list[IPAddress]:
    """Resolve ``target.host`` once and check every address; return them (no duplicates,
    in the resolver's order). The caller must connect to these addresses, never to the
    name again: a second lookup could answer differently (DNS rebinding).

    Raises:
        DestinationRefused: ``forbidden_destination`` when the host does not resolve or
            any address is not public. For a host name the agency is not told which:
            the portal's resolver may see internal names, and the refusal must not
            reveal them or their addresses.
    """
    resolver: Resolver = system_resolver
    public: list[IPNetwork] = []
    if testing:
        resolver = config.get("WEBHOOK_TESTING_RESOLVER") or system_resolver
        public = [ipaddress.ip_network(n) for n in
                  config.get("WEBHOOK_TESTING_PUBLIC_NETWORKS") or ()]
    literal = _literal(target.host)
    refusal = (f"{target.host} must resolve to public internet addresses only (loopback, "
               "private, link-local, shared, multicast, reserved and documentation "
               "ranges are refused)")
    try:
        answers = resolver(target.host, target.port)
        addresses = list(dict.fromkeys(ipaddress.ip_address(a) for a in answers))
    except (OSError, UnicodeError, ValueError) as exc:
        raise DestinationRefused("forbidden_destination", refusal,
                                 f"{target.host}: {type(exc).__name__}: {exc}") from None
    if not addresses:
        raise DestinationRefused("forbidden_destination", refusal,
                                 f"{target.host}: no address")
    if config["WEBHOOK_ALLOW_PRIVATE"]:
        return addresses
    for address in addresses:
        if any(address.version == n.version and address in n for n in public):
            continue
        kind = non_public_kind(address)
        if kind is not None:
            message = (refusal if literal is None
                       else f"{literal} is not a public address: {kind}")
            raise DestinationRefused("forbidden_destination", message,
                                     f"{target.host} resolves to {address}: {kind}")
    return addresses


def _literal(host: str) -> IPAddress | None:
    """The address a host written as an IP address names (the agency typed it, so a
    refusal may name its kind), or ``None`` for a host name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
