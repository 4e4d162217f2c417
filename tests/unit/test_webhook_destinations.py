"""The webhook address table and URL parsing, without Flask: every IPv6 form that carries
an IPv4 address is judged by that address."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services import webhook_destinations as d
from tests.factories import fuzz_examples

CONFIG = {"WEBHOOK_ALLOW_HTTP": False, "WEBHOOK_ALLOW_PRIVATE": False,
          "WEBHOOK_EXTRA_PORTS": []}


def wrappings(v4: ipaddress.IPv4Address) -> dict[str, ipaddress.IPv6Address]:
    """``v4`` in each IPv6 form that carries it."""
    n = int(v4)
    teredo_client = n ^ 0xFFFF_FFFF  # Teredo stores the client address inverted
    return {
        "IPv4-mapped": ipaddress.IPv6Address((0xFFFF << 32) | n),
        "IPv4-translated": ipaddress.IPv6Address((0xFFFF << 48) | n),
        "NAT64": ipaddress.IPv6Address((0x64FF9B << 96) | n),
        "6to4": ipaddress.IPv6Address((0x2002 << 112) | (n << 80)),
        "Teredo": ipaddress.IPv6Address((0x2001_0000 << 96) | (0x0808_0808 << 64)
                                        | teredo_client),
        "IPv4-compatible": ipaddress.IPv6Address(n),
    }


@pytest.mark.parametrize("form", list(wrappings(ipaddress.IPv4Address("8.8.8.8"))))
def test_each_form_is_decoded_to_the_address_it_carries(form):
    carried = d.embedded_ipv4(wrappings(ipaddress.IPv4Address("10.9.8.7"))[form])
    assert carried is not None
    name, inner = carried
    assert name == form and ipaddress.IPv4Address("10.9.8.7") in inner


def test_python_alone_would_call_these_global():
    # Why the portal keeps its own table (Python 3.11's ipaddress).
    for text in ("64:ff9b::7f00:1", "2002:7f00:1::", "::7f00:1"):
        address = ipaddress.ip_address(text)
        assert d.non_public_kind(address) is not None, text


NON_PUBLIC_V4 = st.sampled_from([net for net, _ in d.NON_PUBLIC if net.version == 4]).flatmap(
    lambda net: st.integers(int(net.network_address), int(net.broadcast_address)).map(
        ipaddress.IPv4Address))


@settings(max_examples=fuzz_examples(300), database=None)
@given(NON_PUBLIC_V4)
def test_a_non_public_ipv4_address_is_refused_in_every_wrapping(v4):
    assert d.non_public_kind(v4) is not None
    for form, wrapped in wrappings(v4).items():
        if form == "IPv4-compatible" and int(v4) <= 1:
            continue  # :: and ::1 themselves, named by the table
        kind = d.non_public_kind(wrapped)
        assert kind is not None and str(v4) in kind, (form, wrapped)


@settings(max_examples=fuzz_examples(300), database=None)
@given(st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address))
def test_any_ipv4_address_is_judged_the_same_in_every_wrapping(v4):
    public = d.non_public_kind(v4) is None
    for form, wrapped in wrappings(v4).items():
        if form == "IPv4-compatible" and int(v4) <= 1:
            continue
        assert (d.non_public_kind(wrapped) is None) == public, (form, wrapped)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://Hooks.Example.ORG/a?b=1", d.Target("https", "hooks.example.org", 443, "/a?b=1")),
    ("https://example.org", d.Target("https", "example.org", 443, "/")),
    ("https://bücher.example/x", d.Target("https", "xn--bcher-kva.example", 443, "/x")),
    ("https://[2606:4700::1111]/x", d.Target("https", "2606:4700::1111", 443, "/x")),
])
def test_urls_are_split_for_the_transport(url, expected):
    assert d.parse_url(url, CONFIG) == expected


@pytest.mark.parametrize(("url", "code"), [
    ("http://example.org/", "invalid"),  # plain http not allowed here
    ("https://a:b@example.org/", "credentials"),
    ("https://example.org:70000/", "invalid"),
    ("https://example.org/a b", "invalid"),
    ("https://example.org/\x00", "invalid"),
    ("https://exa\nmple.org/", "invalid"),  # urlsplit would drop the line break
    ("https://[::1/", "invalid"),
    ("https://a..b/", "invalid"),
    ("https://" + "a" * 64 + ".example/", "invalid"),  # a label longer than 63
    ("https://example.org/" + "a" * 2000, "too_long"),
])
def test_bad_urls_are_refused_with_a_code(url, code):
    with pytest.raises(d.DestinationRefused) as refused:
        d.parse_url(url, CONFIG)
    assert refused.value.field_code == code


def test_ports_are_checked_per_scheme():
    config = dict(CONFIG, WEBHOOK_ALLOW_HTTP=True)
    d.check_port(d.parse_url("https://example.org/", config), config)
    d.check_port(d.parse_url("http://example.org/", config), config)
    for url in ("https://example.org:80/", "http://example.org:443/",
                "https://example.org:8443/"):
        with pytest.raises(d.DestinationRefused) as refused:
            d.check_port(d.parse_url(url, config), config)
        assert refused.value.field_code == "forbidden_port"
    d.check_port(d.parse_url("https://example.org:8443/", config),
                 dict(config, WEBHOOK_EXTRA_PORTS=[8443]))


def test_one_lookup_and_every_answer_checked():
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["8.8.8.8", "8.8.4.4", "8.8.8.8"]

    config = dict(CONFIG, WEBHOOK_TESTING_RESOLVER=resolver)
    target = d.parse_url("https://example.org/", config)
    assert d.resolve(target, config, testing=True) == [
        ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("8.8.4.4")]
    assert calls == ["example.org"]
