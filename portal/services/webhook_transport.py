"""One webhook POST, over a connection to an address already checked, following no
redirect; the outcome as a category the agency may see and a detail for the log.

``urllib.request.urlopen`` is not used: it follows redirects (a POST becomes a GET,
https may become http, to any address) and resolves the host name again when it
connects, after any check made before. Here the socket is opened to the checked IP
address itself, while the Host header and the TLS server name (SNI, and the name the
certificate must carry) stay the URL's host.
"""

from __future__ import annotations

import functools
import http.client
import select
import socket
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from portal.services.webhook_destinations import IPAddress, Target


class Failure(StrEnum):
    """Why a delivery failed, as the agency is told (``GET /api/v1/webhooks``): never an
    exception's text, an address or a response body, which would make the delivery log
    a window into whatever the portal can reach."""

    REFUSED = "refused"
    TIMEOUT = "timeout"
    CONNECTION_FAILED = "connection failed"
    REDIRECT_REFUSED = "redirect refused"
    HTTP_4XX = "HTTP 4xx"
    HTTP_5XX = "HTTP 5xx"
    INVALID_RESPONSE = "invalid response"


@dataclass(frozen=True)
class Outcome:
    """The receiver's status (if it answered), the failure (``None`` on a 2xx) and the
    full detail for the server log."""

    status: int | None
    failure: Failure | None
    detail: str


def failure_of_status(status: int) -> Failure | None:
    """2xx is success; a redirect is never followed; the rest by class."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return Failure.REDIRECT_REFUSED
    if 400 <= status < 500:
        return Failure.HTTP_4XX
    if 500 <= status < 600:
        return Failure.HTTP_5XX
    return Failure.INVALID_RESPONSE


class _DeadlineSocket(socket.socket):
    """A socket whose every read gets only the time left before ``deadline``: a
    per-read timeout alone would let a receiver that trickles its answer a byte at a
    time hold the worker (and every delivery and mail behind it) indefinitely."""

    deadline: float = float("inf")

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        _shrink(self, self.deadline)
        return super().recv_into(buffer, nbytes, flags)


class _DeadlineSSLSocket(ssl.SSLSocket):
    """The same for TLS (``SSLContext.sslsocket_class``)."""

    deadline: float = float("inf")

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        _shrink(self, self.deadline)
        return super().recv_into(buffer, nbytes, flags)


def _shrink(sock: socket.socket, deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("the delivery's time is up")
    sock.settimeout(remaining)


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to ``address``; the Host header is still ``host``."""

    def __init__(self, host: str, port: int, address: IPAddress, deadline: float) -> None:
        super().__init__(host, port, timeout=max(deadline - time.monotonic(), 0.001))
        self.address = address
        self.deadline = deadline

    def connect(self) -> None:
        family = socket.AF_INET6 if self.address.version == 6 else socket.AF_INET
        sock = _DeadlineSocket(family, socket.SOCK_STREAM)
        sock.deadline = self.deadline
        try:
            _shrink(sock, self.deadline)
            sock.connect((str(self.address), self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _PinnedTLSConnection(_PinnedConnection):
    """HTTPS to ``address``: the server must present a certificate for ``host``."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, address: IPAddress, deadline: float,
                 context: ssl.SSLContext) -> None:
        super().__init__(host, port, address, deadline)
        self.context = context

    def connect(self) -> None:
        super().connect()
        tls = self.context.wrap_socket(self.sock, server_hostname=self.host,
                                       do_handshake_on_connect=False)
        self.sock = tls
        if isinstance(tls, _DeadlineSSLSocket):
            tls.deadline = self.deadline
        _handshake(tls, self.deadline)


def _handshake(tls: ssl.SSLSocket, deadline: float) -> None:
    """The TLS handshake within the deadline (in non-blocking steps, so that a server
    sending its part slowly cannot stretch it)."""
    tls.setblocking(False)
    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            readable, writable = [tls], []
        except ssl.SSLWantWriteError:
            readable, writable = [], [tls]
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not any(select.select(readable, writable, [], remaining)):
            raise TimeoutError("TLS handshake: the delivery's time is up")
    tls.settimeout(max(deadline - time.monotonic(), 0.001))


@functools.lru_cache(maxsize=4)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates checked against the system's authorities (or ``WEBHOOK_CA_FILE``),
    host names checked, TLS 1.2 at least."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.sslsocket_class = _DeadlineSSLSocket
    return context


def post(target: Target, addresses: Sequence[IPAddress], body: bytes,
         headers: Mapping[str, str], *, timeout: float,
         ca_file: str | None = None) -> Outcome:
    """POST ``body`` to ``target`` through the first of ``addresses`` that accepts a
    connection; ``timeout`` bounds the whole attempt: connecting, the TLS handshake,
    sending and every read of the answer get only what is left of it.

    Never raises for the network or the receiver: every failure is an :class:`Outcome`.
    """
    deadline = time.monotonic() + timeout
    failure, detail = Failure.CONNECTION_FAILED, "no address to connect to"
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Outcome(None, Failure.TIMEOUT, f"{target.host}: out of time")
        where = f"{target.scheme}://{target.host}:{target.port} at {address}"
        connection: _PinnedConnection
        if target.scheme == "https":
            connection = _PinnedTLSConnection(target.host, target.port, address, deadline,
                                              tls_context(ca_file))
        else:
            connection = _PinnedConnection(target.host, target.port, address, deadline)
        try:
            try:
                connection.connect()
            except TimeoutError as exc:
                failure, detail = Failure.TIMEOUT, f"{where}: connect: {exc!r}"
                continue
            except OSError as exc:  # refused, unreachable, TLS handshake or certificate
                failure, detail = Failure.CONNECTION_FAILED, f"{where}: connect: {exc!r}"
                continue
            # Sent once at most: a failure after this point is not tried on another address.
            return _exchange(connection, target, body, headers, where)
        finally:
            connection.close()
    return Outcome(None, failure, detail)


def _exchange(connection: _PinnedConnection, target: Target, body: bytes,
              headers: Mapping[str, str], where: str) -> Outcome:
    try:
        connection.request("POST", target.target, body=body,
                           headers={**headers, "Connection": "close"})
        response = connection.getresponse()
    except TimeoutError as exc:
        return Outcome(None, Failure.TIMEOUT, f"{where}: {exc!r}")
    except http.client.HTTPException as exc:
        return Outcome(None, Failure.INVALID_RESPONSE, f"{where}: {exc!r}")
    except OSError as exc:
        return Outcome(None, Failure.CONNECTION_FAILED, f"{where}: {exc!r}")
    # The body is not read: nothing in it is shown to anyone.
    response.close()
    status = response.status
    failure = failure_of_status(status)
    location = response.getheader("Location")
    note = f"; Location: {location}" if location and failure is Failure.REDIRECT_REFUSED else ""
    return Outcome(status, failure, f"{where}: HTTP {status}{note}")
