"""The demo shows everything: the development mail page (development only) and
``make run`` running the worker beside the server."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from tests.conftest import dispose
from tests.factories import make_user

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def development(app: Flask, tmp_path: Path) -> Iterator[Flask]:
    """An app with development's settings on the suite's database."""
    dev = create_app({
        "ENVIRONMENT": "development",
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "WTF_CSRF_ENABLED": False,
        "MAIL_BACKEND": "log",
        "ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    })
    yield dev
    dispose(dev)


def test_the_mail_page_is_a_404_outside_development(client):
    assert client.get("/dev/mail").status_code == 404


def test_the_mail_page_is_a_404_in_production(monkeypatch, tmp_path, app):
    for name in list(os.environ):
        if name.startswith("PORTAL_") or name in {"SECRET_KEY", "DATABASE_URL"}:
            monkeypatch.delenv(name)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("PORTAL_BASE_URL", "https://localhost")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")
    production = create_app()
    try:
        client = production.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        assert client.get("/dev/mail").status_code == 404
    finally:
        dispose(production)


def test_development_lists_the_mail_sent_newest_first_with_its_links(development):
    first = make_user("legal_reviewer")
    second = make_user("platform_liaison")
    client = development.test_client()
    assert "No mail yet." in client.get("/dev/mail").get_data(as_text=True)
    for user in (first, second):
        # Sent at once (to the log): a one-time link is forgotten after sending anywhere
        # else, kept here so the page can show it.
        assert client.post("/forgot-password", data={"email": user.email}).status_code == 302
    page = client.get("/dev/mail")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    links = re.findall(r'<a href="(http://[^"]+/reset-password/[^"]+)">', html)
    assert len(links) == 2, html
    assert html.index(second.email) < html.index(first.email)  # newest first
    assert "Choose a new password for the liaison portal" in html and "Sent" in html
    # The link works: it opens the form to choose a new password.
    path = links[0].split("127.0.0.1:5000", 1)[-1]
    assert client.get(path).status_code == 200


def stub_flask(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for ``flask``: it notes each command; ``worker`` and ``run`` run until
    stopped (a server by Ctrl-C, the worker by the SIGTERM it is sent)."""
    log = tmp_path / "commands.log"
    stub = tmp_path / "flask"
    stub.write_text(f"""#!/bin/sh
log={log}
shift 2  # --app wsgi
echo "start $1" >> $log
case "$1" in
  worker) trap 'kill $child; wait $child; echo "stopped worker" >> $log; exit 0' TERM ;;
  run) trap 'kill $child; wait $child; echo "stopped run" >> $log; exit 130' INT TERM ;;
  *) exit 0 ;;
esac
sleep 600 & child=$!
wait $child
""")
    stub.chmod(0o755)
    return stub, log


def wait_for(predicate, seconds: float = 10.0) -> bool:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_make_run_runs_the_worker_and_stops_it_with_the_server(tmp_path):
    stub, log = stub_flask(tmp_path)
    # ``-o install``: the virtual environment is the suite's own, not rebuilt.
    # A terminal's Ctrl-C reaches processes that take SIGINT as it comes; the suite may
    # run in the background, where it is ignored (and that would be inherited).
    make = subprocess.Popen(
        ["make", "--no-print-directory", "-o", "install", "run", f"FLASK={stub} --app wsgi"],
        cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        assert wait_for(lambda: log.exists() and "start run" in log.read_text()
                        and "start worker" in log.read_text())
        lines = log.read_text().split("\n")
        assert lines[:2] == ["start db", "start demo"]
        # Ctrl-C in the terminal: SIGINT to the whole foreground process group.
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=10)
        assert wait_for(lambda: "stopped worker" in log.read_text()), log.read_text()
        assert "stopped run" in log.read_text()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    # Nothing of the demo is left running in its process group.
    left = subprocess.run(["ps", "-o", "stat=", "-g", str(make.pid)], capture_output=True,
                          text=True).stdout.split()
    assert [stat for stat in left if not stat.startswith("Z")] == []


def test_mail_text_is_escaped_and_only_its_addresses_are_links():
    from portal.dev.views import linked

    shown = str(linked('Hi <b>x</b> see https://portal.example/reset?a=1&b="2 then'))
    assert shown == ('Hi &lt;b&gt;x&lt;/b&gt; see <a href="https://portal.example/reset?a=1'
                     '&amp;b=">https://portal.example/reset?a=1&amp;b=</a>&#34;2 then')
