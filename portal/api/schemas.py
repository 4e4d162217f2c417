"""The API's schemas: they validate what comes in and generate the OpenAPI document."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from portal.intake import ItemKind
from portal.models.columns import ID_MAX
from workflows.codes import Category, Priority, RequestedAction
from workflows.decisions import (
    CURRENT,
    LEGACY,
    Decision,
    Ground,
    NoActionReason,
    NoticeDeferral,
    RestoreReason,
)
from workflows.request_flow import TRANSITIONS
from workflows.states import RequestState, Resolution

_CATEGORIES = [c.value for c in Category]
_PRIORITIES = [p.value for p in Priority]
_STATES = [s.value for s in RequestState]
_DECISIONS = [d.value for d in Decision]
_NO_ACTION_REASONS = [r.value for r in NoActionReason]
_REQUESTED_ACTIONS = [a.value for a in RequestedAction]
_SCOPE_DOC = ("where the decision applies: ISO 3166-1 alpha-2 country codes, \"EEA\" (the "
              "27 EU states, IS, LI, NO) or \"global\" alone")
_TRIGGERS = [t.trigger for t in TRANSITIONS]


class StrictSchema(ma.Schema):
    """Unknown fields are refused, so a misspelt field never passes silently."""

    class Meta:
        unknown = ma.RAISE


class LegalBasisSchema(StrictSchema):
    statute = fields.String(required=True, validate=validate.Length(1, 300),
                            metadata={"example": "Law No. 5651"})
    article = fields.String(load_default="", validate=validate.Length(0, 100),
                            metadata={"example": "Art. 8/A"})


class ItemInSchema(StrictSchema):
    target = fields.String(required=True, validate=validate.Length(0, 2000),
                           metadata={"description": "A handle, profile URL, post URL or "
                                     "channel link; read by the intake parser",
                                     "example": "@example_handle"})
    kind = fields.String(validate=validate.OneOf([k.value for k in ItemKind]),
                         metadata={"description": "What the filer says it is; checked"})


class ItemList(fields.List):  # type: ignore[type-arg]
    """The ``items`` array: documented as a list of ``ItemIn``, but checked by a fast path
    (marshmallow's per-item schema load cost more than filing itself for 10,000 items).
    It checks only the shape; the intake parser judges each target."""

    _KINDS = frozenset(k.value for k in ItemKind)
    _FIELDS = frozenset({"target", "kind"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(ItemInSchema), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any,  # type: ignore[override]
                     **kwargs: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise ma.ValidationError("Not a valid list.")
        errors: dict[int, dict[str, list[str]]] = {}
        for index, item in enumerate(value):
            if type(item) is dict and len(item) == 1:
                target = item.get("target")
                if type(target) is str and len(target) <= 2000:
                    continue  # the common case, checked without building anything
            if not isinstance(item, dict):
                errors[index] = {"_schema": ["Invalid input type."]}
                continue
            problems: dict[str, list[str]] = {}
            target = item.get("target")
            if target is None:
                problems["target"] = ["Missing data for required field."]
            elif not isinstance(target, str):
                problems["target"] = ["Not a valid string."]
            elif len(target) > 2000:
                problems["target"] = ["Longer than maximum length 2000."]
            kind = item.get("kind")
            if kind is not None and kind not in self._KINDS:
                problems["kind"] = ["Must be one of: " + ", ".join(sorted(self._KINDS)) + "."]
            for unknown in item.keys() - self._FIELDS:
                problems[str(unknown)] = ["Unknown field."]
            if problems:
                errors[index] = problems
        if errors:
            raise ma.ValidationError(errors)
        return value


class FilingSchema(StrictSchema):
    category = fields.String(required=True, validate=validate.OneOf(_CATEGORIES))
    priority = fields.String(required=True, validate=validate.OneOf(_PRIORITIES))
    legal_basis = fields.Nested(LegalBasisSchema, required=True)
    issuing_authority = fields.String(required=True, validate=validate.Length(1, 300))
    order_reference = fields.String(load_default="", validate=validate.Length(0, 100))
    order_date = fields.Date(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(0, 20_000))
    requested_action = fields.String(
        required=True, validate=validate.OneOf(_REQUESTED_ACTIONS),
        metadata={"description": "what the order asks the platform to do"})
    jurisdiction = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$"),
                                 metadata={"description": "ISO 3166-1 alpha-2: the "
                                           "agency's own country (the default), or EU for "
                                           "an EU order by an authority of a member state "
                                           "(and for an EU body); another is refused (422, "
                                           "foreign_jurisdiction)"})
    service = fields.String(validate=validate.Length(1, 16), metadata={
        "description": "the platform a bare @name belongs to: the code of an enabled "
                       "platform profile (x, telegram); links name their platform by "
                       "their host. Default: the portal's PLATFORM_PROFILE; another code "
                       "is refused (422, choice)"})
    items = ItemList(required=True, validate=validate.Length(min=1),
                        metadata={"description": "1 to MAX_ITEMS_PER_REQUEST (10,000 by "
                                  "default) targets"})


_PAUSE_RULES = ["none", "extend", "restart"]


class OtherPolicySchema(ma.Schema):
    policy = fields.String(metadata={"description": "the policy's code"})
    basis = fields.String(metadata={"description": "law, or platform (the platform's own "
                                    "commitment)"})
    source = fields.String()
    due_at = fields.String(allow_none=True, metadata={
        "description": "the deadline it set when the clock started (ISO 8601)"})
    pause_rule = fields.String(metadata={"description": "none, extend or restart"})
    kind = fields.String()


class SlaSchema(ma.Schema):
    target = fields.String(metadata={"description": "acknowledge, resolve or dispute"})
    due_at = fields.DateTime()
    remaining_seconds = fields.Integer(metadata={"description": "negative once breached"})
    paused = fields.Boolean()
    breached = fields.Boolean(metadata={"description": "the deadline has passed (reaching "
                                        "due_at itself is in time)"})
    stopped = fields.Boolean()
    policy = fields.String(metadata={"description": "the governing policy's code"})
    source = fields.String(metadata={"description": "the governing policy's citation"})
    kind = fields.String(metadata={"description": "elapsed, business, end_of_day or "
                                   "working_days_after"})
    pause_rule = fields.String(validate=validate.OneOf(_PAUSE_RULES), metadata={
        "description": "what a wait for the agency's answer does: none (the clock runs "
                       "on), extend (the time left is granted again) or restart (the full "
                       "time runs again)"})
    force_majeure = fields.Boolean(metadata={"description": "the rule lets the clock "
                                             "pause during a force majeure"})
    pause_reason = fields.String(allow_none=True, metadata={
        "description": "clarification or force_majeure while a pause is under way"})
    clamped = fields.Boolean(metadata={"description": "brought forward to the resolution "
                                       "deadline"})
    basis = fields.String(metadata={"description": "law or platform"})
    instrument = fields.String(metadata={"description": "the governing law, e.g. "
                                         "Regulation (EU) 2021/784 (TCO)"})
    article = fields.String()
    source_url = fields.String()
    other_policies = fields.List(fields.Nested(OtherPolicySchema), metadata={
        "description": "the other policies that apply to this clock, by deadline"})


class LinksSchema(ma.Schema):
    self = fields.String()
    items = fields.String()
    events = fields.String()
    messages = fields.String()


class FiledSchema(ma.Schema):
    reference = fields.String(metadata={"example": "TR-2026-000042"})
    state = fields.String(validate=validate.OneOf(_STATES))
    received_at = fields.DateTime()
    items_accepted = fields.Integer()
    sla = fields.List(fields.Nested(SlaSchema))
    links = fields.Nested(LinksSchema)


class RequestSummarySchema(ma.Schema):
    reference = fields.String()
    state = fields.String(validate=validate.OneOf(_STATES))
    resolution = fields.String(allow_none=True,
                               validate=validate.OneOf([r.value for r in Resolution]))
    category = fields.String()
    priority = fields.String()
    jurisdiction = fields.String()
    received_at = fields.DateTime()
    updated_at = fields.DateTime()
    items_total = fields.Integer()
    version = fields.Integer()
    links = fields.Nested(LinksSchema)


class BlockedActionSchema(ma.Schema):
    action = fields.String(validate=validate.OneOf(_TRIGGERS))
    code = fields.String(metadata={"description": "why: guard_failed (a guard of the "
                                   "lifecycle does not hold now)"})
    guard = fields.String(allow_none=True, metadata={
        "description": "the guard that does not hold, e.g. all_items_decided"})
    message = fields.String()


class RequestDetailSchema(RequestSummarySchema):
    requested_action = fields.String(
        allow_none=True, validate=validate.OneOf(_REQUESTED_ACTIONS),
        metadata={"description": "what the order asks for, as filed (null: filed before "
                  "it was asked)"})
    receipt_confirmed_at = fields.DateTime(
        allow_none=True, metadata={"description": "when the platform acknowledged the "
                                   "order (review began); null before"})
    legal_basis = fields.Nested(LegalBasisSchema)
    issuing_authority = fields.String()
    order_reference = fields.String()
    order_date = fields.Date(allow_none=True)
    description = fields.String()
    agency = fields.String()
    item_counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                              metadata={"description": "items by decision; 'pending' "
                                        "for undecided"})
    sla = fields.List(fields.Nested(SlaSchema))
    allowed_actions = fields.List(
        fields.String(validate=validate.OneOf(_TRIGGERS)),
        metadata={"description": "the actions this caller may take now"})
    blocked_actions = fields.List(
        fields.Nested(BlockedActionSchema),
        metadata={"description": "actions this caller's role could take from this state, "
                  "but that a guard stops now (e.g. items still pending)"})


class PageSchema(ma.Schema):
    next = fields.String(allow_none=True, metadata={"description": "URL of the next page"})


class RequestPageSchema(PageSchema):
    data = fields.List(fields.Nested(RequestSummarySchema))


class RequestQuerySchema(StrictSchema):
    state = fields.String(validate=validate.OneOf(_STATES))
    category = fields.String(validate=validate.OneOf(_CATEGORIES))
    priority = fields.String(validate=validate.OneOf(_PRIORITIES))
    updated_since = fields.AwareDateTime(default_timezone=None,
                                         metadata={"description": "ISO 8601 with a zone"})
    cursor = fields.String(validate=validate.Length(0, 100))
    limit = fields.Integer(validate=validate.Range(1, 500))


class ItemOutSchema(ma.Schema):
    id = fields.Integer()
    position = fields.Integer()
    kind = fields.String()
    target = fields.String()
    raw = fields.String()
    platform = fields.String(allow_none=True, metadata={
        "description": "the platform profile the target belongs to (x, telegram)"})
    url = fields.String(allow_none=True, metadata={
        "description": "the platform's own page for the target"})
    review_note = fields.String(allow_none=True, metadata={
        "description": "staff only (absent for agencies): the reviewer's note on the "
                       "content"})
    snapshot_ref = fields.String(allow_none=True, metadata={
        "description": "staff only (absent for agencies): where a snapshot of the "
                       "content is kept"})
    decision = fields.String(allow_none=True, metadata={
        "description": "the action, or no_action; null while pending. Decisions made "
                       "before the current vocabulary keep their code: "
                       + ", ".join(f"{old.value} is {new.value}"
                                   for old, new in LEGACY.items())})
    reason = fields.String(allow_none=True, metadata={"description": "the reviewer's text"})
    decided_at = fields.DateTime(allow_none=True)
    territorial_scope = fields.List(fields.String(), allow_none=True,
                                    metadata={"description": _SCOPE_DOC})
    scope_reason = fields.String(allow_none=True, metadata={
        "description": "why the scope is what it is (required for a TCO order's item "
                       "applied in fewer places than the EEA)"})
    ground = fields.String(allow_none=True, validate=validate.OneOf([g.value for g in Ground]))
    ground_statute = fields.String(allow_none=True, metadata={
        "description": "the law (local_law) or the platform rule (platform_rules)"})
    ground_article = fields.String(allow_none=True)
    effect_given_at = fields.DateTime(allow_none=True)
    suspended_until = fields.DateTime(allow_none=True)
    no_action_reason = fields.String(allow_none=True,
                                     validate=validate.OneOf(_NO_ACTION_REASONS))
    preserved_until = fields.DateTime(allow_none=True, metadata={
        "description": "a TCO order's removed content is preserved until then (Art. 6)"})
    restored_at = fields.DateTime(allow_none=True)
    restored_reason = fields.String(allow_none=True,
                                    validate=validate.OneOf([r.value for r in RestoreReason]))
    user_notified_at = fields.DateTime(allow_none=True)
    notice_deferred_until = fields.DateTime(allow_none=True)
    notice_deferral_basis = fields.String(
        allow_none=True, validate=validate.OneOf([n.value for n in NoticeDeferral]))


class ItemPageSchema(PageSchema):
    data = fields.List(fields.Nested(ItemOutSchema))


class ItemQuerySchema(StrictSchema):
    decision = fields.String(validate=validate.OneOf(["pending", *_DECISIONS]))
    cursor = fields.String(validate=validate.Length(0, 100))
    limit = fields.Integer(validate=validate.Range(1, 1000))


class EventSchema(ma.Schema):
    seq = fields.Integer()
    kind = fields.String()
    trigger = fields.String(allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    actor_role = fields.String()
    payload = fields.Dict()
    at = fields.DateTime()
    hash = fields.String()


class EventListSchema(ma.Schema):
    data = fields.List(fields.Nested(EventSchema))


class ContestedInSchema(StrictSchema):
    id = fields.Integer(required=True, validate=validate.Range(1, ID_MAX),
                        metadata={"description": "the item's id (as the items list gives)"})
    reason = fields.String(load_default="", validate=validate.Length(0, 4000),
                           metadata={"description": "why this item is contested (empty: "
                                     "the dispute's reason)"})


class ActionSchema(StrictSchema):
    reason = fields.String(validate=validate.Length(0, 10_000))
    no_action_reason = fields.String(
        validate=validate.OneOf(_NO_ACTION_REASONS),
        metadata={"description": "decline: the reason code its pending items get"})
    question = fields.String(validate=validate.Length(0, 10_000))
    answer = fields.String(validate=validate.Length(0, 10_000))
    reviewer_id = fields.Integer(validate=validate.Range(1, ID_MAX), metadata={
        "description": "reassign: the active legal reviewer who is to hold the request"})
    items = fields.List(fields.Nested(ContestedInSchema), validate=validate.Length(1, 10_000),
                        metadata={"description": "dispute: the items contested, each with "
                                  "its own reason if any (absent: every item)"})
    expected_version = fields.Integer(metadata={"description": "the version you last saw; "
                                                "409 if the request changed since"})


class DisputeAnswerSchema(StrictSchema):
    item_ids = fields.List(fields.Integer(validate=validate.Range(1, ID_MAX)),
                           validate=validate.Length(1, 10_000))
    all_open = fields.Boolean(load_default=False, metadata={
        "description": "every contested item without an answer (instead of item_ids)"})
    answer = fields.String(required=True, validate=validate.OneOf(["upheld", "changed"]),
                           metadata={"description": "upheld: the decision stands; changed: "
                                     "it was decided again since the dispute"})
    text = fields.String(required=True, validate=validate.Length(1, 4000),
                         metadata={"description": "the explanation the agency reads"})
    expected_version = fields.Integer(metadata={"description": "the version you last saw; "
                                                "409 if the request changed since"})

    @ma.validates_schema
    def one_selection(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("item_ids")) == bool(data.get("all_open")):
            raise ma.ValidationError("give either item_ids or all_open: true", "item_ids")


class ContestedOutSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "the item's id"})
    position = fields.Integer()
    target = fields.String()
    decision = fields.String(allow_none=True)
    round = fields.Integer(metadata={"description": "which dispute of the request (1, 2, …)"})
    reason = fields.String(allow_none=True, metadata={"description": "the agency's reason "
                                                      "for this item, if it gave one"})
    answer = fields.String(allow_none=True, metadata={"description": "upheld, changed, or "
                                                      "null while unanswered"})
    answer_text = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)


class ContestedPageSchema(ma.Schema):
    data = fields.List(fields.Nested(ContestedOutSchema))
    next = fields.String(allow_none=True)


class ContestedQuerySchema(StrictSchema):
    cursor = fields.String(validate=validate.Length(0, 100))
    limit = fields.Integer(validate=validate.Range(1, 1000))


class DecisionSchema(StrictSchema):
    item_ids = fields.List(fields.Integer(validate=validate.Range(1, ID_MAX)),
                           validate=validate.Length(1, 10_000))
    all_pending = fields.Boolean(load_default=False)
    decision = fields.String(required=True, validate=validate.OneOf(_DECISIONS), metadata={
        "description": "one of " + ", ".join(d.value for d in CURRENT) + " (the first "
                       "release's codes are still accepted)"})
    reason = fields.String(load_default="", validate=validate.Length(0, 10_000),
                           metadata={"description": "the reviewer's explanation"})
    territorial_scope = fields.List(
        fields.String(validate=validate.Length(1, 10)), validate=validate.Length(1, 300),
        metadata={"description": _SCOPE_DOC + "; default: the request's country for "
                  "withheld, else global"})
    scope_reason = fields.String(load_default="", validate=validate.Length(0, 1000))
    ground = fields.String(validate=validate.OneOf([g.value for g in Ground]),
                           metadata={"description": "default local_law"})
    ground_statute = fields.String(load_default="", validate=validate.Length(0, 300),
                                   metadata={"description": "default: the request's statute "
                                             "(local_law); the rule's name (platform_rules)"})
    ground_article = fields.String(load_default="", validate=validate.Length(0, 100))
    effect_given_at = fields.AwareDateTime(default_timezone=None, metadata={
        "description": "default now; not before receipt, not in the future"})
    suspended_until = fields.AwareDateTime(default_timezone=None, metadata={
        "description": "account_suspended only, and required there"})
    no_action_reason = fields.String(validate=validate.OneOf(_NO_ACTION_REASONS), metadata={
        "description": "no_action only, and required there"})
    expected_version = fields.Integer(
        validate=validate.Range(0, ID_MAX),
        metadata={"description": "the request's version you last saw (GET's `version`); "
                  "409 if anyone changed it since, so two reviewers deciding the same "
                  "items at once cannot overwrite each other unseen"})

    @ma.validates_schema
    def one_selection(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("item_ids")) == bool(data.get("all_pending")):
            raise ma.ValidationError("give either item_ids or all_pending: true",
                                     "item_ids")


class DecidedSchema(ma.Schema):
    decided = fields.Integer()
    version = fields.Integer()


class _ItemSelection(StrictSchema):
    item_ids = fields.List(fields.Integer(validate=validate.Range(1, ID_MAX)),
                           validate=validate.Length(1, 10_000))
    all_acted = fields.Boolean(load_default=False, metadata={
        "description": "every item with an action (instead of item_ids)"})
    expected_version = fields.Integer(metadata={"description": "the version you last saw; "
                                                "409 if the request changed since"})

    @ma.validates_schema
    def one_selection(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("item_ids")) == bool(data.get("all_acted")):
            raise ma.ValidationError("give either item_ids or all_acted: true", "item_ids")


class RestorationSchema(_ItemSelection):
    reason = fields.String(required=True,
                           validate=validate.OneOf([r.value for r in RestoreReason]))
    note = fields.String(load_default="", validate=validate.Length(0, 1000))
    restored_at = fields.AwareDateTime(default_timezone=None,
                                       metadata={"description": "default now"})


class NoticeSchema(_ItemSelection):
    notified = fields.Boolean(required=True, metadata={
        "description": "true: the users were told (at notified_at); false: telling them "
                       "is deferred until deferred_until on basis"})
    notified_at = fields.AwareDateTime(default_timezone=None,
                                       metadata={"description": "default now"})
    deferred_until = fields.AwareDateTime(default_timezone=None)
    basis = fields.String(validate=validate.OneOf([n.value for n in NoticeDeferral]))


class ChangedSchema(ma.Schema):
    changed = fields.Integer(metadata={"description": "how many items"})
    version = fields.Integer()


class MessageInSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(1, 10_000))
    internal = fields.Boolean(load_default=False,
                              metadata={"description": "staff only: a note the agency "
                                        "never sees"})


class MessageOutSchema(ma.Schema):
    id = fields.Integer()
    body = fields.String()
    internal = fields.Boolean()
    author_role = fields.String()
    at = fields.DateTime()


class MessageListSchema(ma.Schema):
    data = fields.List(fields.Nested(MessageOutSchema))


class DocumentOutSchema(ma.Schema):
    id = fields.Integer()
    filename = fields.String()
    kind = fields.String(metadata={"description": "order, annexure, translation or other"})
    language = fields.String(allow_none=True, metadata={
        "description": "ISO 639-1 code; null on documents filed before it was asked"})
    context = fields.String(metadata={
        "description": "when it came: filing, later, answer (to a clarification)"})
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_by_role = fields.String()
    at = fields.DateTime()
    links = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "download: the file itself (an attachment, never cached)"})


class DocumentListSchema(ma.Schema):
    data = fields.List(fields.Nested(DocumentOutSchema))


class WebhookInSchema(StrictSchema):
    url = fields.String(required=True, validate=validate.Length(1, 2000))
    description = fields.String(load_default="", validate=validate.Length(0, 200))


class DeliverySchema(ma.Schema):
    event = fields.String()
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True, metadata={
        "description": "the receiver's HTTP status, when it answered"})
    error = fields.String(allow_none=True, metadata={"description": (
        "why the attempt failed (null when it succeeded), one of: `refused` (the URL's "
        "port, or an address its host resolved to, is not allowed; the receiver was not "
        "contacted), `timeout`, `connection failed` (including TLS and certificate "
        "errors), `redirect refused` (a 3xx answer: redirects are never followed), "
        "`HTTP 4xx`, `HTTP 5xx`, `invalid response` (not HTTP)")})
    duration_ms = fields.Integer()


class WebhookOutSchema(ma.Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    created_at = fields.DateTime()
    secret = fields.String(metadata={"description": "only in the response to POST: keep "
                                     "it, it is never shown again"})
    recent_deliveries = fields.List(fields.Nested(DeliverySchema))


class WebhookListSchema(ma.Schema):
    data = fields.List(fields.Nested(WebhookOutSchema))


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details (``application/problem+json``)."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.List(fields.Dict(), metadata={
        "description": "each {path, index, code, message}; index is the item's position "
                       "in 'items' (from 0) where it applies"})
