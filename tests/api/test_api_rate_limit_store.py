"""The API's rate limit in the shared store (a real redis-server): one round trip per
call, one budget for every process, and calls keep being answered when the store is
down."""

from __future__ import annotations

import logging
import os

import pytest
import redis

from portal.api.rate_limit import ApiRateLimit, api_rate_limit
from portal.services import tokens
from tests.smtp import free_port

needs_redis = pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                                 reason="needs TEST_REDIS_URL (make test starts a redis-server)")


@pytest.fixture
def limited(app, world):
    """The official's token, and the API limited to 3 calls a minute."""
    app.config["API_RATE_LIMIT"] = "3 per minute"
    _, token = tokens.create_token(world.official, "t")
    api_rate_limit.reset()
    yield {"Authorization": f"Bearer {token}"}
    api_rate_limit.reset()


@needs_redis
def test_one_round_trip_a_call_and_the_headers_from_it(app, client, limited):
    app.config["RATELIMIT_STORAGE_URI"] = os.environ["TEST_REDIS_URL"]
    store = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    client.get("/api/v1/requests", headers=limited)  # connects
    store.config_resetstat()
    answers = [client.get("/api/v1/requests", headers=limited) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    calls = {name.removeprefix("cmdstat_"): stats["calls"]
             for name, stats in store.info("commandstats").items()}
    # One plain increment a call: no Lua script (limits' storage ran one per increment, twice
    # the worker's CPU), and the window is the clock's, so the headers need no second
    # read (Flask-Limiter made three round trips). EXPIRE only on a window's first call:
    # at most once here, if the minute turned between the first call and these.
    assert calls.get("incr") == 3, calls
    assert calls.get("expire", 0) <= 1, calls
    assert not {"evalsha", "eval", "get", "ttl", "pttl"} & set(calls), calls


@needs_redis
def test_a_window_count_expires_with_its_window(app):
    """The window's first call sets the key's expiry, so counts of past windows leave
    Redis on their own; later calls of the window leave it as it is."""
    app.config["RATELIMIT_STORAGE_URI"] = os.environ["TEST_REDIS_URL"]
    store = redis.Redis.from_url(os.environ["TEST_REDIS_URL"])
    limit = ApiRateLimit()
    now = 1_800_000_030.0  # half a minute into minute 30,000,000
    assert limit.hit("token:ttl", "5 per minute", now=now).used == 1
    key = "LIMITS:api-rate:5/60:token:ttl:30000000"
    assert 0 < store.ttl(key) <= 60
    store.expire(key, 300)  # a later call must not push the expiry again
    assert limit.hit("token:ttl", "5 per minute", now=now + 1).used == 2
    assert store.ttl(key) > 60
    limit.reset()
    assert not store.exists(key)


@needs_redis
def test_every_process_counts_in_one_budget(app):
    app.config["RATELIMIT_STORAGE_URI"] = os.environ["TEST_REDIS_URL"]
    first, second = ApiRateLimit(), ApiRateLimit()  # as two workers hold them
    used = [limit.hit("token:abc", "3 per minute", now=1_800_000_000.0).used
            for limit in (first, second, first, second)]
    assert used == [1, 2, 3, 4]
    first.reset()


def test_a_store_that_is_down_never_turns_calls_into_errors(app, client, limited, caplog):
    app.config["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/0"  # closed
    with caplog.at_level(logging.WARNING, "portal.api.rate_limit"):
        codes = [client.get("/api/v1/requests", headers=limited).status_code
                 for _ in range(4)]
    # Counted in this process meanwhile: the limit still holds, nothing is a 500.
    assert codes == [200, 200, 200, 429]
    assert api_rate_limit.degraded
    assert [r for r in caplog.records if "unreachable" in r.getMessage()]
