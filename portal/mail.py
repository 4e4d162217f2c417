"""Sending mail: SMTP in production, the log in development. Settings come from the
environment (``PORTAL_MAIL_SERVER`` …, see docs/OPERATIONS.md)."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
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
    """Deliver ``mail`` with the configured backend.

    Raises:
        MailError: the SMTP server refused or could not be reached.
    """
    backend = config["MAIL_BACKEND"]
    if backend == "log":
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.body)
        return
    if backend != "smtp":
        raise MailError(f"unknown MAIL_BACKEND {backend!r}")
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    # Stable per notification: a retry after a lost acknowledgement carries the same
    # Message-ID, so receiving systems can drop the duplicate.
    message["Message-ID"] = mail.message_id
    message.set_content(mail.body)
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_SSL"]:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if config["MAIL_USE_TLS"]:
                client.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                client.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
