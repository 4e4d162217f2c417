"""The models, one module per aggregate. Importing this package registers them all."""

from portal.models.agency import Agency
from portal.models.api import (
    ApiToken,
    IdempotencyRecord,
    TokenScope,
    Webhook,
    WebhookDelivery,
)
from portal.models.dispute import ItemDispute
from portal.models.event import AuditCheckpoint, AuditLedger, AuditSeal, Event
from portal.models.legal_request import (
    Attachment,
    LegalRequest,
    Message,
    ReferenceCounter,
    RequestItem,
)
from portal.models.notice import NoticeMute, UserNotice
from portal.models.ops import WorkerHeartbeat
from portal.models.outbox import DeliveryStatus, Notification, outbox_row
from portal.models.publication import NoticePublication
from portal.models.report_facts import ReportDay, RequestFacts
from portal.models.safeguards import AccountHistory, AgencyHistory, OutOfBandConfirmation
from portal.models.sla import HolidayOverride, SlaClock, SlaPolicy
from portal.models.user import (
    EnrolmentCode,
    RecoveryCode,
    ReviewerJurisdiction,
    User,
    UserNetwork,
)

# The enum of ``Agency.status``: what may change it is ``workflows.agency_flow``'s table.
from workflows.agency_flow import VerificationStatus

__all__ = [
    "AccountHistory",
    "Agency",
    "AgencyHistory",
    "ApiToken",
    "AuditCheckpoint",
    "AuditSeal",
    "AuditLedger",
    "IdempotencyRecord",
    "ItemDispute",
    "TokenScope",
    "Webhook",
    "WebhookDelivery",
    "Attachment",
    "DeliveryStatus",
    "EnrolmentCode",
    "HolidayOverride",
    "Notification",
    "outbox_row",
    "NoticePublication",
    "NoticeMute",
    "ReportDay",
    "RequestFacts",
    "SlaClock",
    "SlaPolicy",
    "Event",
    "LegalRequest",
    "Message",
    "OutOfBandConfirmation",
    "RecoveryCode",
    "ReferenceCounter",
    "ReviewerJurisdiction",
    "RequestItem",
    "User",
    "UserNotice",
    "UserNetwork",
    "VerificationStatus",
    "WorkerHeartbeat",
]
