"""What the urgent-request safeguards remember: each account's and each agency's filing
history as summary rows, and out-of-band confirmations of requests nobody else was told of.

A filing enters the history only once the platform acts on it (``services/safeguards``
says why); each row counts one thing seen before, so checking a new filing reads a few rows
by primary key however long the history grows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import Model
from portal.models.columns import UTCDateTime, code_enum
from portal.models.user import User
from workflows.codes import ConfirmationChannel


class AccountHistory(Model):
    """One thing an account filed with before, counted over its acted-on filings.

    ``kind`` is ``filings`` (``value`` empty: all of them), ``priority``, ``network`` (a
    /24 or /48) or ``device`` (browser and system family); ``first_at`` and ``last_at``
    are the times those filings were received.
    """

    __tablename__ = "account_history"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    filings: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AgencyHistory(Model):
    """One thing an agency filed with before, counted over its acted-on filings.

    ``kind`` is ``category`` (``value`` the code) or ``hour`` (``value`` the hour of the
    day, ``00`` to ``23``, in the agency's own time zone).
    """

    __tablename__ = "agency_history"

    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    filings: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutOfBandConfirmation(Model):
    """A reviewer's record that the agency confirmed an urgent request through a channel
    other than the account that filed it (at most one per request)."""

    __tablename__ = "out_of_band_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("legal_requests.id"), unique=True)
    # Who at the agency confirmed it (name and position, as they gave them).
    confirmed_by: Mapped[str] = mapped_column(sa.String(200))
    channel: Mapped[ConfirmationChannel] = mapped_column(code_enum(ConfirmationChannel, 24))
    # When the agency confirmed it (the reviewer says), and when it was recorded.
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    recorded_by: Mapped[User] = relationship()
