"""Sending mail: SMTP in production, the log in development. Settings come from the
environment (``PORTAL_MAIL_SERVER`` …, see docs/OPERATIONS.md)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    message_id: str


class MailError(Exception):
    """The message could not be handed to the mail server (it may be retried)."""


def send(mail: Mail, config: dict[str, Any]) -> None:
    """Deliver ``mail`` with the configured backend, on a connection of its own.

    Raises:
        MailError: the SMTP server refused or could not be reached.
    """
    with Postman(config) as postman:
        postman.send(mail)


_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP


def _header(value: str) -> str | Header:
    """ASCII as it is; anything else as an RFC 2047 encoded word."""
    return value if value.isascii() else Header(value, "utf-8")


def _message(mail: Mail, config: dict[str, Any]) -> Message:
    # The legacy (compat32) classes: the policy-aware EmailMessage parsed and folded each
    # header through the header registry, 2.4 ms a mail, most of an alert wave's time.
    message = MIMEText(mail.body, "plain", _UTF8_QP)  # type: ignore[arg-type]
    name, address = parseaddr(config["MAIL_SENDER"])
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = mail.to
    message["Subject"] = _header(mail.subject)  # type: ignore[assignment]  # Header is fine
    message["Date"] = formatdate(localtime=False)
    # Stable per notification: a retry after a lost acknowledgement carries the same
    # Message-ID, so receiving systems can drop the duplicate.
    message["Message-ID"] = mail.message_id
    return message


class Postman:
    """Sends many mails over one SMTP connection, opened at the first mail and kept for
    ``MAIL_MESSAGES_PER_CONNECTION`` of them.

    An alert wave is thousands of mails: a connection each (TCP, greeting, STARTTLS,
    login) was most of the outbox's time. After any error the connection is dropped and
    the next mail opens a new one; a connection the server closed while idle is reopened
    once before the mail counts as failed.
    """

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.client: smtplib.SMTP | None = None
        self.sent_on_connection = 0
        self.connections = 0

    def __enter__(self) -> Postman:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, mail: Mail) -> None:
        """Hand ``mail`` to the server (or the log).

        Raises:
            MailError: the SMTP server refused or could not be reached.
        """
        backend = self.config["MAIL_BACKEND"]
        if backend == "log":
            log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.body)
            return
        if backend != "smtp":
            raise MailError(f"unknown MAIL_BACKEND {backend!r}")
        message = _message(mail, self.config)
        reused = self.client is not None
        try:
            self._client().send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            self.close()
            if not reused:
                raise MailError(f"{type(exc).__name__}: {exc}") from exc
            try:  # the kept connection had gone stale: once more on a new one
                self._client().send_message(message)
            except (OSError, smtplib.SMTPException) as again:
                self.close()
                raise MailError(f"{type(again).__name__}: {again}") from again
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"{type(exc).__name__}: {exc}") from exc
        self.sent_on_connection += 1
        if self.sent_on_connection >= int(self.config.get("MAIL_MESSAGES_PER_CONNECTION", 100)):
            self.close()

    def _client(self) -> smtplib.SMTP:
        if self.client is not None:
            return self.client
        config = self.config
        host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
        timeout = float(config["MAIL_TIMEOUT"])
        if config["MAIL_USE_SSL"]:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["MAIL_USE_TLS"]:
                client.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        except BaseException:
            client.close()
            raise
        self.client = client
        self.sent_on_connection = 0
        self.connections += 1
        return client

    def close(self) -> None:
        """Say goodbye to the server (or just close a connection that broke)."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()
