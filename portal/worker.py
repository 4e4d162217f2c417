"""The worker loop behind ``flask worker``: passes that survive a failure, a backoff while
they fail, and a clean stop on SIGTERM or SIGINT between passes.

A pass sweeps the SLA clocks and the deferred user notices, closes requests whose dispute
window has ended and delivers the outbox. Each step commits its own work, so a pass that
fails part-way (the database restarting, say) loses nothing: the next pass picks up where
it stopped.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

from portal.extensions import db
from portal.models.columns import utcnow
from portal.services import alerts, heartbeat, lifecycle, outbox

log = logging.getLogger("portal.worker")

#: The signals that stop the worker (between passes).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_pass() -> str:
    """One pass of every step; a line saying what it did.

    Raises:
        Exception: whatever a step raised; the steps after it wait for the next pass.
    """
    swept = alerts.sweep()
    notices = alerts.sweep_notices()
    closed = lifecycle.close_after_dispute_window()
    delivered = outbox.deliver_due()
    return (f"worker: {swept.alerts} alerts, {len(closed)} closed, {delivered.sent} sent, "
            f"{delivered.retried} to retry, {delivered.failed} failed, "
            f"{notices.ended} deferred notices ended")


def backoff(interval: float, failures: int, cap: float) -> float:
    """Seconds to wait after ``failures`` failed passes in a row: the interval after a good
    pass and after the first failure, then doubling, never more than ``cap`` (nor less
    than the interval)."""
    if failures <= 1:
        return interval
    return max(interval, min(interval * 2.0 ** (failures - 1), cap))


class StopSignals:
    """Catches SIGTERM and SIGINT for the loop: a signal only takes note (a pass under
    way runs to its end), and :meth:`wait` returns as soon as one arrives.

    The wait is a ``select`` on a pipe that the interpreter writes to when a signal comes
    in (``signal.set_wakeup_fd``): a signal that lands just before the wait starts still
    ends it at once, and the handler needs no lock (an ``Event`` set from a handler can
    deadlock with the main thread holding the same lock).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        #: Set by the loop while a pass runs; a signal then notes that it waited for it.
        self.in_pass = False
        self.during_pass = False
        self._wakeup = -1

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signum
            self.during_pass = self.in_pass

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Catch the stop signals inside the block; the previous handlers afterwards.

        Only the main thread can catch signals: elsewhere (a test runner's thread) the
        block runs without, and :meth:`wait` simply sleeps.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        os.set_blocking(write_end, False)
        previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
        self._wakeup = read_end
        try:
            yield self
        finally:
            signal.set_wakeup_fd(previous_fd)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            os.close(read_end)
            os.close(write_end)
            self._wakeup = -1

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (at once) when a stop signal has come."""
        deadline = time.monotonic() + seconds
        while self.received is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            watched = [self._wakeup] if self._wakeup >= 0 else []
            if select.select(watched, [], [], left)[0]:
                self._drain()
        return True

    def _drain(self) -> None:
        try:
            while os.read(self._wakeup, 512):
                pass
        except BlockingIOError:
            pass  # the wake-up pipe is empty: every byte written to it has been read


def run(*, interval: float, max_backoff: float, once: bool = False,
        echo: Callable[[str], None] = print) -> bool:
    """Run passes until a stop signal (or after one pass with ``once``).

    A failed pass is logged on one line with its exception, its session is rolled back
    and removed, and the next pass waits longer (:func:`backoff`); a good pass resets
    the wait to ``interval``.

    Returns:
        Whether the last pass succeeded.
    """
    stop = StopSignals()
    failures = 0
    name = heartbeat.identity()
    started_at = utcnow()
    with stop.installed():
        # A signal from here until a pass has said what it did waits for that pass.
        stop.in_pass = True
        echo(f"worker: started, a pass every {interval:g} s")
        while True:
            stop.in_pass = True
            began = time.perf_counter()
            error = None
            try:
                line = run_pass()
            except Exception as exc:  # noqa: BLE001 - any failure of a pass is retried
                failures += 1
                _forget_session()
                wait = backoff(interval, failures, max_backoff)
                error = _one_line(exc)
                log.error("worker: pass failed (%s in a row), next in %g s: %s",
                          failures, wait, error)
            else:
                failures = 0
                wait = interval
                _forget_session()
            # Beat before saying what the pass did: whoever reads the line finds the row.
            _beat(name, started_at=started_at, ok=error is None, error=error,
                  seconds=time.perf_counter() - began, interval=interval)
            if error is None:
                echo(line)
                log.info(line)
            stop.in_pass = False
            if once or stop.received is not None or stop.wait(wait):
                break
        if stop.received is not None:
            signame = signal.Signals(stop.received).name
            when = " during a pass, stopping after it" if stop.during_pass else ", stopping"
            echo(f"worker: {signame} received{when}")
    if not once:
        _forget_heartbeat(name)
    echo("worker: stopped")
    return failures == 0


def _beat(name: str, *, started_at: datetime, ok: bool, error: str | None,
          seconds: float, interval: float) -> None:
    # The heartbeat is what tells readiness and metrics the worker is alive; when it
    # cannot be written (the database is away) the pass's own failure line already says
    # why, and the missing beat is the signal.
    try:
        heartbeat.beat(name, started_at=started_at, ok=ok, pass_seconds=seconds,
                       interval=interval, error=error)
    except Exception as exc:  # noqa: BLE001 - never let the heartbeat end the worker
        log.warning("worker: heartbeat not written: %s", _one_line(exc))
        _forget_session()


def _forget_heartbeat(name: str) -> None:
    # A clean stop removes the row: a stopped worker is gone, not stalled.
    try:
        heartbeat.forget(name)
    except Exception as exc:  # noqa: BLE001 - the database may be away at shutdown
        log.warning("worker: heartbeat not removed: %s", _one_line(exc))
        _forget_session()


def _forget_session() -> None:
    # A failed step leaves its transaction (and maybe a dead connection) in the session:
    # roll back and drop it, so the next pass starts with a fresh one from the pool
    # (whose pre-ping replaces connections the database closed meanwhile).
    try:
        db.session.rollback()
    except Exception as exc:  # noqa: BLE001 - the connection may be gone already
        log.debug("worker: rollback after a failed pass: %s", exc)
    db.session.remove()


def _one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (SQLAlchemy's errors add SQL and a link)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
