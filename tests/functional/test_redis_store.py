"""The rate limits' Redis client (portal/redis_store.py) against a real redis-server: the
pages' fixed windows through limits and Flask-Limiter, the same keys and counts as limits'
own redis-py storage (so processes of both kinds share one budget), and what happens when
the server restarts, forgets the script, or is not there."""

from __future__ import annotations

import os
import threading
import time

import pytest
import redis
from limits import parse
from limits.storage import RedisStorage as LimitsRedisStorage
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from portal.redis_store import RedisLink, RedisStorage
from tests.servers import RedisServer
from tests.smtp import free_port

needs_redis = pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                                 reason="needs TEST_REDIS_URL (make test starts a redis-server)")


@pytest.fixture
def url():
    url = os.environ["TEST_REDIS_URL"]
    server = redis.Redis.from_url(url)
    for key in server.scan_iter("LIMITS:*"):
        server.delete(key)
    yield url
    for key in server.scan_iter("LIMITS:*"):
        server.delete(key)


@needs_redis
def test_redis_urls_get_this_storage_and_limits_hold(url):
    storage = storage_from_string(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    assert isinstance(storage, RedisStorage)
    limiter = FixedWindowRateLimiter(storage)
    rule = parse("3 per minute")
    assert [limiter.hit(rule, "login", "10.0.0.1") for _ in range(4)] == [True] * 3 + [False]
    assert limiter.hit(rule, "login", "10.0.0.2")  # another client, another count
    stats = limiter.get_window_stats(rule, "login", "10.0.0.1")
    assert stats.remaining == 0
    server = redis.Redis.from_url(url)
    [key] = server.keys("LIMITS:*10.0.0.1*")
    assert server.get(key) == b"4"
    assert 0 < server.ttl(key) <= 60  # set with the first increment
    limiter.clear(rule, "login", "10.0.0.1")
    assert limiter.hit(rule, "login", "10.0.0.1")


@needs_redis
def test_one_budget_with_limits_own_redis_storage(url):
    """Same keys, same increment: a process still on redis-py counts in the same budget."""
    ours = FixedWindowRateLimiter(RedisStorage(url))
    theirs = FixedWindowRateLimiter(LimitsRedisStorage(url))
    rule = parse("4 per minute")
    hits = [limiter.hit(rule, "shared") for limiter in (ours, theirs, ours, theirs, ours)]
    assert hits == [True, True, True, True, False]
    assert theirs.get_window_stats(rule, "shared").remaining == 0
    assert ours.storage.reset() >= 1
    assert redis.Redis.from_url(url).keys("LIMITS:*") == []


@needs_redis
def test_a_flushed_script_is_loaded_again(url):
    storage = RedisStorage(url)
    assert storage.incr("flush", 60) == 1
    redis.Redis.from_url(url).script_flush()
    assert storage.incr("flush", 60) == 2
    assert storage.get("flush") == 2
    assert 59 <= storage.get_expiry("flush") - time.time() <= 61


@needs_redis
def test_a_dropped_connection_is_replaced(url):
    link = RedisLink(url)
    assert link.call("PING") == b"PONG"
    server = redis.Redis.from_url(url)
    killed = server.client_kill_filter(skipme=True, _type="normal")
    assert killed >= 1
    assert link.call("INCR", "LIMITS:dropped") == 1  # on a new connection, counted once
    assert int(server.get("LIMITS:dropped")) == 1


@needs_redis
def test_threads_take_turns_on_the_connection(url):
    link = RedisLink(url)

    def count() -> None:
        for _ in range(200):
            link.call("INCR", "LIMITS:threads")

    threads = [threading.Thread(target=count) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert link.call("GET", "LIMITS:threads") == b"800"


def test_password_and_database_from_the_url():
    server = RedisServer()
    server.start()
    try:
        admin = redis.Redis(port=server.port)
        admin.config_set("requirepass", "s3cr:et")
        storage = RedisStorage(f"redis://:s3cr%3Aet@127.0.0.1:{server.port}/3")
        assert storage.incr("auth", 60) == 1
        checked = redis.Redis(port=server.port, password="s3cr:et", db=3)
        assert checked.keys("LIMITS:*") == [b"LIMITS:auth"]
        wrong = RedisStorage(f"redis://:nope@127.0.0.1:{server.port}/0")
        assert not wrong.check()
        with pytest.raises(wrong.base_exceptions):
            wrong.incr("auth", 60)
    finally:
        server.close()


def test_nothing_listening_is_an_error_the_limiters_fall_back_on():
    storage = RedisStorage(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5,
                           socket_connect_timeout=0.5)
    assert storage.check() is False
    with pytest.raises(storage.base_exceptions):
        storage.incr("down", 60)


def test_settings_it_cannot_honour_are_refused():
    with pytest.raises(ValueError, match="ssl_cert_reqs not supported"):
        RedisStorage("redis://127.0.0.1:6379/0", ssl_cert_reqs="none")
    with pytest.raises(ValueError, match="not a Redis URL"):
        RedisLink("memcached://127.0.0.1:11211")
