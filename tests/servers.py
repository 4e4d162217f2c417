"""Real servers for tests that need processes: a throwaway redis-server, and the portal's
web processes started the way production starts them (deploy/entrypoint.sh web)."""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[1]


class RedisServer:
    """A redis-server of the test's own on a free loopback port (as .ci/with-redis starts
    one), which the test may stop and start again on the same port."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="portal-redis."))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary, "needs Debian's redis-server (make test installs it)"
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_port(port: int, timeout: float) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {timeout} s") \
                    from None
            time.sleep(0.05)


def portal_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a portal process on ``database_url`` (testing settings, the
    test runner's virtualenv)."""
    env = dict(os.environ, DATABASE_URL=database_url, PORTAL_ENV="testing",
               PORTAL_MAIL_BACKEND='"log"', PORTAL_PYTHON_BIN=str(Path(sys.executable).parent))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(settings)
    return env


class WebServer:
    """``deploy/entrypoint.sh web`` (gunicorn) on a free loopback port."""

    def __init__(self, env: Mapping[str, str], *, workers: int = 1,
                 log: Path | None = None) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="portal-web."))
        self.metrics_dir = self.dir / "metrics"
        environment = dict(env, PORTAL_BIND=f"127.0.0.1:{self.port}",
                           WEB_CONCURRENCY=str(workers),
                           PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir))
        # A log of this server's own (two servers at once, in the two passes of the
        # suite, once shared one file and truncated each other's lines).
        self.log_path = log or self.dir / "web.log"
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh"), "web"],
                                        env=environment, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, 60)

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: Mapping[str, str] | None = None,
                timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
