"""Users: agency officials and the platform's staff."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.extensions import Model
from portal.models.agency import Agency
from portal.models.columns import UTCDateTime, code_enum, utcnow
from workflows.roles import STAFF_ROLES, Role


class User(UserMixin, Model):
    """A person who signs in. Officials belong to one agency; staff to none."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'agency_official') = (agency_id IS NOT NULL)", name="agency_iff_official"
        ),
        sa.CheckConstraint("role <> 'system'", name="not_system"),
        sa.Index("ix_users_role_email", "role", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(code_enum(Role, 20))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    locale: Mapped[str] = mapped_column(sa.String(10), default="en")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    active: Mapped[bool] = mapped_column(default=True)
    # A liaison lead is told personally when a clock breaches.
    liaison_lead: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A lead reviewer may decide and move on requests another reviewer holds, and hand
    # them from one reviewer to another (workflows.request_flow: claimed_only, lead_only).
    lead_reviewer: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Two-factor sign-in (TOTP). The last accepted time step stops a code being replayed.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None]
    # Wrong passwords and wrong second-factor codes are counted apart: a right password
    # never clears the count of wrong codes. Each count slows its own attempts down
    # (services/signin_delays.py) and mails the owner at most once per window.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    login_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    login_failures_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_codes: Mapped[int] = mapped_column(default=0, server_default="0")
    code_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    code_failures_mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every session carries the generation it started in (``get_id``): raising it ends
    # every session of the account, copies of the cookie included.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    agency: Mapped[Agency | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user cannot sign in
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def set_password(self, password: str) -> None:
        # scrypt by default; the test suite sets a cheap method (it hashes thousands).
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if \
            has_app_context() else "scrypt"
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(
            self.password_hash, password
        )

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

    def get_id(self) -> str:
        # What Flask-Login keeps in the session cookie: the account and its session
        # generation, so a session from before the generation changed loads no one.
        return f"{self.id}:{self.session_generation}"

    def end_sessions(self) -> None:
        """End every session of this account (the caller's transaction commits it)."""
        self.session_generation = (self.session_generation or 0) + 1

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role.value}>"


class ReviewerJurisdiction(Model):
    """A jurisdiction a legal reviewer covers: they are told of its new requests. A
    reviewer with no row covers every jurisdiction (``portal/services/coverage.py``)."""

    __tablename__ = "reviewer_jurisdictions"
    # Who covers a jurisdiction (asked at every filing) is read by the country first.
    __table_args__ = (sa.Index("ix_reviewer_jurisdictions_country", "country", "user_id"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), primary_key=True)
    # An ISO 3166-1 code as a request's ``jurisdiction`` holds it ("EU" for the EU's own).
    country: Mapped[str] = mapped_column(sa.String(2), primary_key=True)


class RecoveryCode(Model):
    """A one-time code that stands in for the authenticator; only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EnrolmentCode(Model):
    """A one-time code an administrator issues so that a staff member can set up a first
    second factor: a stolen password alone cannot enrol the thief's authenticator. Only
    its SHA-256 is kept; it expires, and it is used once."""

    __tablename__ = "enrolment_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    # None: issued on the command line (the first administrator has no one to ask).
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserNetwork(Model):
    """A network (IPv4 /24, IPv6 /48) a user has signed in from (the record of sign-ins).

    The urgent-request safeguards do not read it: whoever holds the account can sign in
    from anywhere and wait, so a network counts as known only when the platform acted on a
    filing made from it (``AccountHistory``)."""

    __tablename__ = "user_networks"
    __table_args__ = (sa.UniqueConstraint("user_id", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    network: Mapped[str] = mapped_column(sa.String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
