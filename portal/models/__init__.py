"""The models, one module per aggregate. Importing this package registers them all."""

from portal.models.agency import Agency
from portal.models.api import ApiToken, IdempotencyRecord, Webhook, WebhookDelivery
from portal.models.event import AuditLedger, Event
from portal.models.legal_request import (
    Attachment,
    LegalRequest,
    Message,
    ReferenceCounter,
    RequestItem,
)
from portal.models.outbox import DeliveryStatus, Notification
from portal.models.sla import HolidayOverride, SlaClock, SlaPolicy
from portal.models.user import RecoveryCode, User, UserNetwork

# The enum of ``Agency.status``: what may change it is ``workflows.agency_flow``'s table.
from workflows.agency_flow import VerificationStatus

__all__ = [
    "Agency",
    "ApiToken",
    "AuditLedger",
    "IdempotencyRecord",
    "Webhook",
    "WebhookDelivery",
    "Attachment",
    "DeliveryStatus",
    "HolidayOverride",
    "Notification",
    "SlaClock",
    "SlaPolicy",
    "Event",
    "LegalRequest",
    "Message",
    "RecoveryCode",
    "ReferenceCounter",
    "RequestItem",
    "User",
    "UserNetwork",
    "VerificationStatus",
]
