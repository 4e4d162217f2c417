"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps every
message it accepts, so a test reads a mail as it was sent rather than re-rendering the
outbox row (whose one-time links are dropped once sent)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from portal.mail import Mail


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """Every message the server accepted, in order."""

    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def sent(self, notification_ids: set[int] | None = None) -> list[Mail]:
        """The mails received, as ``Mail``; only those of these notifications if given
        (the portal's Message-ID names the notification)."""
        found = []
        for message in self.messages:
            message_id = str(message["Message-ID"])
            number = re.match(r"<notification-(\d+)@", message_id)
            if notification_ids is not None and (
                    number is None or int(number.group(1)) not in notification_ids):
                continue
            body = message.get_body(("plain",))
            assert body is not None
            found.append(Mail(to=str(message["To"]), subject=str(message["Subject"]),
                              body=body.get_content(), message_id=message_id))
        return found


@contextmanager
def smtp_server(config: dict[str, Any]) -> Iterator[Inbox]:
    """Serve SMTP on loopback and point ``config`` (an app's) at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port,
                  MAIL_USE_TLS=False, MAIL_USE_SSL=False, MAIL_USERNAME=None)
    try:
        yield inbox
    finally:
        controller.stop()
