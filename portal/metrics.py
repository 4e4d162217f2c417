"""Prometheus metrics: the request timings each process counts, and readings of the
database taken at each scrape (requests by state, open clocks by band, breaches, the
outbox, webhook failures, the workers' heartbeats).

Under gunicorn every worker process counts its own requests; with
``PROMETHEUS_MULTIPROC_DIR`` set (deploy/entrypoint.sh sets it) the counts go to files in
that folder and ``/metrics`` adds up every worker's, whichever worker answers the scrape.
The database readings are taken once per scrape by the process that answers it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from portal.api import rate_limit
from portal.extensions import db
from portal.models import DeliveryStatus, LegalRequest, Notification, SlaClock
from portal.models.columns import utcnow
from portal.services import dashboard, heartbeat

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: The registry the per-process metrics live in (the default one without multiprocess
#: mode; with it, each process writes files and the registry only names the metrics).
_REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds", "Time to answer a request, by endpoint",
    ["endpoint", "method"], registry=_REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
REQUESTS = Counter(
    "portal_http_requests", "Requests answered, by endpoint and status code",
    ["endpoint", "method", "status"], registry=_REGISTRY)
RATELIMIT_FALLBACK = Gauge(
    "portal_ratelimit_fallback", "1 while this process keeps rate limits in its own "
    "memory because the shared storage (Redis) is unreachable",
    registry=_REGISTRY, multiprocess_mode="livemax")
RATELIMIT_FALLBACK_REQUESTS = Counter(
    "portal_ratelimit_fallback_requests", "Requests rate-limited per process because the "
    "shared storage was unreachable", registry=_REGISTRY)
RATELIMIT_STORAGE_FAILURES = Counter(
    "portal_ratelimit_storage_failures", "Times a process lost the shared rate-limit "
    "storage and fell back to its own memory", registry=_REGISTRY)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class DatabaseReadings(Collector):
    """Gauges read from the database when scraped (small, indexed queries)."""

    def collect(self) -> Iterator[PromMetric]:
        now = utcnow()
        yield from self._requests()
        yield from self._clocks(now)
        yield from self._outbox(now)
        yield from self._workers(now)

    @staticmethod
    def _requests() -> Iterator[PromMetric]:
        family = GaugeMetricFamily("portal_requests", "Legal requests by state",
                                   labels=["state"])
        for state, n in db.session.execute(
                sa.select(LegalRequest.state, sa.func.count()).group_by(LegalRequest.state)):
            family.add_metric([state.value], n)
        yield family

    @staticmethod
    def _clocks(now: datetime) -> Iterator[PromMetric]:
        bands = GaugeMetricFamily("portal_sla_open_clocks", "Running SLA clocks by band",
                                  labels=["band"])
        for name, n in sorted(dashboard.open_clocks_by_band(now).items()):
            bands.add_metric([name], n)
        yield bands
        breached = db.session.scalar(sa.select(sa.func.count()).where(
            SlaClock.breached_at.is_not(None))) or 0
        yield GaugeMetricFamily("portal_sla_breaches", "SLA clocks that have breached "
                                "their deadline (running or stopped)", value=breached)

    @staticmethod
    def _outbox(now: datetime) -> Iterator[PromMetric]:
        backlog, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(Notification.next_attempt_at)).where(
                Notification.status == DeliveryStatus.PENDING,
                Notification.next_attempt_at <= now)).one()
        yield GaugeMetricFamily("portal_outbox_backlog", "Notifications due and not yet "
                                "delivered", value=backlog)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        yield GaugeMetricFamily("portal_outbox_oldest_due_seconds", "How long the oldest "
                                "due notification has waited", value=max(0.0, age))
        failed = GaugeMetricFamily("portal_outbox_failed", "Notifications given up on, by "
                                   "channel (webhook failures are channel=\"webhook\")",
                                   labels=["channel"])
        for channel, n in db.session.execute(
                sa.select(Notification.channel, sa.func.count())
                .where(Notification.status == DeliveryStatus.FAILED)
                .group_by(Notification.channel)):
            failed.add_metric([channel], n)
        yield failed
        retrying = db.session.scalar(sa.select(sa.func.count()).where(
            Notification.channel == "webhook", Notification.status == DeliveryStatus.PENDING,
            Notification.attempts > 0)) or 0
        yield GaugeMetricFamily("portal_webhook_retrying", "Webhook deliveries that failed "
                                "at least once and wait for a retry", value=retrying)

    @staticmethod
    def _workers(now: datetime) -> Iterator[PromMetric]:
        seconds = GaugeMetricFamily("portal_worker_pass_seconds", "How long each worker's "
                                    "last pass took", labels=["worker"])
        age = GaugeMetricFamily("portal_worker_heartbeat_age_seconds", "Seconds since "
                                "each worker's last good pass (-1: none yet)",
                                labels=["worker"])
        failures = GaugeMetricFamily("portal_worker_failed_passes", "Failed passes in a "
                                     "row, per worker", labels=["worker"])
        for row in heartbeat.all_rows():
            seconds.add_metric([row.name], row.pass_seconds)
            age.add_metric([row.name], (now - row.ok_at).total_seconds()
                           if row.ok_at is not None else -1.0)
            failures.add_metric([row.name], row.failures)
        yield seconds
        yield age
        yield failures


def exposition() -> Response:
    """Every metric in Prometheus's text format."""
    registry = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUEST_SECONDS, REQUESTS, RATELIMIT_FALLBACK,
                          RATELIMIT_FALLBACK_REQUESTS, RATELIMIT_STORAGE_FAILURES):
            registry.register(collector)
    registry.register(DatabaseReadings())
    body = generate_latest(registry)
    return Response(body, mimetype=None, content_type=CONTENT_TYPE)


def _started() -> None:
    g.metrics_started = time.perf_counter()


#: The labelled series, by label values: ``labels()`` checks and converts its arguments
#: and takes a lock on every call; the endpoints, methods and statuses are few.
_timings: dict[tuple[str, str], Any] = {}
_counts: dict[tuple[str, str, int], Any] = {}


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    key = (request.endpoint or "unmatched", request.method)
    timing = _timings.get(key)
    if timing is None:
        timing = _timings[key] = REQUEST_SECONDS.labels(*key)
    timing.observe(time.perf_counter() - started)
    count_key = (*key, response.status_code)
    count = _counts.get(count_key)
    if count is None:
        count = _counts[count_key] = REQUESTS.labels(*key, str(response.status_code))
    count.inc()
    _note_rate_limit_storage()
    return response


_fallback_seen = False


def _note_rate_limit_storage() -> None:
    """Count the requests limited per process while Redis is away; log the change."""
    global _fallback_seen
    dead = rate_limit.falling_back()
    if dead:
        RATELIMIT_FALLBACK_REQUESTS.inc()
    if dead != _fallback_seen:
        _fallback_seen = dead
        RATELIMIT_FALLBACK.set(1 if dead else 0)
        if dead:
            RATELIMIT_STORAGE_FAILURES.inc()
            from flask import current_app

            current_app.logger.warning(
                "rate limits: the shared storage is unreachable; this process keeps its "
                "limits in its own memory until it is back")
        else:
            from flask import current_app

            current_app.logger.warning("rate limits: the shared storage is back")


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_observe)
