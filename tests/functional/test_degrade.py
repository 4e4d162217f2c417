"""Degrade, don't fail: Redis going away under a running web server.

Before: with Redis stopped every /api/v1 call was a 500 from the rate limiter (922 of
922 in 30 s). Now each process limits in its own memory meanwhile, says so in a warning,
a metric and /readyz, and goes back to Redis when it answers again."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from portal.models.columns import utcnow
from portal.services import heartbeat, tokens
from tests.servers import RedisServer, WebServer, portal_environment

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"),
                                reason="needs Debian's redis-server (make test installs it)")


def test_redis_down_limits_per_process_and_never_answers_500(app, database_url, world):
    _, token = tokens.create_token(world.official, "degrade", scopes=["read"])
    heartbeat.beat("worker:1", started_at=utcnow(), ok=True, pass_seconds=0.1,
                   interval=3600)
    auth = {"Authorization": f"Bearer {token}"}
    redis = RedisServer()
    redis.start()
    web = WebServer(portal_environment(
        database_url, RATELIMIT_STORAGE_URI=redis.url, PORTAL_API_RATE_LIMIT='"8 per minute"',
        PORTAL_LOG_FORMAT='"json"'))
    try:
        status, headers, _ = web.request("GET", "/api/v1/requests", headers=auth)
        assert status == 200 and headers["X-RateLimit-Limit"] == "8"
        redis.stop()
        statuses = [web.request("GET", "/api/v1/requests", headers=auth)[0]
                    for _ in range(10)]
        # No 500: the first calls pass, then the per-process budget (the same limit) runs
        # out and the rest are refused as they would have been by Redis.
        assert 500 not in statuses, statuses
        assert statuses[:6] == [200] * 6 and statuses[-1] == 429, statuses
        status, _, body = web.request("GET", "/readyz")
        ready = json.loads(body)
        assert status == 200 and ready["status"] == "degraded", ready
        [limits] = [c for c in ready["checks"] if c["name"] == "rate limits"]
        assert limits["status"] == "degraded" and "unreachable" in limits["detail"]
        _, _, metrics = web.request("GET", "/metrics")
        assert "portal_ratelimit_fallback 1.0" in metrics.decode()
        assert "portal_ratelimit_storage_failures_total 1.0" in metrics.decode()
        warnings = [json.loads(line) for line in web.log().splitlines()
                    if line.startswith("{") and '"WARNING"' in line]
        assert any("shared storage is unreachable" in w["message"] for w in warnings), \
            web.log()
        # Redis back: within the limiter's retry (1, 2, 4 ... s) the process returns to it.
        redis.start()
        deadline = time.monotonic() + 20
        while True:
            web.request("GET", "/healthz")
            web.request("GET", "/api/v1/requests", headers=auth)
            _, _, metrics = web.request("GET", "/metrics")
            if "portal_ratelimit_fallback 0.0" in metrics.decode():
                break
            assert time.monotonic() < deadline, "never went back to Redis"
            time.sleep(0.5)
        status, _, body = web.request("GET", "/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready", body
    finally:
        web.stop()
        redis.close()
