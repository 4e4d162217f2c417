#!/usr/bin/env python3
"""The whole production topology on one machine, under load, with faults.

Starts PostgreSQL (a private cluster), PgBouncer in transaction mode in front of it (when
Debian's pgbouncer is installed), Redis, an SMTP sink, two web instances of two gunicorn
workers each and two SLA workers (all through ``deploy/entrypoint.sh``, the container
image's entrypoint, with production settings), and nginx in front with
``deploy/nginx.conf`` (only addresses and paths rewritten) over TLS. Then, for
``--seconds``, agencies file through the API (each filing with an Idempotency-Key, retried
until acknowledged), a reviewer reviews and decides, readers read, ten slow clients hold
connections open, and faults are injected on a schedule:

  kill -9 of a gunicorn worker        PostgreSQL stopped for 4 s and started
  kill -9 of an SLA worker            Redis stopped for 8 s
  (restarted 2 s later, as systemd)   the SMTP server stopped for 6 s

Afterwards it waits for the workers to catch up and checks: no acknowledged filing lost
or stored twice; every SLA threshold alerted once and every alert mailed (each mail's
Message-ID received; copies counted); ``flask audit verify`` clean; 5xx answers and
failed connections only inside fault windows (none at all while Redis is away); the
slow clients never held up the probes. Exit status 0 when every check holds.

    python deploy/topology.py --seconds 60          # what `make test` runs (PostgreSQL pass)
    python deploy/topology.py --seconds 600         # `make soak`

Needs Debian's postgresql, redis-server and nginx (pgbouncer optional) and the project's
virtualenv (aiosmtpd for the sink). Every server listens on loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "portal.test"
#: A probe of /healthz slower than this (its timeout is 10 s) was blocked, not slow.
PROBE_BLOCKED = 8.0
PYTHON_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {port} after {timeout} s") from None
            time.sleep(0.05)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- the servers --------------------------------------------------------------------------

class Postgres:
    def __init__(self, workdir: Path) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                       key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)])
        if not found:
            raise SystemExit("topology: needs Debian's postgresql package")
        self.bin = found[-1].parent
        self.dir = workdir / "pg"
        self.dir.mkdir()
        self.dir.chmod(0o755)
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_owner:
            shutil.chown(self.dir, "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/portal"

    def run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin / program), *args], check=True,
                       capture_output=True, timeout=120)

    def create(self) -> None:
        self.run("initdb", "-D", f"{self.dir}/data", "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")

    def start(self) -> None:
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-l", f"{self.dir}/log", "-w", "-o",
                 f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                 "-c max_connections=100", "start")

    def stop(self) -> None:
        self.run("pg_ctl", "-D", f"{self.dir}/data", "-m", "fast", "-w", "stop")


class PgBouncer:
    """Transaction pooling between the portal and PostgreSQL (as docs/OPERATIONS.md)."""

    def __init__(self, postgres: Postgres) -> None:
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/portal"
        directory = postgres.dir
        (directory / "userlist.txt").write_text('"postgres" ""\n')
        (directory / "pgbouncer.ini").write_text(f"""[databases]
portal = host=127.0.0.1 port={postgres.port} dbname=portal user=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {directory}/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 400
server_reset_query =
server_login_retry = 1
logfile = {directory}/pgbouncer.log
ignore_startup_parameters = extra_float_digits,options
""")
        for name in ("userlist.txt", "pgbouncer.ini"):
            (directory / name).chmod(0o644)
        self.process = subprocess.Popen([*postgres.as_owner, shutil.which("pgbouncer") or "",
                                         str(directory / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Redis:
    def __init__(self, workdir: Path) -> None:
        if not shutil.which("redis-server"):
            raise SystemExit("topology: needs Debian's redis-server package")
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


SINK = """
import sys
from aiosmtpd.controller import Controller
out = open(sys.argv[2], "a", buffering=1)
class Sink:
    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("message-id:"):
                out.write(line.split(":", 1)[1].strip() + "\\n")
                break
        return "250 OK"
server = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"""


class SmtpSink:
    """An SMTP server in a process of its own that writes each mail's Message-ID to a file."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.file = workdir / "received-message-ids.txt"
        self.file.touch()
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", SINK, str(self.port),
                                         str(self.file)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.communicate("", timeout=10)

    def received(self) -> list[str]:
        return [line for line in self.file.read_text().splitlines() if line]


class Portal:
    """The portal's processes, each started by deploy/entrypoint.sh."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir, self.env = workdir, env
        self.webs: list[tuple[subprocess.Popen[bytes], int]] = []
        self.workers: list[subprocess.Popen[bytes] | None] = []
        self.logs: list[Any] = []

    def _start(self, name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        out = (self.workdir / f"{name}.log").open("ab")
        self.logs.append(out)
        return subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh"), *args],
                                env=dict(self.env, **extra), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def run(self, *args: str, direct_url: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if direct_url:
            env["DATABASE_URL"] = direct_url
        return subprocess.run([str(ROOT / "deploy" / "entrypoint.sh"), *args], env=env,
                              capture_output=True, text=True, timeout=600)

    def start_web(self, name: str) -> int:
        port = free_port()
        metrics = self.workdir / f"metrics-{name}"
        process = self._start(f"web-{name}", "web", PORTAL_BIND=f"127.0.0.1:{port}",
                              WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(metrics))
        wait_for_port(port, 60)
        self.webs.append((process, port))
        return port

    def start_worker(self, index: int) -> None:
        process = self._start(f"worker-{index}", "worker", "--interval", "1",
                              "--max-backoff", "4")
        while len(self.workers) <= index:
            self.workers.append(None)
        self.workers[index] = process

    def kill_web_worker(self, index: int) -> int:
        arbiter = self.webs[index][0].pid
        children = subprocess.run(["pgrep", "-P", str(arbiter)], capture_output=True,
                                  text=True).stdout.split()
        victim = int(children[0])
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill_worker(self, index: int) -> int:
        process = self.workers[index]
        assert process is not None
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        return process.pid

    def stop(self) -> None:
        processes = [p for p, _ in self.webs] + [w for w in self.workers if w is not None]
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
        for out in self.logs:
            out.close()


class Nginx:
    """nginx with deploy/nginx.conf, its addresses and paths rewritten for loopback."""

    def __init__(self, workdir: Path, upstreams: list[int]) -> None:
        if not shutil.which("nginx"):
            raise SystemExit("topology: needs Debian's nginx package")
        self.dir = workdir / "nginx"
        (self.dir / "tmp").mkdir(parents=True)
        self.port = free_port()
        self.http_port = free_port()
        self.cert, key = self.dir / "cert.pem", self.dir / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(key), "-out", str(self.cert), "-days", "2",
                        "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}"],
                       check=True, capture_output=True)
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        servers = "\n".join(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
                            for port in upstreams)
        replacements = [
            ("    server 127.0.0.1:8000 max_fails=1 fail_timeout=5s;", servers),
            ("portal.example.org.pem", "CERT"), ("portal.example.org.key", "KEY"),
            ("/etc/ssl/certs/CERT", str(self.cert)), ("/etc/ssl/private/KEY", str(key)),
            ("portal.example.org", HOST),
            ("/srv/portal/", f"{ROOT}/"),
            ("/var/log/nginx/", f"{self.dir}/"),
            ("    listen 443 ssl http2;", f"    listen 127.0.0.1:{self.port} ssl http2;"),
            ("    listen 80;", f"    listen 127.0.0.1:{self.http_port};"),
            ("    listen [::]:443 ssl http2;\n", ""), ("    listen [::]:80;\n", ""),
        ]
        for old, new in replacements:
            if old not in site:
                raise SystemExit(f"topology: deploy/nginx.conf no longer has {old!r}")
            site = site.replace(old, new)
        (self.dir / "site.conf").write_text(site)
        user = "user root root;\n" if os.geteuid() == 0 else ""
        temp = "".join(f"    {kind}_temp_path {self.dir}/tmp/{kind};\n"
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (self.dir / "nginx.conf").write_text(
            f"{user}worker_processes 2;\npid {self.dir}/nginx.pid;\n"
            f"error_log {self.dir}/error.log warn;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    default_type application/octet-stream;\n{temp}"
            f"    access_log {self.dir}/access.log;\n    include {self.dir}/site.conf;\n}}\n")
        check = subprocess.run(self.command("-t"), capture_output=True, text=True)
        if check.returncode:
            raise SystemExit(f"topology: nginx refuses its configuration:\n{check.stderr}")
        self.process = subprocess.Popen(self.command("-g", "daemon off;"),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def command(self, *args: str) -> list[str]:
        return ["nginx", "-p", str(self.dir), "-c", str(self.dir / "nginx.conf"), *args]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


# -- the load -----------------------------------------------------------------------------

@dataclass
class Record:
    """Everything the clients saw."""

    started: float = field(default_factory=time.monotonic)
    responses: list[tuple[float, str, int]] = field(default_factory=list)  # (t, kind, status)
    acknowledged: dict[str, str] = field(default_factory=dict)  # idempotency key -> reference
    attempted: set[str] = field(default_factory=set)
    probes: list[tuple[float, float]] = field(default_factory=list)  # (t, seconds)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def saw(self, kind: str, status: int) -> None:
        with self.lock:
            self.responses.append((self.now(), kind, status))


class Client:
    """HTTPS to nginx on loopback, addressed to the portal's host name."""

    def __init__(self, port: int, cert: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(cert))
        self.context.check_hostname = False  # connecting to 127.0.0.1 by address

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None, timeout: float = 30) -> tuple[int, Any]:
        """(status, parsed JSON or None); status 0 for a failed connection."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.context)
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Host": HOST, **(headers or {})}
        if data is not None:
            sent["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            raw = response.read()
            try:
                parsed = json.loads(raw) if raw.startswith((b"{", b"[")) else None
            except ValueError:
                parsed = None
            return response.status, parsed
        except (OSError, http.client.HTTPException):
            return 0, None
        finally:
            conn.close()


class Load:
    def __init__(self, client: Client, tokens: dict[str, Any], record: Record,
                 until: float) -> None:
        self.client, self.tokens, self.record, self.until = client, tokens, record, until
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def running(self) -> bool:
        return not self.stop.is_set() and self.record.now() < self.until

    def start(self) -> None:
        for index, token in enumerate(self.tokens["filers"]):
            self._thread(self.filer, index, token)
        self._thread(self.reviewer)
        for _ in range(2):
            self._thread(self.reader)
        self._thread(self.prober)
        self._thread(self.slow_clients)

    def _thread(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(120)

    def filer(self, index: int, token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        rng = random.Random(index)
        while self.running():
            key = uuid.uuid4().hex
            with self.record.lock:
                self.record.attempted.add(key)
            body = {"category": "fraud", "priority": "standard", "issuing_authority": "BTK",
                    "requested_action": "withhold_in_country",
                    "legal_basis": {"statute": "Law No. 5651", "article": "Art. 8/A"},
                    "order_reference": key,
                    "items": [{"target": f"@t{rng.randrange(10**9)}"} for _ in range(3)]}
            # Retried with the same key until acknowledged: what a careful client does.
            for attempt in range(60):
                status, data = self.client.call("POST", "/api/v1/requests", body,
                                                {**auth, "Idempotency-Key": key})
                self.record.saw("file", status)
                if status in (200, 201) and data:
                    with self.record.lock:
                        self.record.acknowledged[key] = data["reference"]
                    break
                time.sleep(0.25 if attempt < 20 else 1)
            time.sleep(0.4)

    def reviewer(self) -> None:
        auth = {"Authorization": f"Bearer {self.tokens['reviewer']}"}
        done: set[str] = set()
        while self.running():
            with self.record.lock:
                waiting = [r for r in self.record.acknowledged.values() if r not in done]
            if not waiting:
                time.sleep(0.2)
                continue
            reference = waiting[0]
            done.add(reference)
            base = f"/api/v1/requests/{reference}"
            status, data = self.client.call("POST", f"{base}/actions/begin_review", {},
                                            auth)
            self.record.saw("review", status)
            if status != 200 or not data:
                continue
            status, data = self.client.call("POST", f"{base}/decisions", {
                "all_pending": True, "decision": "withheld_in_country",
                "expected_version": data["version"]}, auth)
            self.record.saw("decide", status)
            if status == 200 and data:
                status, _ = self.client.call("POST", f"{base}/actions/action",
                                             {"expected_version": data["version"]}, auth)
                self.record.saw("action", status)
            time.sleep(0.3)

    def reader(self) -> None:
        auth = {"Authorization": f"Bearer {self.tokens['filers'][0]}"}
        paths = [("/api/v1/requests?per_page=20", auth), ("/", {}),
                 ("/static/css/portal.css", {}), ("/login", {})]
        while self.running():
            path, headers = random.choice(paths)
            status, _ = self.client.call("GET", path, None, headers)
            self.record.saw("read", status)
            time.sleep(0.05)

    def prober(self) -> None:
        while self.running():
            started = time.monotonic()
            status, _ = self.client.call("GET", "/healthz", timeout=10)
            took = time.monotonic() - started
            self.record.saw("probe", status)
            with self.record.lock:
                self.record.probes.append((self.record.now(), took))
            time.sleep(0.25)

    def slow_clients(self) -> None:
        """Ten clients that send a POST one byte a second (they held two sync workers
        forever without a proxy): nginx waits for them, nobody else does."""
        sockets = []
        for _ in range(10):
            try:
                raw = socket.create_connection(("127.0.0.1", self.client.port), timeout=5)
                conn = self.client.context.wrap_socket(raw)
                conn.sendall(f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
                             "application/x-www-form-urlencoded\r\nContent-Length: 100000"
                             "\r\n\r\n".encode())
                sockets.append(conn)
            except OSError:
                pass
        while self.running():
            for conn in list(sockets):
                try:
                    conn.sendall(b"a")
                except OSError:
                    sockets.remove(conn)
            time.sleep(1)
        for conn in sockets:
            conn.close()


# -- the faults ---------------------------------------------------------------------------

@dataclass
class Window:
    name: str
    start: float
    end: float


class Faults:
    """One cycle of faults every 60 seconds (scaled to the run if shorter)."""

    GRACE = 4.0  # seconds after a fault during which its errors still count as its own

    def __init__(self, topology: Topology, record: Record, seconds: float) -> None:
        self.t, self.record, self.seconds = topology, record, seconds
        self.windows: list[Window] = []
        self.events: list[str] = []

    def at(self, when: float) -> bool:
        while self.record.now() < when:
            time.sleep(0.05)
        return self.record.now() < self.seconds

    def note(self, name: str, start: float) -> None:
        self.windows.append(Window(name, start, self.record.now() + self.GRACE))
        self.events.append(f"{start:6.1f}-{self.record.now():5.1f} s  {name}")
        log(f"fault done: {name}")

    def run(self) -> None:
        cycle = 0.0
        while cycle + 55 <= max(self.seconds, 60):
            self.one_cycle(cycle)
            cycle += 60

    def one_cycle(self, base: float) -> None:
        t = self.t
        if not self.at(base + 8):
            return
        start = self.record.now()
        victim = t.portal.kill_web_worker(0)
        self.note(f"kill -9 gunicorn worker {victim} (web A)", start)
        if not self.at(base + 14):
            return
        start = self.record.now()
        victim = t.portal.kill_worker(0)
        time.sleep(2)
        t.portal.start_worker(0)
        self.note(f"kill -9 SLA worker {victim}, restarted after 2 s", start)
        if not self.at(base + 20):
            return
        start = self.record.now()
        t.postgres.stop()
        time.sleep(4)
        t.postgres.start()
        self.note("PostgreSQL stopped for 4 s (pg_ctl stop -m fast, start)", start)
        if not self.at(base + 32):
            return
        start = self.record.now()
        t.redis.stop()
        time.sleep(8)
        t.redis.start()
        self.note("Redis stopped for 8 s", start)
        if not self.at(base + 44):
            return
        start = self.record.now()
        t.smtp.stop()
        time.sleep(6)
        t.smtp.start()
        self.note("SMTP server stopped for 6 s", start)
        if not self.at(base + 52):
            return
        start = self.record.now()
        victim = t.portal.kill_web_worker(1)
        self.note(f"kill -9 gunicorn worker {victim} (web B)", start)


# -- the run ------------------------------------------------------------------------------

SETUP = """
import json
from datetime import timedelta
from portal import create_app
from portal.extensions import db
from portal.models import SlaPolicy
from portal.models.columns import utcnow
from portal.services import accounts, clocks, tokens
from portal.services.transaction import transaction
from workflows import sla

app = create_app()
with app.app_context():
    now = utcnow()
    with transaction():
        clocks.load_defaults()
        # Short clocks, so that every threshold of most requests is crossed in the run.
        short = sla.Policy(code="topology", name="Topology test", source="deploy/topology.py",
                           targets={sla.Target.ACKNOWLEDGE: sla.TargetRule(
                                        sla.ClockKind.ELAPSED, timedelta(seconds=8)),
                                    sla.Target.RESOLVE: sla.TargetRule(
                                        sla.ClockKind.ELAPSED, timedelta(seconds=16))})
        db.session.add(SlaPolicy(**clocks.policy_row(short, -1)))
    agency = accounts.create_agency("BTK", country="TR", domain="btk.gov.tr", verified=True,
                                    verified_until=now + timedelta(days=30), now=now)
    filers = []
    for n in range(4):
        user = accounts.create_user(f"official{n}@btk.gov.tr", role="agency_official",
                                    agency_id=agency.id)
        filers.append(tokens.create_token(user, "topology", scopes=["read", "file"])[1])
    reviewer = accounts.create_user("reviewer@platform.example", role="legal_reviewer")
    accounts.create_user("liaison@platform.example", role="platform_liaison")
    review = tokens.create_token(reviewer, "topology", scopes=["read", "act"])[1]
    print(json.dumps({"filers": filers, "reviewer": review}))
"""


class Topology:
    def __init__(self, workdir: Path, pgbouncer: bool) -> None:
        self.workdir = workdir
        self.postgres = Postgres(workdir)
        self.redis = Redis(workdir)
        self.smtp = SmtpSink(workdir)
        self.use_pgbouncer = pgbouncer and bool(shutil.which("pgbouncer"))
        self.bouncer: PgBouncer | None = None
        self.nginx: Nginx | None = None
        self.portal: Portal  # set by start()

    def start(self) -> dict[str, Any]:
        log(f"workdir {self.workdir}")
        self.postgres.create()
        log(f"PostgreSQL on {self.postgres.port}")
        if self.use_pgbouncer:
            self.bouncer = PgBouncer(self.postgres)
            log(f"PgBouncer (transaction mode) on {self.bouncer.port}")
        self.redis.start()
        self.smtp.start()
        log(f"Redis on {self.redis.port}, SMTP sink on {self.smtp.port}")
        url = self.bouncer.url if self.bouncer else self.postgres.url
        env = dict(os.environ, PORTAL_ENV="production", SECRET_KEY=secrets.token_hex(32),
                   DATABASE_URL=url, PORTAL_BASE_URL=f"https://{HOST}",
                   RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{self.redis.port}/0",
                   PORTAL_PROXY_HOPS="1", PORTAL_OPS_TOKEN=secrets.token_hex(16),
                   PORTAL_MAIL_SERVER='"127.0.0.1"', PORTAL_MAIL_PORT=str(self.smtp.port),
                   PORTAL_MAIL_SENDER='"Portal <portal@platform.example>"',
                   PORTAL_MAIL_TIMEOUT="5", PORTAL_OUTBOX_RETRY_SECONDS="2",
                   PORTAL_API_RATE_LIMIT='"100000 per minute"',
                   PORTAL_ATTACHMENT_DIR=str(self.workdir / "attachments"),
                   PORTAL_PYTHON_BIN=str(PYTHON_BIN))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.pop("TEST_DATABASE_URL", None)
        if self.bouncer:
            env["PORTAL_SQLALCHEMY_ENGINE_OPTIONS"] = (
                '{"pool_pre_ping": true, "connect_args": {"prepare_threshold": null}}')
        self.portal = Portal(self.workdir, env)
        migrated = self.portal.run("migrate", direct_url=self.postgres.url)
        if migrated.returncode:
            raise SystemExit(f"topology: migration failed:\n{migrated.stderr}")
        setup = subprocess.run([sys.executable, "-c", SETUP], env=env, cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
        if setup.returncode:
            raise SystemExit(f"topology: setup failed:\n{setup.stderr}")
        tokens = json.loads(setup.stdout.strip().splitlines()[-1])
        ports = [self.portal.start_web("a"), self.portal.start_web("b")]
        self.portal.start_worker(0)
        self.portal.start_worker(1)
        log(f"web instances on {ports}, two workers")
        self.nginx = Nginx(self.workdir, ports)
        log(f"nginx (deploy/nginx.conf) on https://127.0.0.1:{self.nginx.port}")
        checked = self.portal.run("check")
        log("flask check:\n    " + "\n    ".join(checked.stdout.strip().splitlines()))
        return tokens

    def stop(self) -> None:
        # Whatever started: a start that failed half way stops what it had started.
        for step in (lambda: self.nginx and self.nginx.stop(),
                     lambda: getattr(self, "portal", None) and self.portal.stop(),
                     lambda: self.bouncer and self.bouncer.stop(), self.smtp.stop,
                     self.redis.stop, self.postgres.stop):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - stop everything that can be stopped
                log(f"stopping: {type(exc).__name__}: {exc}")


def database_facts(url: str) -> dict[str, Any]:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            refs = conn.execute(sa.text(
                "SELECT order_reference, count(*) FROM legal_requests GROUP BY 1")).all()
            alerts = conn.execute(sa.text(
                "SELECT request_id, payload->>'target', payload->>'threshold', count(*) "
                "FROM events WHERE kind = 'sla_alert' GROUP BY 1, 2, 3")).all()
            per_clock = conn.execute(sa.text(
                "SELECT fired, count(*) FROM sla_clocks GROUP BY fired ORDER BY fired")).all()
            notes = conn.execute(sa.text(
                "SELECT id, status, template FROM notifications")).all()
            unswept = conn.scalar(sa.text(
                "SELECT count(*) FROM sla_clocks WHERE next_alert_at <= now()"))
            pending = conn.scalar(sa.text(
                "SELECT count(*) FROM notifications WHERE status = 'pending'"))
    finally:
        engine.dispose()
    return {"refs": {r: n for r, n in refs}, "alerts": alerts, "per_clock": per_clock,
            "notes": notes, "unswept": unswept, "pending": pending}


def settle(url: str, timeout: float) -> dict[str, Any]:
    """Wait until every due alert has fired and the outbox is empty."""
    deadline = time.monotonic() + timeout
    while True:
        facts = database_facts(url)
        if (facts["unswept"] == 0 and facts["pending"] == 0) or time.monotonic() > deadline:
            return facts
        time.sleep(1)


def report(record: Record, faults: Faults, facts: dict[str, Any], received: list[str],
           verify: subprocess.CompletedProcess[str], pgbouncer: bool) -> list[str]:
    """Print what happened; return the checks that failed."""
    failures: list[str] = []
    statuses = Counter(status for _, _, status in record.responses)
    by_kind: dict[str, Counter[int]] = defaultdict(Counter)
    for _, kind, status in record.responses:
        by_kind[kind][status] += 1
    print("\n== topology: requests ==")
    print(f"  {len(record.responses)} requests through nginx: " + ", ".join(
        f"{status or 'no answer'}: {n}" for status, n in sorted(statuses.items())))
    for kind, counts in sorted(by_kind.items()):
        print(f"    {kind:7} " + ", ".join(f"{s or 'no answer'}: {n}"
                                        for s, n in sorted(counts.items())))
    print("\n== errors (5xx or no answer) per fault window ==")

    def window_of(t: float) -> Window | None:
        return next((w for w in faults.windows if w.start <= t <= w.end), None)

    errors = [(t, kind, s) for t, kind, s in record.responses if s == 0 or s >= 500]
    per_window: Counter[str] = Counter()
    outside = []
    for t, kind, status in errors:
        window = window_of(t)
        if window is None:
            outside.append((t, kind, status))
        else:
            per_window[window.name] += 1
    for window in faults.windows:
        print(f"  {window.start:6.1f}-{window.end:5.1f} s  {window.name}: "
              f"{per_window[window.name]}")
    print(f"  outside every fault window: {len(outside)}")
    if outside:
        failures.append(f"{len(outside)} errors outside fault windows: {outside[:10]}")
    redis_errors = sum(n for name, n in per_window.items() if name.startswith("Redis"))
    if redis_errors:
        failures.append(f"{redis_errors} errors while Redis was away (should degrade)")
    print("\n== filings ==")
    stored = facts["refs"]
    acknowledged = set(record.acknowledged)
    lost = sorted(acknowledged - set(stored))
    doubled = sorted(k for k, n in stored.items() if n > 1)
    strays = sorted(set(stored) - record.attempted)
    print(f"  attempted {len(record.attempted)}, acknowledged {len(acknowledged)}, stored "
          f"{sum(stored.values())} ({len(stored)} distinct keys); lost {len(lost)}, stored "
          f"twice {len(doubled)}, stored but never sent {len(strays)}")
    unacknowledged = len(record.attempted - acknowledged)
    print(f"  still unacknowledged when the load stopped: {unacknowledged} (retrying "
          "clients cut off by the end of the run)")
    if lost or doubled or strays:
        failures.append(f"filings: lost {lost[:5]}, doubled {doubled[:5]}, strays {strays[:5]}")
    print("\n== SLA alerts ==")
    alerts = facts["alerts"]
    twice = [a for a in alerts if a[3] > 1]
    print(f"  {len(alerts)} thresholds alerted, {len(twice)} of them more than once")
    print("  clocks by thresholds fired: " + ", ".join(f"{fired}: {n}"
                                                   for fired, n in facts["per_clock"]))
    print(f"  clocks with an alert still due after settling: {facts['unswept']}")
    if twice:
        failures.append(f"{len(twice)} thresholds alerted more than once")
    if facts["unswept"]:
        failures.append(f"{facts['unswept']} due alerts never fired")
    print("\n== mail ==")
    notes = facts["notes"]
    by_status = Counter(status for _, status, _ in notes)
    ids = Counter(received)
    wanted = {f"<notification-{i}@platform.example>" for i, _, _ in notes}
    missing = wanted - set(ids)
    copies = sum(n - 1 for n in ids.values())
    alert_mails = sum(1 for _, _, template in notes if template in ("sla_alert", "sla_breach"))
    print(f"  {len(notes)} notifications ({alert_mails} alert mails): " + ", ".join(
        f"{s}: {n}" for s, n in sorted(by_status.items())))
    print(f"  {len(received)} mails received, {len(ids)} distinct Message-IDs; not received "
          f"{len(missing)}; copies {copies} (a worker killed mid-batch re-sends that batch "
          "with the same Message-IDs)")
    if missing or by_status.get("pending") or by_status.get("failed"):
        failures.append(f"mail: {len(missing)} never received, {dict(by_status)}")
    if copies > 200:
        failures.append(f"{copies} copies: more than one batch")
    print("\n== slow clients and probes ==")
    calm = [took for t, took in record.probes if window_of(t) is None]
    if calm:
        ordered = sorted(calm)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        print(f"  {len(record.probes)} probes of /healthz while 10 slow clients held "
              f"connections; outside fault windows median {statistics.median(calm) * 1000:.0f}"
              f" ms, p99 {p99 * 1000:.0f} ms, max {max(calm) * 1000:.0f} ms")
        # Blocked, not slow: before the proxy no probe was answered at all (0 of 9 in
        # 90 s). A busy machine (the rest of the suite beside this run) makes a probe
        # take seconds now and then; that is what the figures above are for.
        blocked = [took for took in calm if took >= PROBE_BLOCKED]
        if blocked:
            failures.append(f"{len(blocked)} probe(s) outside fault windows not answered "
                            f"within {PROBE_BLOCKED:.0f} s (blocked)")
    print("\n== audit ==")
    print("  flask audit verify: " + (verify.stdout.strip().splitlines() or ["(nothing)"])[-1])
    if verify.returncode:
        failures.append(f"audit verify failed:\n{verify.stdout}\n{verify.stderr}")
    print(f"\n== database connections: {'PgBouncer, transaction mode' if pgbouncer else 'direct'}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    parser.add_argument("--workdir", type=Path, help="keep logs here (default: a temporary "
                        "folder, removed unless the run fails)")
    parser.add_argument("--no-pgbouncer", action="store_true", help="connect directly")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="portal-topology."))
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    topology = Topology(workdir, pgbouncer=not args.no_pgbouncer)
    failures: list[str] = ["did not finish"]
    try:
        tokens = topology.start()
        assert topology.nginx is not None
        record = Record()
        client = Client(topology.nginx.port, topology.nginx.cert)
        load = Load(client, tokens, record, args.seconds)
        faults = Faults(topology, record, args.seconds)
        log(f"load for {args.seconds:g} s, with faults")
        load.start()
        faults.run()
        while record.now() < args.seconds:
            time.sleep(0.2)
        load.stop.set()
        load.join()
        log("load stopped; waiting for the workers to catch up")
        facts = settle(topology.postgres.url, timeout=90)
        verify = topology.portal.run(str(PYTHON_BIN / "flask"), "--app", "wsgi", "audit",
                                     "verify",
                                     direct_url=topology.postgres.url)
        received = topology.smtp.received()
        print("\n== faults ==")
        for line in faults.events:
            print(f"  {line}")
        failures = report(record, faults, facts, received, verify, topology.bouncer is not None)
    finally:
        topology.stop()
    if failures:
        print("\nTOPOLOGY FAILED:\n  " + "\n  ".join(failures))
        print(f"logs kept in {workdir}")
        return 1
    print("\ntopology: every check held")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
