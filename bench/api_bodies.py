"""Large and hostile JSON bodies against a real gunicorn (2 sync workers, SQLite):
how long a worker spends before it answers.

1. a 19 MB body without a token (goal: refused in at most 20 ms; it was read and scanned
   for NUL first, 1.46 s);
2. the same with a valid token: 413 from its Content-Length, and sent in chunks (no
   Content-Length): 413 after at most limit + 1 bytes;
3. JSON nested 1,000 deep (422; it was a 500);
4. 200,000 items with a bad kind each (6 MB; 413 from the count, not one schema error
   per item);
5. for scale, a valid filing of 10,000 items (201).

The time is from the first byte of the request sent to the status line received, while
a second thread keeps sending the body (as a client would). Run: ``python -m
bench.api_bodies``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bench.api import _free_port, _wait_for
from bench.harness import bench_app, machine
from portal.extensions import db
from portal.services import accounts, clocks, tokens
from portal.services.transaction import transaction

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
MB19 = 19 * 1024 * 1024
CHUNK = 64 * 1024


def _big_string(size: int) -> Iterator[bytes]:
    """A JSON string of ``size`` bytes, in chunks."""
    sent = 0
    while sent < size:
        n = min(CHUNK, size - sent)
        piece = bytearray(b"x" * n)
        if sent == 0:
            piece[0:1] = b'"'
        if sent + n == size:
            piece[-1:] = b'"'
        sent += n
        yield bytes(piece)


def _post(port: int, body: Iterator[bytes] | bytes, *, token: str | None,
          length: int | None) -> tuple[int, float]:
    """POST /api/v1/requests; (status, seconds until the status line came back)."""
    head = ["POST /api/v1/requests HTTP/1.1", "Host: 127.0.0.1",
            "Content-Type: application/json", "Connection: close"]
    if token:
        head.append(f"Authorization: Bearer {token}")
    chunks = [body] if isinstance(body, bytes) else body
    head.append(f"Content-Length: {length}" if length is not None
                else "Transfer-Encoding: chunked")
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send() -> None:
        try:
            for chunk in chunks:
                if length is None:
                    chunk = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                sock.sendall(chunk)
            if length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: the rest of the body is not wanted

    started = time.perf_counter()
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n" not in received:
            data = sock.recv(4096)
            if not data:
                break
            received += data
    finally:
        seconds = time.perf_counter() - started
        sock.close()
        sender.join(timeout=30)
    status = int(received.split(b" ", 2)[1]) if received.startswith(b"HTTP/") else 0
    return status, seconds


def _filing(items: list[dict[str, str]]) -> bytes:
    return json.dumps({"category": "fraud", "priority": "standard", "requested_action": "remove",
                       "issuing_authority": "Bench", "legal_basis": {"statute": "Bench Act"},
                       "items": items}).encode()


def _cases(token: str) -> list[tuple[str, object]]:
    deep = b'{"items": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    bad = _filing([{"target": "@a", "kind": "zz"}] * 200_000)
    return [
        ("19 MB, no token", lambda: (_big_string(MB19), None, MB19)),
        ("19 MB, token, Content-Length", lambda: (_big_string(MB19), token, MB19)),
        ("19 MB, token, chunked", lambda: (_big_string(MB19), token, None)),
        ("JSON 1,000 deep, token", lambda: (deep, token, len(deep))),
        ("200,000 bad items (6 MB), token", lambda: (bad, token, len(bad))),
    ]


def main() -> None:
    print(f"API bodies on {machine()}, gunicorn 2 sync workers, SQLite, median of {RUNS}")
    with tempfile.TemporaryDirectory() as tmp, bench_app("") as app:
        with transaction():
            clocks.load_defaults()
        agency = accounts.create_agency("Bench", country="TR", domain="bench.gov.tr",
                                        verified=True)
        official = accounts.create_user("o@bench.gov.tr", role="agency_official",
                                        agency_id=agency.id)
        _, token = tokens.create_token(official, "bench", scopes=["file"])
        db_url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.session.remove()
        port = _free_port()
        env = dict(os.environ, DATABASE_URL=db_url, PORTAL_ENV="production",
                   SECRET_KEY=secrets.token_hex(32), PORTAL_ATTACHMENT_DIR=json.dumps(tmp),
                   PORTAL_BASE_URL=f"https://127.0.0.1:{port}",
                   RATELIMIT_STORAGE_URI="memory://")
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
             "--bind", f"127.0.0.1:{port}", "--no-control-socket", "--log-level", "warning",
             "bench.api_app:app"], cwd=ROOT, env=env)
        try:
            _wait_for(port)
            for name, make in _cases(token):
                results = []
                for _ in range(RUNS):
                    body, auth, length = make()  # type: ignore[operator]
                    results.append(_post(port, body, token=auth, length=length))
                statuses = sorted({status for status, _ in results})
                ms = statistics.median(seconds for _, seconds in results) * 1000
                print(f"  {name:34} -> {statuses} in {ms:8.1f} ms")
            items = [{"target": f"https://x.com/user_{n}/status/{10**15 + n}", "kind": "post"}
                     for n in range(10_000)]
            body = _filing(items)
            timings = [_post(port, body, token=token, length=len(body)) for _ in range(RUNS)]
            ms = statistics.median(seconds for _, seconds in timings) * 1000
            print(f"  {'10,000 valid items (' + str(len(body) // 1024) + ' KB), token':34} -> "
                  f"{sorted({s for s, _ in timings})} in {ms:8.1f} ms")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
