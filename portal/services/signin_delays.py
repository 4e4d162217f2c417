"""How long a sign-in attempt must wait after failed ones: the schedule, as plain maths.

No account is ever locked. A few failures are free (typing mistakes); after that, each
further attempt of the same kind must wait a delay that doubles with every failure, up
to a cap. A stranger who fails on purpose therefore makes the owner wait at most the
cap, never a fixed lock, while an attacker who guesses is slowed to one try per cap.
The schedule is pure (``now`` is always a parameter) so it is tested on its own
(``tests/unit/test_signin_delays.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class DelaySchedule:
    """``free`` failures without delay, then ``first`` doubling up to ``cap``; a count
    whose last failure is older than ``forget`` starts again from zero."""

    free: int
    first: timedelta
    cap: timedelta
    forget: timedelta

    def __post_init__(self) -> None:
        if self.free < 0 or self.first <= timedelta(0) or self.cap < self.first:
            raise ValueError("a delay schedule needs free >= 0 and 0 < first <= cap")
        if self.forget <= self.cap:
            # Otherwise waiting out the cap would also forget the count: the free
            # failures again after every wait.
            raise ValueError("failures must be remembered longer than the cap")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DelaySchedule:
        """The schedule the ``SIGNIN_*`` settings describe.

        Raises:
            ValueError: settings that make no schedule (see the class).
        """
        return cls(free=int(config["SIGNIN_FREE_FAILURES"]),
                   first=timedelta(seconds=float(config["SIGNIN_FIRST_DELAY_SECONDS"])),
                   cap=timedelta(seconds=float(config["SIGNIN_MAX_DELAY_SECONDS"])),
                   forget=timedelta(hours=float(config["SIGNIN_FORGET_HOURS"])))

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th failure in a row."""
        if failures < self.free:
            return timedelta(0)
        doublings = failures - self.free
        # 2**doublings for a huge count would be a huge integer: stop once past the cap.
        if doublings >= int(self.cap / self.first).bit_length():
            return self.cap
        delay: timedelta = self.first * (2 ** doublings)
        return min(delay, self.cap)

    def current(self, failures: int, last_failed_at: datetime | None,
                now: datetime) -> int:
        """The count that applies at ``now``: forgotten once its last failure is old."""
        if last_failed_at is None or now - last_failed_at >= self.forget:
            return 0
        return failures

    def retry_at(self, failures: int, last_failed_at: datetime | None,
                 now: datetime) -> datetime | None:
        """When the next attempt may be checked, or ``None`` when it may be now."""
        count = self.current(failures, last_failed_at, now)
        if count == 0 or last_failed_at is None:
            return None
        at = last_failed_at + self.delay(count)
        return at if at > now else None
