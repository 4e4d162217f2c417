"""The API's rate limit: one count per token (or per address without one) for the whole
API, in the shared rate-limit store, with one round trip per call.

Flask-Limiter keeps the pages' limits. For the API it made three round trips to Redis
per call (the hit, then the count and the expiry of the window again for the
``X-RateLimit-*`` headers), which cost more than the rest of a detail read, and it
counted each endpoint apart. Here the window is the clock's own (minute 1,234,567 since
the epoch, say), so the count returned by the increment is all the headers need: the
reset time is the window's end. When the store cannot be reached the limit is kept in
this process's memory for a while, with a warning, rather than refusing every call.

In Redis the count is a plain ``INCR`` on the window's key, on one connection kept by
the process (:class:`RedisCounter`, over ``portal/redis_store.py``: hiredis and a
socket, not redis-py); the window's first call also sets the key's expiry. limits'
Redis storage (and the pages' storage in ``portal/redis_store.py``) runs a Lua script
for every increment (``EVALSHA``:
the increment and the expiry in one), which cost the worker about twice the CPU of the
command and the server a script call; since the window's number is part of the key, an
expiry set one round trip later (or, if that round trip failed, never) changes no count:
a later window never reads the key again. Other stores limits knows (memcached, MongoDB,
Redis Sentinel or Cluster) are used through limits.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Response, current_app, g
from flask_smorest import abort
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string

from portal.redis_store import RedisLink

log = logging.getLogger("portal.api.rate_limit")

#: How long the process counts alone after the shared store failed, before trying it
#: again (one call in that many seconds pays the store's connect timeout while it is down).
FALLBACK_SECONDS = 5


@dataclass(frozen=True)
class Standing:
    """Where one caller stands in the current window."""

    limit: int
    used: int
    reset_at: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    @property
    def exceeded(self) -> bool:
        return self.used > self.limit


@functools.lru_cache(maxsize=16)
def _rule(rule: str) -> RateLimitItem:
    """The parsed rule (parsing the same setting on every call was a sixth of the check)."""
    item: RateLimitItem = parse(rule)
    return item


class Counter(Protocol):
    """What the rate limit needs of a store: limits' storages have these two methods."""

    def incr(self, key: str, expiry: int) -> int: ...

    def reset(self) -> int | None: ...


#: The URL schemes :class:`RedisCounter` serves (limits' and redis-py's spellings).
REDIS_SCHEMES = ("redis://", "rediss://", "redis+unix://", "unix://")
#: Where the counts live in Redis: beside Flask-Limiter's, under limits' prefix.
KEY_PREFIX = "LIMITS:"


class RedisCounter:
    """Counts in Redis with ``INCR`` (``EXPIRE`` on a window's first call) over one
    connection of this process (:class:`portal.redis_store.RedisLink`, which serialises
    the threads of a threaded worker).

    Raises (from each method): OSError or portal.redis_store.RedisError when the server
    cannot be reached or refuses (the caller falls back to the process's memory).
    """

    def __init__(self, uri: str, **options: Any) -> None:
        """
        Raises:
            ValueError: ``uri`` is not a Redis URL or an option is unknown (RedisLink).
        """
        self._link = RedisLink(uri, **options)

    def incr(self, key: str, expiry: int) -> int:
        name = KEY_PREFIX + key
        used = int(self._link.call("INCR", name))
        if used == 1:
            self._link.call("EXPIRE", name, expiry)
        return used

    def reset(self) -> int:
        """Forget the API's counts (tests); Flask-Limiter's keys are left alone."""
        return self._link.delete_matching(KEY_PREFIX + "api-rate:*")


class ApiRateLimit:
    """The count of API calls per key and window, in the configured store."""

    def __init__(self) -> None:
        self._uri: str | None = None
        self._store: Counter | None = None
        self._memory = MemoryStorage()
        self._shared_again_at = 0.0

    def _shared(self, uri: str) -> Counter:
        if self._store is None or uri != self._uri:
            # The same options as the pages' limiter (short socket timeouts: a store
            # that is down must cost a call half a second, not the default minutes).
            options = dict(current_app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
            found: Counter
            if uri.startswith(REDIS_SCHEMES):
                found = RedisCounter(uri, **options)
            else:
                storage = storage_from_string(uri, **options)
                assert isinstance(storage, Storage), f"{uri} is not a synchronous store"
                found = storage
            self._uri, self._store = uri, found
        return self._store

    def hit(self, key: str, rule: str, now: float | None = None) -> Standing:
        """Count one call of ``key`` under ``rule`` (e.g. ``"600 per minute"``).

        Raises:
            ValueError: ``rule`` is not a rate-limit string.
        """
        now = time.time() if now is None else now
        item = _rule(rule)
        window = item.get_expiry()
        index = math.floor(now / window)
        slot = f"api-rate:{item.amount}/{window}:{key}:{index}"
        reset_at = (index + 1) * window
        used = self._incr(slot, window, now)
        return Standing(item.amount, used, reset_at)

    def _incr(self, slot: str, window: int, now: float) -> int:
        uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        if uri.startswith("memory://") or now < self._shared_again_at:
            return self._memory.incr(slot, window)
        try:
            used = self._shared(uri).incr(slot, window)
        except Exception as exc:  # any failure of the store (OSError, RedisError, ...)
            self._shared_again_at = now + FALLBACK_SECONDS
            log.warning("rate-limit store %s unreachable (%s): API limits are counted "
                        "per process for %s s", uri.split("@")[-1], exc, FALLBACK_SECONDS)
            return self._memory.incr(slot, window)
        if self._shared_again_at:
            log.warning("rate-limit store %s is back: API limits are shared again",
                        uri.split("@")[-1])
            self._shared_again_at = 0.0
        return used

    @property
    def degraded(self) -> bool:
        """Whether calls are counted per process because the shared store failed and
        has not answered since."""
        return self._shared_again_at > 0.0

    def reset(self) -> None:
        """Forget every count (tests; the shared store is cleared too when reachable)."""
        self._memory.reset()
        self._shared_again_at = 0.0
        if self._store is not None:
            try:
                self._store.reset()
            except Exception:  # a store that is down has nothing to forget
                log.warning("rate-limit store could not be cleared")
                # Forgotten too: the next call connects afresh to whatever is configured
                # then, rather than waiting on this one's timeouts again.
                self._store, self._uri = None, None


api_rate_limit = ApiRateLimit()


def check(key: str) -> None:
    """Count this call; past the limit, answer 429 with when to try again.

    Raises:
        werkzeug.exceptions.TooManyRequests: (through flask-smorest's ``abort``) the
            caller used up the window's calls.
    """
    standing = api_rate_limit.hit(key, str(current_app.config["API_RATE_LIMIT"]))
    g.api_rate_standing = standing
    if standing.exceeded:
        wait = max(int(standing.reset_at - time.time()), 1)
        abort(429, message=f"more than {standing.limit} calls in this window; try again in "
                           f"{wait} s", headers={"Retry-After": str(wait)})


def add_headers(response: Response) -> Response:
    """The caller's standing, on every API answer (refusals included)."""
    standing: Standing | None = g.get("api_rate_standing")
    if standing is not None:
        response.headers["X-RateLimit-Limit"] = str(standing.limit)
        response.headers["X-RateLimit-Remaining"] = str(standing.remaining)
        response.headers["X-RateLimit-Reset"] = str(standing.reset_at)
    return response


def falling_back() -> bool:
    """Whether this process keeps any rate limit in its own memory because the shared
    store failed: the API's (here) or the pages' (Flask-Limiter's in-memory fallback)."""
    from portal.extensions import limiter

    return api_rate_limit.degraded or bool(getattr(limiter, "_storage_dead", False))
