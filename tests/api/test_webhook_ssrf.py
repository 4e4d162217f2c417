"""Webhook deliveries cannot be turned against the platform's own network (SSRF): real
HTTP(S) servers on loopback play the agency's "public" endpoint and an "internal"
service.

Which loopback address counts as public is said through the test-only settings
``WEBHOOK_TESTING_PUBLIC_NETWORKS`` (127.0.0.1 here; 127.0.0.2 stays internal) and
``WEBHOOK_TESTING_RESOLVER`` (names to addresses); the sockets, servers and TLS are real.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import outbox, tokens
from portal.services.webhook_transport import Failure
from tests.receivers import Receiver, make_certificates

PUBLIC = "127.0.0.1"
INTERNAL = "127.0.0.2"  # never declared public
HOST = "hooks.agency.example"


@pytest.fixture
def world(app, world):
    # The production checks, with plain http allowed (the loopback servers speak it).
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=False)
    return world


@pytest.fixture
def public_loopback(app, world):
    """127.0.0.1 counts as a public address; 127.0.0.2 stays internal."""
    app.config["WEBHOOK_TESTING_PUBLIC_NETWORKS"] = [f"{PUBLIC}/32"]


@pytest.fixture
def headers(world):
    return {"Authorization": "Bearer " + tokens.create_token(
        world.official, "t", scopes=["file"])[1]}


class Resolver:
    """Answers a name with the next of ``answers`` on each call (the last one repeats),
    and counts the calls: a stand-in for a DNS server the attacker controls."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host != HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        index = min(len(self.calls) - 1, len(self.answers) - 1)
        return list(self.answers[index])


def register(client, headers, url: str):
    return client.post("/api/v1/webhooks", json={"url": url}, headers=headers)


def deliver_all() -> None:
    outbox.deliver_due(utcnow() + timedelta(seconds=1))


def deliveries(client, headers) -> list[dict]:
    return client.get("/api/v1/webhooks", headers=headers).json["data"][0]["recent_deliveries"]


# --- redirects ------------------------------------------------------------------------


def test_a_redirect_to_an_internal_address_is_refused_and_never_followed(
        client, app, world, headers, public_loopback, caplog):
    with Receiver(INTERNAL) as internal, Receiver(PUBLIC) as public:
        public.status = 302
        public.headers = {"Location": internal.url(path="/latest/meta-data/iam/")}
        app.config["WEBHOOK_EXTRA_PORTS"] = [public.port, internal.port]
        created = register(client, headers, public.url())
        assert created.status_code == 201, created.json
        world.file()
        with caplog.at_level(logging.WARNING, "portal.services.webhooks"):
            deliver_all()
        assert [r.method for r in public.received] == ["POST"]
        assert internal.received == []
    [attempt] = deliveries(client, headers)
    assert attempt["error"] == "redirect refused" and attempt["status_code"] == 302
    # The operator's log has the whole story; the agency's list does not.
    assert "/latest/meta-data/iam/" in caplog.text
    assert "meta-data" not in json.dumps(attempt)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_no_redirect_is_followed_even_to_a_public_address(client, app, world, headers,
                                                         public_loopback, status):
    with Receiver(PUBLIC) as elsewhere, Receiver(PUBLIC) as public:
        public.status = status
        public.headers = {"Location": elsewhere.url()}
        app.config["WEBHOOK_EXTRA_PORTS"] = [public.port, elsewhere.port]
        assert register(client, headers, public.url()).status_code == 201
        world.file()
        deliver_all()
        assert len(public.received) == 1 and elsewhere.received == []
    assert deliveries(client, headers)[0]["error"] == "redirect refused"
    note = db.session.scalar(sa.select(Notification).where(Notification.channel == "webhook"))
    assert note.status is DeliveryStatus.PENDING  # retried later, as any failure


# --- addresses ------------------------------------------------------------------------

#: Loopback, the metadata service and private networks, written in every IPv6 form that
#: carries an IPv4 address, and every other non-public range.
REFUSED_ADDRESSES = [
    ("[64:ff9b::7f00:1]", "loopback (127.0.0.1, carried by NAT64)"),
    ("[64:ff9b::a9fe:a9fe]", "link-local (169.254.169.254, carried by NAT64)"),
    ("[64:ff9b::a00:1]", "private (10.0.0.1, carried by NAT64)"),
    ("[64:ff9b:1::808:808]", "local-use NAT64"),
    ("[64:ff9b:1::7f00:1]", "local-use NAT64"),
    ("[2002:7f00:1::]", "loopback (127.0.0.1, carried by 6to4)"),
    ("[2002:a9fe:a9fe::1]", "link-local (169.254.169.254, carried by 6to4)"),
    ("[2002:c0a8:101::]", "private (192.168.1.1, carried by 6to4)"),
    # Teredo: server 65.54.227.120, client 127.0.0.1 (stored inverted: 80ff:fffe).
    ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "loopback (127.0.0.1, carried by Teredo)"),
    ("[2001:0:a00:1:8000:63bf:f7f7:f7f7]", "private (10.0.0.1, carried by Teredo)"),
    ("[::ffff:127.0.0.1]", "loopback (127.0.0.1, carried by IPv4-mapped)"),
    ("[::ffff:a9fe:a9fe]", "link-local (169.254.169.254, carried by IPv4-mapped)"),
    ("[::127.0.0.1]", "loopback (127.0.0.1, carried by IPv4-compatible)"),
    ("[::10.1.2.3]", "private (10.1.2.3, carried by IPv4-compatible)"),
    ("[::ffff:0:7f00:1]", "loopback (127.0.0.1, carried by IPv4-translated)"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("192.0.0.8", "reserved (IETF protocol assignments)"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.1", "documentation"),
    ("203.0.113.1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("[::1]", "loopback"),
    ("[::]", "unspecified"),
    ("[fe80::1]", "link-local"),
    ("[fc00::1]", "private (unique local)"),
    ("[fd12:3456::1]", "private (unique local)"),
    ("[fec0::1]", "site-local"),
    ("[ff02::1]", "multicast"),
    ("[2001:db8::1]", "documentation"),
    ("[3fff::1]", "documentation"),
    ("[2001:2::1]", "benchmarking"),
    ("[100::1]", "discard-only"),
]


@pytest.mark.parametrize(("host", "kind"), REFUSED_ADDRESSES)
def test_non_public_addresses_are_refused_in_every_form(client, world, headers, host, kind):
    refused = register(client, headers, f"https://{host}/hook")
    assert refused.status_code == 422
    [error] = refused.json["errors"]
    assert error["path"] == "url" and error["code"] == "forbidden_destination"
    assert error["message"].endswith(f"is not a public address: {kind}")


@pytest.mark.parametrize("host", [
    "localhost", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "127.1", "017700000001"])
def test_other_spellings_of_loopback_are_refused_once_resolved(client, world, headers, host):
    refused = register(client, headers, f"https://{host}/hook")
    assert refused.status_code == 422
    assert refused.json["errors"][0]["code"] == "forbidden_destination"
    # A name's refusal does not say where it points (no DNS oracle for internal names).
    assert "127.0.0.1" not in refused.json["errors"][0]["message"]


@pytest.mark.parametrize("answer", [["64:ff9b::7f00:1"], ["2002:a9fe:a9fe::"],
                                    ["8.8.8.8", "10.0.0.7"], ["::ffff:169.254.169.254"]])
def test_a_name_is_refused_when_any_address_it_resolves_to_is_not_public(
        client, app, world, headers, answer):
    app.config["WEBHOOK_TESTING_RESOLVER"] = Resolver(answer)
    refused = register(client, headers, f"https://{HOST}/hook")
    assert refused.status_code == 422
    [error] = refused.json["errors"]
    assert error["code"] == "forbidden_destination"
    assert error["message"].startswith(f"{HOST} must resolve to public internet addresses")
    assert not any(address in error["message"] for address in answer)


def test_a_name_that_does_not_resolve_is_refused_with_the_same_words(client, app, world,
                                                                    headers):
    app.config["WEBHOOK_TESTING_RESOLVER"] = Resolver(["8.8.8.8"])
    refused = register(client, headers, "https://unknown.agency.example/hook")
    assert refused.json["errors"][0]["message"].startswith(
        "unknown.agency.example must resolve to public internet addresses")


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700:4700::1111]", "[64:ff9b::808:808]",
                                  "[2002:808:808::1]", "[::ffff:8.8.8.8]"])
def test_public_addresses_are_accepted_in_every_form(client, world, headers, host):
    assert register(client, headers, f"https://{host}/hook").status_code == 201


# --- ports ----------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://8.8.8.8/hook", True),
    ("https://8.8.8.8:443/hook", True),
    ("http://8.8.8.8/hook", True),
    ("http://8.8.8.8:80/hook", True),
    ("https://8.8.8.8:8443/hook", False),
    ("https://8.8.8.8:22/hook", False),
    ("http://8.8.8.8:6379/hook", False),
    ("http://8.8.8.8:443/hook", False),  # each scheme has its own port
    ("https://8.8.8.8:80/hook", False),
])
def test_only_the_standard_ports_are_allowed(client, world, headers, url, allowed):
    answer = register(client, headers, url)
    if allowed:
        assert answer.status_code == 201, answer.json
    else:
        assert answer.status_code == 422
        assert answer.json["errors"] == [{
            "path": "url", "index": None, "code": "forbidden_port",
            "message": answer.json["errors"][0]["message"]}]
        assert "is not allowed: use the standard" in answer.json["errors"][0]["message"]


def test_a_port_and_an_address_are_both_reported(client, world, headers):
    refused = register(client, headers, "http://127.0.0.1:8080/x")
    assert [e["code"] for e in refused.json["errors"]] == ["forbidden_port",
                                                          "forbidden_destination"]


def test_an_operator_may_allow_more_ports(client, app, world, headers):
    app.config["WEBHOOK_EXTRA_PORTS"] = [8443]
    assert register(client, headers, "https://8.8.8.8:8443/hook").status_code == 201
    assert register(client, headers, "https://8.8.8.8:8444/hook").status_code == 422


def test_a_port_no_longer_allowed_is_refused_at_delivery(client, app, world, headers,
                                                        public_loopback):
    with Receiver(PUBLIC) as public:
        app.config["WEBHOOK_EXTRA_PORTS"] = [public.port]
        assert register(client, headers, public.url()).status_code == 201
        app.config["WEBHOOK_EXTRA_PORTS"] = []
        world.file()
        deliver_all()
        assert public.received == []
    assert [(d["error"], d["status_code"], d["duration_ms"])
            for d in deliveries(client, headers)] == [("refused", None, 0)]


@pytest.mark.parametrize(("url", "code"), [
    ("https://user:pass@8.8.8.8/hook", "credentials"),
    ("https://8.8.8.8@127.0.0.1/hook", "credentials"),
    ("https://8.8.8.8:99999/hook", "invalid"),
    ("https://8.8.8.8:0/hook", "invalid"),
    ("https://8.8.8.8:port/hook", "invalid"),
    ("https://8.8.8.8/h\u00f6ok", "invalid"),
    ("ftp://8.8.8.8/hook", "invalid"),
    ("//8.8.8.8/hook", "invalid"),
])
def test_malformed_urls_are_refused_with_a_specific_code(client, world, headers, url, code):
    refused = register(client, headers, url)
    assert refused.status_code == 422
    assert [e["code"] for e in refused.json["errors"]] == [code]


# --- DNS rebinding --------------------------------------------------------------------


def test_dns_rebinding_cannot_switch_the_address_between_check_and_connect(
        client, app, world, headers, public_loopback):
    with Receiver(INTERNAL) as internal, Receiver(PUBLIC) as public:
        # The attacker's DNS answers its public endpoint first, then an internal address.
        app.config.update(WEBHOOK_EXTRA_PORTS=[public.port, internal.port],
                          WEBHOOK_TESTING_RESOLVER=Resolver([PUBLIC]))
        assert register(client, headers, public.url(HOST)).status_code == 201
        world.file()
        rebinding = Resolver([PUBLIC], [INTERNAL])
        app.config["WEBHOOK_TESTING_RESOLVER"] = rebinding
        deliver_all()
        # One lookup per delivery, checked, and the connection went to that address:
        # the name was never resolved again (the system's resolver does not know it).
        assert rebinding.calls == [HOST]
        assert internal.received == []
        [got] = public.received
        assert got.method == "POST" and got.headers["Host"] == f"{HOST}:{public.port}"
    assert deliveries(client, headers)[0]["status_code"] == 200


def test_delivery_checks_the_address_again_and_refuses_a_rebound_name(
        client, app, world, headers, public_loopback):
    with Receiver(INTERNAL) as internal, Receiver(PUBLIC) as public:
        app.config.update(WEBHOOK_EXTRA_PORTS=[public.port],
                          WEBHOOK_TESTING_RESOLVER=Resolver([PUBLIC]))
        assert register(client, headers, public.url(HOST)).status_code == 201
        app.config["WEBHOOK_TESTING_RESOLVER"] = Resolver([INTERNAL])
        world.file()
        deliver_all()
        assert internal.received == [] and public.received == []
    [attempt] = deliveries(client, headers)
    assert attempt == {**attempt, "error": "refused", "status_code": None, "duration_ms": 0}


def test_an_answer_mixing_public_and_internal_addresses_is_refused_at_delivery(
        client, app, world, headers, public_loopback):
    with Receiver(PUBLIC) as public:
        app.config.update(WEBHOOK_EXTRA_PORTS=[public.port],
                          WEBHOOK_TESTING_RESOLVER=Resolver([PUBLIC]))
        assert register(client, headers, public.url(HOST)).status_code == 201
        app.config["WEBHOOK_TESTING_RESOLVER"] = Resolver([PUBLIC, "169.254.169.254"])
        world.file()
        deliver_all()
        assert public.received == []
    assert deliveries(client, headers)[0]["error"] == "refused"


# --- HTTPS to a pinned address --------------------------------------------------------


@pytest.fixture
def tls_receiver(app, tmp_path) -> Iterator[Receiver]:
    certificates = make_certificates(tmp_path, HOST)
    app.config["WEBHOOK_CA_FILE"] = str(certificates.ca_file)
    with Receiver(PUBLIC, tls=certificates.server_context()) as receiver:
        yield receiver


def test_https_to_the_checked_address_keeps_the_host_name_for_sni_and_certificate(
        client, app, world, headers, public_loopback, tls_receiver):
    app.config.update(WEBHOOK_ALLOW_HTTP=False, WEBHOOK_EXTRA_PORTS=[tls_receiver.port],
                      WEBHOOK_TESTING_RESOLVER=Resolver([PUBLIC]))
    assert register(client, headers, tls_receiver.url(HOST)).status_code == 201
    world.file()
    deliver_all()
    [got] = tls_receiver.received
    assert got.headers["Host"] == f"{HOST}:{tls_receiver.port}"
    assert tls_receiver.server_names == [HOST]
    assert deliveries(client, headers)[0]["status_code"] == 200


def test_https_refuses_a_certificate_for_another_name(client, app, world, headers,
                                                     public_loopback, tls_receiver):
    # Another name pointing at the same server: its certificate does not name it.
    other = "other.agency.example"

    def resolver(host: str, port: int) -> list[str]:
        return [PUBLIC]

    app.config.update(WEBHOOK_EXTRA_PORTS=[tls_receiver.port],
                      WEBHOOK_TESTING_RESOLVER=resolver)
    assert register(client, headers, tls_receiver.url(other)).status_code == 201
    world.file()
    deliver_all()
    assert tls_receiver.received == []
    assert deliveries(client, headers)[0]["error"] == "connection failed"


# --- what the agency is told ----------------------------------------------------------


class Silent:
    """Accepts connections and never answers (a timeout)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind((PUBLIC, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            while True:
                self.held.append(self.sock.accept()[0])
        except OSError:
            return

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()


class Garbage(Silent):
    """Answers anything with a line that is not HTTP."""

    def _accept(self) -> None:
        try:
            while True:
                conn = self.sock.accept()[0]
                conn.recv(65536)
                conn.sendall(b"SSH-2.0-OpenSSH_9.6 internal-build-host\r\n")
                conn.close()
        except OSError:
            return


class Trickle(Silent):
    """Answers one byte of its headers every 0.1 s, for up to 5 s."""

    def _accept(self) -> None:
        try:
            while True:
                conn = self.sock.accept()[0]
                self.held.append(conn)
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                for _ in range(50):
                    conn.sendall(b"X")
                    time.sleep(0.1)
                conn.close()
        except OSError:
            return


def closed_port() -> int:
    sock = socket.socket()
    sock.bind((PUBLIC, 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize("case", ["refused", "timeout", "connection failed", "invalid response",
                                  "HTTP 4xx", "HTTP 5xx", "redirect refused"])
def test_the_agency_sees_a_category_and_never_internal_text(client, app, world, headers,
                                                           public_loopback, caplog, case):
    app.config["WEBHOOK_TIMEOUT"] = 0.5
    servers: list[Silent | Receiver] = []
    if case == "refused":
        port, url = 443, f"https://{HOST}/hook"
        app.config["WEBHOOK_TESTING_RESOLVER"] = Resolver(["8.8.8.8"], ["10.20.30.40"])
    elif case == "timeout":
        servers.append(Silent())
        port = servers[0].port
    elif case == "connection failed":
        port = closed_port()
    elif case == "invalid response":
        servers.append(Garbage())
        port = servers[0].port
    else:
        receiver = Receiver(PUBLIC).__enter__()
        receiver.status = {"HTTP 4xx": 404, "HTTP 5xx": 503, "redirect refused": 307}[case]
        receiver.headers = {"Location": "http://10.20.30.40:6379/"}
        servers.append(receiver)
        port = receiver.port
    if case != "refused":
        url = f"http://{PUBLIC}:{port}/hook"
    app.config["WEBHOOK_EXTRA_PORTS"] = [port]
    try:
        assert register(client, headers, url).status_code == 201
        world.file()
        with caplog.at_level(logging.WARNING, "portal.services.webhooks"):
            deliver_all()
    finally:
        for server in servers:
            if isinstance(server, Receiver):
                server.__exit__()
            else:
                server.close()
    [attempt] = deliveries(client, headers)
    assert attempt["error"] == case
    assert case in {f.value for f in Failure}
    # The times' digits are left out: "…:11.906379+00:00" is not the port 6379 leaking.
    listed = json.dumps(client.get("/api/v1/webhooks", headers=headers).json)
    listed = re.sub(r'"\d{4}-\d\d-\d\dT[\d:.]+\+00:00"', '"<time>"', listed)
    for secret_text in ("10.20.30.40", "6379", "Errno", "Error", "SSH", "internal-build",
                        "timed out", "refused)", str(port) + '"'):
        assert secret_text not in listed.replace(url, ""), secret_text
    stored = db.session.scalar(sa.select(Notification.last_error).where(
            Notification.channel == "webhook"))
    assert stored is not None and stored.startswith(case)
    assert "webhook" in caplog.text and case in caplog.text  # the detail is logged
    if case == "refused":
        assert "10.20.30.40" in caplog.text


@pytest.mark.parametrize(("scheme", "server"), [("http", Trickle), ("http", Silent),
                                                ("https", Silent)])
def test_a_slow_receiver_cannot_hold_the_worker_past_the_timeout(
        client, app, world, headers, public_loopback, server, scheme):
    # Each read would wait at most the timeout; the whole attempt must too, or a
    # receiver trickling bytes holds every delivery and mail behind it.
    slow = server()
    app.config.update(WEBHOOK_TIMEOUT=1, WEBHOOK_EXTRA_PORTS=[slow.port])
    try:
        assert register(client, headers,
                        f"{scheme}://{PUBLIC}:{slow.port}/hook").status_code == 201
        world.file()
        started = time.monotonic()
        deliver_all()
        elapsed = time.monotonic() - started
    finally:
        slow.close()
    assert elapsed < 2.0, elapsed
    assert deliveries(client, headers)[0]["error"] == "timeout"


def test_the_error_categories_are_documented_in_the_schema(client, world):
    spec = client.get("/api/v1/openapi.json").json
    description = spec["components"]["schemas"]["Delivery"]["properties"]["error"][
        "description"]
    for failure in Failure:
        assert f"`{failure.value}`" in description
