"""What readiness and ``flask check`` look at: the database, its schema, the rate-limit
storage, the workers' heartbeats, the outbox, and (``check`` only) the mail server and
the document store.

Each check answers one line: ``ok``, ``degraded`` (working, in a lesser way: the portal
stays ready) or ``fail`` (not ready).
"""

from __future__ import annotations

import ast
import smtplib
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from flask import current_app

from portal.api import rate_limit
from portal.extensions import db, limiter
from portal.models import DeliveryStatus, Notification
from portal.models.columns import utcnow
from portal.services import heartbeat

Status = Literal["ok", "degraded", "fail"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str

    @property
    def ok(self) -> bool:
        return self.status != "fail"


@cache
def schema_heads() -> frozenset[str]:
    """The heads of the migrations this code ships (read once per process): the
    revisions no other revision names as its ``down_revision``.

    Read from the files' assignments rather than through Alembic's script directory,
    which would load Alembic (about 10 MB) into every web worker at its first probe;
    tests/functional/test_ops.py checks both agree.
    """
    from portal.database import MIGRATIONS_DIR

    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.Assign | ast.AnnAssign)):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if node.value is None or not names & {"revision", "down_revision"}:
                continue
            value = ast.literal_eval(node.value)
            found = {value} if isinstance(value, str) else set(value or ())
            (revisions if "revision" in names else parents).update(found)
    return frozenset(revisions - parents)


def _safe(name: str, probe: Any) -> Check:
    """Run ``probe``; any exception is a failed check naming it in one line."""
    try:
        result: Check = probe()
        return result
    except Exception as exc:  # noqa: BLE001 - a check reports, it never raises
        db.session.rollback()
        first = (str(exc).strip().splitlines() or [""])[0]
        return Check(name, "fail", f"{type(exc).__name__}: {first}"[:300])


def database() -> Check:
    def probe() -> Check:
        started = time.perf_counter()
        db.session.execute(sa.text("SELECT 1"))
        took = (time.perf_counter() - started) * 1000
        url = db.engine.url.render_as_string(hide_password=True)
        return Check("database", "ok", f"{url} answered in {took:.1f} ms")
    return _safe("database", probe)


def schema() -> Check:
    def probe() -> Check:
        current = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
        heads = schema_heads()
        if current == set(heads):
            return Check("schema", "ok", f"at head {', '.join(sorted(heads))}")
        return Check("schema", "fail", f"database at {', '.join(sorted(current)) or 'nothing'}"
                     f", code expects {', '.join(sorted(heads))}: run flask db upgrade")
    return _safe("schema", probe)


def rate_limit_storage(*, strict: bool = False) -> Check:
    """Redis when configured. Unreachable is ``degraded`` for readiness (every process
    falls back to its own memory; failing readiness everywhere would be the outage the
    fallback avoids) and ``fail`` with ``strict`` (``flask check``)."""
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    if uri.startswith("memory://"):
        return Check("rate limits", "ok", "kept in this process's memory (memory://)")

    def probe() -> Check:
        shown = _hide_password(uri)
        if limiter.storage.check():
            if rate_limit.falling_back():
                return Check("rate limits", "degraded", f"{shown} is back; this process "
                             "still counts in its own memory until its next check")
            return Check("rate limits", "ok", f"{shown} reachable")
        return Check("rate limits", "fail" if strict else "degraded",
                     f"{shown} unreachable: limits are kept per process until it is back")
    return _safe("rate limits", probe)


def worker(now: datetime | None = None) -> Check:
    now = now or utcnow()
    config = current_app.config

    def probe() -> Check:
        live = heartbeat.liveness(now)
        intervals = float(config["READY_HEARTBEAT_INTERVALS"])
        interval = live.interval_seconds or float(config["WORKER_INTERVAL"])
        if live.age_seconds is None:
            detail = (f"{live.workers} worker(s) registered, none has finished a good pass"
                      if live.workers else "no worker has ever beaten: is one running?")
        elif live.age_seconds <= intervals * interval:
            return Check("worker", "ok", f"last good pass {live.age_seconds:.0f} s ago "
                         f"(interval {interval:g} s, {live.workers} worker(s))")
        else:
            detail = (f"last good pass {live.age_seconds:.0f} s ago, more than "
                      f"{intervals:g} intervals of {interval:g} s: stalled")
        status: Status = "fail" if config["READY_REQUIRES_WORKER"] else "degraded"
        return Check("worker", status, detail)
    return _safe("worker", probe)


def outbox(now: datetime | None = None) -> Check:
    now = now or utcnow()
    limit = int(current_app.config["READY_MAX_OUTBOX_BACKLOG"])

    def probe() -> Check:
        # Counted only up to the threshold: the probe costs the same with a million due.
        due = sa.select(Notification.id).where(
            Notification.status == DeliveryStatus.PENDING,
            Notification.next_attempt_at <= now).limit(limit + 1).subquery()
        backlog = db.session.scalar(sa.select(sa.func.count()).select_from(due)) or 0
        if backlog > limit:
            return Check("outbox", "fail", f"more than {limit} notifications due")
        return Check("outbox", "ok", f"{backlog} notification(s) due (threshold {limit})")
    return _safe("outbox", probe)


def readiness(now: datetime | None = None) -> list[Check]:
    """The checks ``/readyz`` runs: a few small queries and one Redis PING."""
    now = now or utcnow()
    found = [database()]
    if found[0].ok:
        found += [schema(), worker(now), outbox(now)]
    found.append(rate_limit_storage())
    return found


def settings() -> list[Check]:
    """What the settings say, beyond what start-up already refuses (``flask check``)."""
    config = current_app.config
    env = config["ENVIRONMENT"]
    found = [Check("settings", "ok", f"{env} settings; base URL {config.get('BASE_URL')}")]
    if env != "production":
        return found
    if str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        found.append(Check("settings", "degraded", "RATELIMIT_STORAGE_URI is memory://: each "
                           "process counts its own attempts (fine for one process only)"))
    if config["MAIL_BACKEND"] != "smtp":
        found.append(Check("settings", "degraded", f"MAIL_BACKEND is "
                           f"{config['MAIL_BACKEND']!r}: no mail leaves the portal"))
    if not config.get("PROXY_HOPS"):
        found.append(Check("settings", "degraded", "PORTAL_PROXY_HOPS is 0: behind nginx or "
                           "a load balancer every address recorded is the proxy's"))
    if not config.get("OPS_TOKEN"):
        found.append(Check("settings", "ok", "PORTAL_OPS_TOKEN is not set: /metrics and "
                           "/readyz's detail only from " + ", ".join(config["OPS_NETWORKS"])))
    return found


def smtp() -> Check:
    """Connect to the mail server and greet it (``flask check`` only: no mail is sent)."""
    config = current_app.config
    if config["MAIL_BACKEND"] != "smtp":
        return Check("smtp", "ok", f"MAIL_BACKEND is {config['MAIL_BACKEND']!r}: no server")
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config["MAIL_TIMEOUT"])

    def probe() -> Check:
        context = ssl.create_default_context()
        client: smtplib.SMTP = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
                                if config["MAIL_USE_SSL"]
                                else smtplib.SMTP(host, port, timeout=timeout))
        with client:
            code, _ = client.ehlo()
            if config["MAIL_USE_TLS"]:
                client.starttls(context=context)
                client.ehlo()
            if config["MAIL_USERNAME"]:
                client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            client.noop()
        how = " with SSL" if config["MAIL_USE_SSL"] else (
            " with STARTTLS" if config["MAIL_USE_TLS"] else "")
        login = ", signed in" if config["MAIL_USERNAME"] else ""
        return Check("smtp", "ok", f"{host}:{port} answered EHLO ({code}){how}{login}")
    found = _safe("smtp", probe)
    if found.status == "fail":
        return Check("smtp", "fail", f"{host}:{port}: {found.detail}")
    return found


#: What ``flask check`` writes to the document store and reads back (kept under its
#: hash like any document; removed again when the check wrote it).
STORE_PROBE = b"liaison portal: document store check\n"


def document_store() -> Check:
    """Write, read back and remove a probe file in the document store (``flask check``
    only): the directory or bucket exists and the portal's permissions are enough."""
    from portal import storage
    from portal.services.attachments import digest

    config = current_app.config
    kind = str(config.get("DOCUMENT_STORAGE") or "local").lower()
    where = (config["ATTACHMENT_DIR"] if kind == "local"
             else f"s3 bucket {config.get('S3_BUCKET')} at "
                  f"{config.get('S3_ENDPOINT_URL') or 'AWS'}")

    def probe() -> Check:
        store, key = storage.current(), digest(STORE_PROBE)
        wrote = store.put(key, STORE_PROBE)
        try:
            if store.get(key) != STORE_PROBE:
                return Check("documents", "fail", f"{where}: read back other bytes")
        finally:
            if wrote:
                store.delete(key)
        return Check("documents", "ok", f"{where}: written, read back and removed")
    found = _safe("documents", probe)
    if found.status == "fail" and not found.detail.startswith(where):
        return Check("documents", "fail", f"{where}: {found.detail}")
    return found


def _hide_password(uri: str) -> str:
    try:
        return sa.make_url(uri).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy knows: show its scheme only
        return uri.split("://", 1)[0] + "://…"
