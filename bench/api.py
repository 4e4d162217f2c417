"""The JSON API over HTTP, under gunicorn (2 sync workers):

1. ``POST /api/v1/requests`` with 10,000 items, end to end: goal at most 4x the raw insert
   of the same rows on the same engine in the same run;
2. ``GET /api/v1/requests/{reference}`` with wrk: goal at least 60 % of the requests per
   second of an independent bare Flask + Flask-SQLAlchemy app doing one primary-key
   select (``bench/bare_app.py``) on the same database, served by its own gunicorn with
   the same settings; the two are driven in turns (ROUNDS rounds after a warm-up) and the
   share is the median of the rounds' ratios;
3. each gunicorn worker's resident memory at rest (after start-up, before any request;
   goal at most 80 MB) and after the load.

Run: ``make bench`` or ``python -m bench.api`` (needs Debian's wrk; SQLite only unless
BENCH_DATABASE_URL is set).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import bench_app, engines, machine, timed
from portal.extensions import db
from portal.models import LegalRequest, RequestItem
from portal.services import accounts, clocks, tokens
from portal.services.transaction import transaction

ROOT = Path(__file__).resolve().parent.parent
ITEMS = 10_000
POSTS = 5
ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "3"))
WRK = ["wrk", "-t2", "-c16", "-d4s"]
GUNICORN = ["--workers", "2", "--worker-class", "sync", "--no-control-socket",
            "--log-level", "warning"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _body(n: int) -> bytes:
    return json.dumps({
        "category": "public_order", "priority": "urgent", "requested_action": "withhold_in_country",
        "legal_basis": {"statute": "Information Technology Act, 2000",
                        "article": "Section 69A"},
        "issuing_authority": "MeitY", "order_reference": f"bench-{n}",
        "items": [{"target": f"@handle_{n}_{i:05d}"} for i in range(ITEMS)],
    }).encode()


def _wrk(url: str, token: str | None) -> float:
    command = [*WRK, url]
    if token:
        command[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses")
    assert found, out
    return float(found.group(1))


def _measure(name: str, url: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, bench_app(url) as app:
        with transaction():
            clocks.load_defaults()
        agency = accounts.create_agency("Bench", country="IN", domain="bench.gov.in",
                                        verified=True)
        official = accounts.create_user("o@bench.gov.in", role="agency_official",
                                        agency_id=agency.id)
        _, token = tokens.create_token(official, "bench", scopes=["file"])
        db_url = app.config["SQLALCHEMY_DATABASE_URI"]
        dialect = db.engine.dialect.name
        db.session.remove()
        port = _free_port()
        env = dict(os.environ, DATABASE_URL=db_url, PORTAL_ENV="production",
                   SECRET_KEY=secrets.token_hex(32), PORTAL_ATTACHMENT_DIR=json.dumps(tmp),
                   PORTAL_BASE_URL=f"https://127.0.0.1:{port}",
                   RATELIMIT_STORAGE_URI="memory://")
        redis = _start_redis(tmp)
        if redis is not None:
            # Several workers share rate limits only through Redis: the production set-up.
            env["RATELIMIT_STORAGE_URI"] = redis[1]
        # Production settings log one JSON line per request: to a file, as a deployment
        # writes them to its journal, not to the terminal running the benchmark.
        log = open(os.path.join(tmp, "gunicorn.log"), "wb")  # closed after the servers stop
        bare_port = _free_port()
        # Bytecode compiled beforehand, as the image does (Dockerfile) and as the bare
        # app's packages are: with PYTHONDONTWRITEBYTECODE each worker would compile the
        # portal's modules from source at start-up.
        subprocess.run([sys.executable, "-m", "compileall", "-q", "portal", "workflows",
                        "bench", "wsgi.py"], cwd=ROOT, check=True)
        server = _gunicorn("bench.api_app:app", port, env, log)
        bare_server = _gunicorn("bench.bare_app:app", bare_port, env, log)
        try:
            _wait_for(port)
            _wait_for(bare_port)
            rest = {"api": _worker_rss(server.pid), "bare": _worker_rss(bare_server.pid)}
            posts = []
            reference = ""
            for n in range(POSTS):
                body = _body(n)
                started = time.perf_counter()
                status, answer = _post(port, token, body)
                posts.append(time.perf_counter() - started)
                assert status == 201, (status, answer[:300])
                reference = json.loads(answer)["reference"]
            raw = [_raw_insert(dialect) for _ in range(POSTS)]
            request_id = db.session.query(LegalRequest.id).filter_by(
                reference=reference).scalar()
            db.session.remove()
            detail = f"http://127.0.0.1:{port}/api/v1/requests/{reference}"
            bare = f"http://127.0.0.1:{bare_port}/requests/{request_id}"
            _wrk(detail, token)  # warm both servers' workers
            _wrk(bare, None)
            api_rps, bare_rps = [], []
            # In turns, so that a busy moment of the shared machine weighs on both.
            for _ in range(ROUNDS):
                api_rps.append(_wrk(detail, token))
                bare_rps.append(_wrk(bare, None))
            loaded = {"api": _worker_rss(server.pid), "bare": _worker_rss(bare_server.pid)}
        finally:
            for process in (server, bare_server):
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=30)
            log.close()
            if redis is not None:
                redis[0].terminate()
                redis[0].wait(timeout=10)
    post_ms = statistics.median(posts) * 1000
    raw_ms = statistics.median(raw) * 1000
    return {"post_ms": post_ms, "raw_ms": raw_ms, "post_ratio": post_ms / raw_ms,
            "api_rps": statistics.median(api_rps), "bare_rps": statistics.median(bare_rps),
            "share": statistics.median(a / b for a, b in zip(api_rps, bare_rps, strict=True)),
            "rounds": list(zip(api_rps, bare_rps, strict=True)), "rest": rest,
            "loaded": loaded}


def _gunicorn(target: str, port: int, env: dict[str, str],
              log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", *GUNICORN, "--bind", f"127.0.0.1:{port}", target],
        cwd=ROOT, env=env, stdout=log, stderr=log)


def _worker_rss(master: int) -> list[float]:
    """Resident memory (MB) of each worker of the gunicorn ``master``, once all are up."""
    children: list[int] = []
    for _ in range(100):
        path = Path(f"/proc/{master}/task/{master}/children")
        children = [int(pid) for pid in path.read_text().split()]
        if len(children) >= 2:
            break
        time.sleep(0.1)
    # Each worker imports the app after it forks: read once the sizes stop moving.
    sizes: list[float] = []
    for _ in range(60):
        time.sleep(0.5)
        now = [_rss(pid) for pid in children]
        if now == sizes:
            break
        sizes = now
    return sizes + [_uss(pid) for pid in children]


def _rss(pid: int) -> float:
    found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) / 1024 if found else 0.0


def _uss(pid: int) -> float:
    """The worker's own memory (private pages: not shared with the master or others)."""
    text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    return sum(int(v) for v in re.findall(r"Private_(?:Clean|Dirty):\s+(\d+) kB", text)) / 1024


def _start_redis(tmp: str) -> tuple[subprocess.Popen[bytes], str] | None:
    """A private redis-server for the rate limits, when one is installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", tmp],
                               stdout=subprocess.DEVNULL)
    _wait_for(port)
    return process, f"redis://127.0.0.1:{port}/0"


def _wait_for(port: int) -> None:
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("gunicorn did not start")


def _post(port: int, token: str, body: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", "/api/v1/requests", body=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def _raw_insert(dialect: str) -> float:
    """The anchor: the same 10,000 item rows inserted the fastest plain way the driver
    has (COPY / executemany), into a holder request, then removed."""
    holder = db.session.query(LegalRequest.id).order_by(LegalRequest.id).limit(1).scalar()
    rows = [(holder, 100_000 + i, "account", f"@raw_{i:05d}", f"@raw_{i:05d}")
            for i in range(ITEMS)]
    columns = "request_id, position, kind, raw, target"

    def insert() -> None:
        with db.engine.begin() as conn:
            driver = conn.connection.driver_connection
            if dialect == "postgresql":
                with driver.cursor() as cursor:
                    with cursor.copy(f"COPY request_items ({columns}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            else:
                driver.executemany(
                    f"INSERT INTO request_items ({columns}) VALUES (?, ?, ?, ?, ?)", rows)

    seconds = timed(insert)
    with db.engine.begin() as conn:
        conn.execute(RequestItem.__table__.delete().where(
            RequestItem.__table__.c.position >= 100_000))
    return seconds


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("bench.api needs wrk (apt-get install wrk)")
    print(f"API benchmark on {machine()}, gunicorn 2 sync workers each, {' '.join(WRK)}, "
          f"{ROUNDS} rounds in turns")
    for name, url in engines():
        r = _measure(name, url)
        print(f"{name:10}  POST 10,000 items over HTTP: {r['post_ms']:7.1f} ms median; raw "
              f"insert {r['raw_ms']:6.1f} ms; ratio {r['post_ratio']:.2f}x (goal <= 4)\n"
              f"{'':10}  GET /requests/{{ref}}: {r['api_rps']:7.0f} req/s; independent bare "
              f"app {r['bare_rps']:7.0f} req/s (medians); share {100 * r['share']:.0f} % "
              f"(median of the rounds' ratios; goal >= 60 %)\n"
              f"{'':10}  rounds (api, bare): "
              + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in r["rounds"]) + "\n"
              f"{'':10}  worker RSS at rest: portal {_mb(r['rest']['api'])}, bare "
              f"{_mb(r['rest']['bare'])} (goal <= 80 MB); after the load: portal "
              f"{_mb(r['loaded']['api'])}, bare {_mb(r['loaded']['bare'])}")


def _mb(sizes: list[float]) -> str:
    """RSS of each worker, then (in brackets) each one's private memory."""
    half = len(sizes) // 2
    rss = " / ".join(f"{size:.0f}" for size in sizes[:half])
    own = " / ".join(f"{size:.0f}" for size in sizes[half:])
    return f"{rss} MB ({own} MB private)"


if __name__ == "__main__":
    main()
