"""Rate-limit counts in Redis over one socket, with hiredis's protocol code.

Both rate limits (the pages', through Flask-Limiter and limits, and the API's counter in
``api/rate_limit.py``) keep their counts in Redis when ``RATELIMIT_STORAGE_URI`` names
one, and need five commands of it. redis-py, which limits uses for Redis, cost each web
worker 7.1 MB at rest: its package imports its asyncio, cluster and sentinel clients and
every command module whatever one uses (docs/BENCHMARKS.md). Here the commands are
packed and the replies parsed by hiredis (Redis's own C parser, which redis-py used too);
this module only holds the socket.

:class:`RedisStorage` registers itself with limits for the ``redis``, ``rediss`` and
``redis+unix`` schemes (importing this module is enough: ``portal.extensions`` does,
before Flask-Limiter builds its storage), in place of limits' redis-py storage, with the
same keys (``LIMITS:...``) and the same increment (limits' own Lua script). It serves the
fixed-window strategy, the portal's; Redis Sentinel and Cluster URLs (``redis+sentinel``,
``redis+cluster``) still go through limits and redis-py.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
from limits.storage import Storage

#: The URL schemes served here (``unix://`` is redis-py's spelling of ``redis+unix://``).
SCHEMES = ("redis", "rediss", "redis+unix", "unix")
#: Connection options taken from RATELIMIT_STORAGE_OPTIONS (redis-py's names for them).
OPTIONS = frozenset({"socket_timeout", "socket_connect_timeout"})

# limits' increment, as its redis-py storage runs it: the key's expiry is set in the same
# step as its first increment, so a window's count can never outlive it.
INCR_EXPIRE = """
local current
local amount = tonumber(ARGV[2])
current = redis.call("incrby", KEYS[1], amount)

if tonumber(current) == amount then
    redis.call("expire", KEYS[1], ARGV[1])
end

return current
"""


class RedisError(Exception):
    """Redis answered with an error, or broke the protocol."""


class RedisLink:
    """One connection to one Redis server, opened on first use and again after a failure;
    commands from several threads take turns on it.

    Raises (from :meth:`call`): OSError (refused, timed out, closed: socket.timeout and
    ConnectionError are kinds of it) or :class:`RedisError`.
    """

    def __init__(self, uri: str, *, socket_timeout: float | None = None,
                 socket_connect_timeout: float | None = None, **unknown: Any) -> None:
        """
        Raises:
            ValueError: ``uri`` is not a Redis URL, or an option is not one of
                :data:`OPTIONS`.
        """
        if unknown:
            raise ValueError(f"RATELIMIT_STORAGE_OPTIONS: {', '.join(sorted(unknown))} not "
                             f"supported for Redis (only {', '.join(sorted(OPTIONS))})")
        parts = urlsplit(uri)
        if parts.scheme not in SCHEMES:
            raise ValueError(f"not a Redis URL: {parts.scheme}://...")
        query = parse_qs(parts.query)
        unix = parts.scheme in ("redis+unix", "unix")
        self._address: str | tuple[str, int] = (
            parts.path if unix else (parts.hostname or "localhost", parts.port or 6379))
        database = query.get("db", [""])[0] if unix else parts.path.lstrip("/")
        self._db = int(database or 0)
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._tls = ssl.create_default_context() if parts.scheme == "rediss" else None
        self._host = parts.hostname
        self._timeout = float(socket_timeout) if socket_timeout is not None else None
        self._connect_timeout = (float(socket_connect_timeout)
                                 if socket_connect_timeout is not None else self._timeout)
        self._sock: socket.socket | None = None
        self._pid = 0
        self._reader = hiredis.Reader()
        self._lock = threading.Lock()

    def call(self, *args: str | bytes | int | float) -> Any:
        """Send one command and return its reply (bytes, int, list or None).

        A connection that had served earlier commands and turns out closed (the server
        restarted) is replaced once; a fresh one that fails raises. (A command the server
        ran just before the connection broke is then sent again: a count one too high,
        once, as redis-py's retry on a broken connection does.)
        """
        with self._lock:
            reused = self._sock is not None and self._pid == os.getpid()
            try:
                return self._call(args)
            except (ConnectionError, hiredis.ProtocolError):
                self.close()
                if not reused:
                    raise
            return self._call(args)

    def _call(self, args: tuple[str | bytes | int | float, ...]) -> Any:
        if self._sock is None or self._pid != os.getpid():
            self._connect()
        assert self._sock is not None
        try:
            # hiredis's stub declares a one-element tuple; it takes any number.
            self._sock.sendall(hiredis.pack_command(args))  # type: ignore[arg-type]
            reply = self._read()
        except BaseException:
            self.close()
            raise
        if isinstance(reply, hiredis.ReplyError):
            raise RedisError(str(reply))
        return reply

    def _read(self) -> Any:
        assert self._sock is not None
        while True:
            reply = self._reader.gets()
            if reply is not False:
                return reply
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionResetError("Redis closed the connection")
            self._reader.feed(data)

    def _connect(self) -> None:
        self.close()
        if isinstance(self._address, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._connect_timeout)
        else:
            sock = socket.create_connection(self._address, timeout=self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if isinstance(self._address, str):
                sock.connect(self._address)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            sock.settimeout(self._timeout)
        except BaseException:
            sock.close()
            raise
        self._sock, self._pid, self._reader = sock, os.getpid(), hiredis.Reader()
        if self._password is not None:
            credentials = ([self._username] if self._username else []) + [self._password]
            self._call(("AUTH", *credentials))
        if self._db:
            self._call(("SELECT", self._db))

    def close(self) -> None:
        """Drop the connection (the next command opens another)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:  # already broken: nothing left to release
                pass

    def __del__(self) -> None:
        # A storage that Flask-Limiter replaces (an app built again, as tests do) closes
        # its socket rather than leaving it to the collector's ResourceWarning (and one
        # whose settings were refused never had one).
        if hasattr(self, "_sock"):
            self.close()

    def delete_matching(self, pattern: str) -> int:
        """Delete every key matching ``pattern`` (tests and resets), 1,000 at a time."""
        deleted, cursor = 0, b"0"
        while True:
            cursor, names = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            if names:
                deleted += int(self.call("DEL", *names))
            if cursor == b"0":
                return deleted


class RedisStorage(Storage):
    """limits' storage for Redis (fixed windows), over a :class:`RedisLink`."""

    STORAGE_SCHEME = ["redis", "rediss", "redis+unix"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, key_prefix: str = "LIMITS",
                 **options: Any) -> None:
        """
        Raises:
            ValueError: as :class:`RedisLink`.
        """
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.link = RedisLink(uri, **options)
        self._prefix = key_prefix
        self._script: bytes | None = None

    @property
    def base_exceptions(self) -> tuple[type[Exception], ...]:
        return (RedisError, OSError, hiredis.ProtocolError)

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if self._script is not None:
            try:
                return int(self.link.call("EVALSHA", self._script, 1, self._key(key),
                                          expiry, amount))
            except RedisError as exc:
                if not str(exc).startswith("NOSCRIPT"):
                    raise
        self._script = self.link.call("SCRIPT", "LOAD", INCR_EXPIRE)
        return int(self.link.call("EVAL", INCR_EXPIRE, 1, self._key(key), expiry, amount))

    def get(self, key: str) -> int:
        return int(self.link.call("GET", self._key(key)) or 0)

    def get_expiry(self, key: str) -> float:
        return max(int(self.link.call("TTL", self._key(key))), 0) + time.time()

    def check(self) -> bool:
        try:
            return bool(self.link.call("PING") == b"PONG")
        except Exception:  # any failure means "not healthy", which is the answer asked for
            return False

    def reset(self) -> int | None:
        return self.link.delete_matching(self._key("*"))

    def clear(self, key: str) -> None:
        self.link.call("DEL", self._key(key))
