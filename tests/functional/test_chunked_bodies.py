"""Oversize chunked bodies to the pages: 413 without holding them.

Before: a 100 MB chunked url-encoded body to the filing page was read to ~24 MB into
memory, answered 302 (or 400), and left the gunicorn worker ~50 MB larger. Now it is
refused 413 after at most the form limit (500 KB) is read, and a chunked multipart
upload after MAX_CONTENT_LENGTH (24 MB), spooled to disk past 1 MiB: the worker's peak
memory barely moves.
"""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from tests.servers import WebServer, portal_environment

HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture
def web(app, database_url):
    server = WebServer(portal_environment(database_url), workers=1)
    yield server
    server.stop()


def worker_peak_kb(web: WebServer) -> int:
    """The gunicorn worker's peak resident memory (VmHWM), in kB."""
    [child] = subprocess.run(["pgrep", "-P", str(web.process.pid)], capture_output=True,
                             text=True).stdout.split()
    with open(f"/proc/{child}/status") as status:
        for line in status:
            if line.startswith("VmHWM"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def send_chunked(web: WebServer, path: str, content_type: str, head: bytes,
                 total: int) -> tuple[bytes, int]:
    """POST ``head`` then ``total`` bytes in 64 KiB chunks; the status line and how much
    was sent before the server stopped reading."""
    piece = b"A" * 65536
    sent = 0
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                  f"Content-Type: {content_type}\r\n\r\n".encode())
        try:
            s.sendall(b"%x\r\n%s\r\n" % (len(head), head))
            while sent < total:
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed without reading the rest
        return s.recv(200).split(b"\r\n")[0], sent


@pytest.mark.parametrize(("content_type", "head", "read_at_most"), [
    ("application/x-www-form-urlencoded", b"targets=", 8 * 1024 * 1024),
    ("multipart/form-data; boundary=XX",
     b'--XX\r\nContent-Disposition: form-data; name="targets"\r\n\r\n', 40 * 1024 * 1024),
    ("multipart/form-data; boundary=XX",
     b'--XX\r\nContent-Disposition: form-data; name="attachment"; filename="order.pdf"\r\n'
     b"Content-Type: application/pdf\r\n\r\n", 40 * 1024 * 1024),
], ids=["urlencoded", "multipart-field", "multipart-file"])
def test_a_100_mb_chunked_upload_to_the_filing_page_is_a_413(web, content_type, head,
                                                               read_at_most):
    time.sleep(0.5)  # the worker has booted and imported everything
    web.request("GET", "/healthz")
    before = worker_peak_kb(web)
    status, sent = send_chunked(web, "/requests/new", content_type, head, HUNDRED_MB)
    assert status == b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE", status
    # The socket buffers take a few MB more than the server read before it answered.
    assert sent < read_at_most, sent
    grown = worker_peak_kb(web) - before
    assert grown < 8 * 1024, f"the worker's peak memory grew by {grown} kB"


def test_a_small_chunked_form_still_works(web):
    status, _ = send_chunked(web, "/login", "application/x-www-form-urlencoded",
                             b"email=nobody%40platform.example&password=x", 0)
    assert status == b"HTTP/1.1 200 OK"  # the sign-in form again, with its error
