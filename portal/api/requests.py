"""/api/v1/requests: file, list, read, act, decide, message."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime
from typing import Any

from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from portal import platforms
from portal.api import auth
from portal.api import schemas as s
from portal.api.body import parsed_body
from portal.api.problem_docs import PROBLEMS, documenter
from portal.api.problems import problem
from portal.decision_csv import decisions_response
from portal.intake import ItemKind
from portal.models import LegalRequest, Message
from portal.models.columns import ID_MAX, utcnow
from portal.services import (
    access,
    clocks,
    decisions,
    disputes,
    filing,
    lifecycle,
    listing,
    messages,
)
from portal.services.decision_export import decision_export
from portal.services.filing import FilingData, TargetInput
from portal.services.request_filters import RequestFilters
from workflows.decisions import Terms
from workflows.territory import tokens

blp = auth.protect(Blueprint(
    "api_requests", __name__, description="Legal requests: file them, follow them, act on "
    "them. Agencies see only their own; platform staff see all."))

#: ``@problems(404, 409)``: the problem+json answers a route of this blueprint may give.
problems = documenter(blp)


def _problem_responses(*codes: int) -> dict[int, dict[str, Any]]:
    return {code: {"description": PROBLEMS[code], "content": {
        "application/problem+json": {"schema": "Problem"}}} for code in codes}


# -- helpers ----------------------------------------------------------------------------

def _links(reference: str) -> dict[str, str]:
    # Formatted, not url_for'd: four reverse lookups were a tenth of a detail call, and a
    # reference is always letters, digits and dashes.
    base = f"/api/v1/requests/{reference}"
    return {"self": base, "items": base + "/items", "events": base + "/events",
            "messages": base + "/messages"}


def _encode(value: Any) -> str:
    """JSON for what the standard encoder does not know: dates and times, ISO 8601."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def request_summary(req: LegalRequest) -> dict[str, Any]:
    """A request's summary as the API lists it (also the answer to an action)."""
    return {
        "reference": req.reference, "state": req.state.value,
        "resolution": req.resolution.value if req.resolution else None,
        "category": req.category.value, "priority": req.priority.value,
        "jurisdiction": req.jurisdiction, "received_at": req.received_at,
        "updated_at": req.updated_at, "items_total": req.item_count,
        "version": req.version, "links": _links(req.reference),
    }


def _encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        if not 0 <= value <= ID_MAX:
            raise ValueError(value)
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        abort(422, errors={"query": {"cursor": ["not a cursor this API gave out"]}})
        raise  # abort raises; this line only tells the type checker


def _next_url(endpoint: str, cursor: int | None, **values: Any) -> str | None:
    if cursor is None:
        return None
    query: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor"}
    return url_for(endpoint, **values, **query, cursor=_encode_cursor(cursor))


# -- filing and listing -----------------------------------------------------------------

@blp.route("/requests")
class Requests(MethodView):
    @blp.arguments(s.RequestQuerySchema, location="query")
    @blp.response(200, s.RequestPageSchema)
    @problems(401, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The caller's visible requests, newest first, a page at a time."""
        since = query.get("updated_since")
        if since is not None and since.tzinfo is None:
            abort(422, errors={"query": {"updated_since": ["give a time zone"]}})
        filters = RequestFilters(state=query.get("state", ""),
                                         category=query.get("category", ""),
                                         priority=query.get("priority", ""))
        rows, after = listing.requests_after(
            auth.actor(), filters, updated_since=since,
            before_id=_decode_cursor(query.get("cursor")),
            limit=query.get("limit") or current_app.config["API_PAGE_SIZE"])
        return {"data": [request_summary(r) for r in rows],
                "next": _next_url("api_requests.Requests", after)}

    @blp.arguments(s.FilingSchema)
    @blp.response(201, s.FiledSchema)
    @problems(401, 403)
    @blp.alt_response(409, description="The Idempotency-Key was used with another body",
                      content_type="application/problem+json")
    @problems(413, 415, 422)
    def post(self, body: dict[str, Any]) -> Any:
        """File a request (agency officials). Send an ``Idempotency-Key`` header to make
        retries safe: the same key and body return the first response without filing
        twice; the same key with another body is 409."""
        key = request.headers.get("Idempotency-Key", "").strip()
        if len(key) > 200:
            return problem(422, "Idempotency-Key: at most 200 characters", kind="validation")
        fingerprint = hashlib.sha256(json.dumps(parsed_body(), sort_keys=True,
                                                default=str).encode()).hexdigest()
        data = FilingData(
            category=body["category"], priority=body["priority"],
            legal_statute=body["legal_basis"]["statute"],
            legal_article=body["legal_basis"].get("article", ""),
            issuing_authority=body["issuing_authority"],
            order_reference=body.get("order_reference", ""),
            order_date=body.get("order_date"), description=body.get("description", ""),
            jurisdiction=body.get("jurisdiction"),
            requested_action=body["requested_action"],
            service=body.get("service"),
            # Plain strings where no kind is given: 10,000 small objects less to build.
            targets=[TargetInput(i["target"], ItemKind(i["kind"])) if "kind" in i
                     else i["target"] for i in body["items"]],
        )
        try:
            receipt = filing.file_once(auth.actor(), data, key=key, fingerprint=fingerprint)
        except filing.KeyReused:
            return problem(409, "this Idempotency-Key was already used with a different body",
                           kind="idempotency-key-reused")
        links = _links(receipt.reference)
        headers = {"Location": links["self"]}
        if receipt.replayed:
            headers["Idempotent-Replayed"] = "true"
        return json_response({**receipt.document, "links": links}, 201, headers)


def json_response(data: dict[str, Any], status: int, headers: dict[str, str]) -> Response:
    """A JSON response built here: the filing response is already JSON-ready, because the
    very same document is stored for idempotent replays."""
    return current_app.response_class(json.dumps(data, default=_encode), status=status,
                                      mimetype="application/json", headers=headers)


# -- one request ------------------------------------------------------------------------

@blp.route("/requests/<reference>")
class RequestDetail(MethodView):
    @blp.response(200, s.RequestDetailSchema)
    @problems(401, 404)
    def get(self, reference: str) -> Response:
        """The request with its SLA clocks, item counts by decision, and the actions this
        caller may take now."""
        actor, now = auth.actor(), utcnow()
        detail = listing.request_detail(actor, reference)
        first = detail.request
        options = lifecycle.options(actor, first, now)
        # Serialised here rather than by the response schema (which still documents it,
        # and which the schemathesis test checks it against).
        return json_response({
            "reference": first.reference, "state": first.state.value,
            "resolution": first.resolution.value if first.resolution else None,
            "category": first.category.value, "priority": first.priority.value,
            "jurisdiction": first.jurisdiction, "received_at": first.received_at,
            "updated_at": first.updated_at, "items_total": first.item_count,
            "version": first.version, "links": _links(first.reference),
            "requested_action": (first.requested_action.value
                                 if first.requested_action is not None else None),
            "receipt_confirmed_at": first.receipt_confirmed_at,
            "legal_basis": {"statute": first.legal_statute, "article": first.legal_article},
            "issuing_authority": first.issuing_authority,
            "order_reference": first.order_reference, "order_date": first.order_date,
            "description": first.description, "agency": first.agency_name,
            "item_counts": {"pending": 0} | first.decision_counts,
            "sla": clocks.readings(detail.clocks, now),
            "allowed_actions": [o.trigger for o in options if o.possible],
            "blocked_actions": [{"action": o.trigger, "code": o.refusal.code,
                                 "guard": getattr(o.refusal, "guard", None),
                                 "message": o.refusal.message}
                                for o in options if o.refusal is not None],
        }, 200, {})


@blp.route("/requests/<reference>/items", endpoint="items")
@blp.arguments(s.ItemQuerySchema, location="query")
@blp.response(200, s.ItemPageSchema)
@problems(404)
def items(query: dict[str, Any], reference: str) -> dict[str, Any]:
    """The request's items in filing order, filtered by decision ('pending' for
    undecided), a page at a time."""
    actor = auth.actor()
    req = access.get_request(actor, reference)
    rows, after = listing.items_after(
        req.id, query.get("decision", ""), after_position=_decode_cursor(query.get("cursor")),
        limit=query.get("limit") or current_app.config["API_PAGE_SIZE"])
    return {
        "data": [_item(r, staff=actor.is_staff) for r in rows],
        "next": _next_url("api_requests.items", after, reference=reference),
    }


def _code(value: Any) -> Any:
    return None if value is None else value.value


def _item(r: Any, *, staff: bool) -> dict[str, Any]:
    """An item with its decision's legal record (the same for the agency and staff), and
    for staff the reviewer's note and snapshot reference."""
    extra = {"review_note": r.review_note, "snapshot_ref": r.snapshot_ref} if staff else {}
    return {
        **extra,
        "platform": platforms.platform_code(r.kind.value, r.target),
        "url": platforms.page_url(r.kind.value, r.target),
        "id": r.id, "position": r.position, "kind": r.kind.value, "target": r.target,
        "raw": r.raw, "decision": _code(r.decision), "reason": r.reason,
        "decided_at": r.decided_at,
        "territorial_scope": tokens(r.territorial_scope) if r.territorial_scope else None,
        "scope_reason": r.scope_reason, "ground": _code(r.ground),
        "ground_statute": r.ground_statute, "ground_article": r.ground_article,
        "effect_given_at": r.effect_given_at, "suspended_until": r.suspended_until,
        "no_action_reason": _code(r.no_action_reason), "preserved_until": r.preserved_until,
        "restored_at": r.restored_at, "restored_reason": _code(r.restored_reason),
        "user_notified_at": r.user_notified_at,
        "notice_deferred_until": r.notice_deferred_until,
        "notice_deferral_basis": _code(r.notice_deferral_basis),
    }


@blp.route("/requests/<reference>/decisions.csv", endpoint="decisions_csv")
@blp.response(200, {"type": "string"}, content_type="text/csv",
              description="One row per item: position, kind, target, decision (in the "
              "token owner's language, and its code), territorial scope, ground, effect "
              "given at, restored at, notice.")
@problems(404)
def decisions_csv(reference: str) -> Response:
    """The decision on every item, in filing order, as a streamed CSV download."""
    return decisions_response(decision_export(auth.actor(), reference))


@blp.route("/requests/<reference>/events", endpoint="events")
@blp.response(200, s.EventListSchema)
@problems(404)
def events(reference: str) -> dict[str, Any]:
    """The audit timeline, oldest first (internal notes only for platform staff)."""
    actor = auth.actor()
    rows = listing.all_events(actor, access.get_request(actor, reference).id)
    return {"data": [{
        "seq": e.seq, "kind": e.kind, "trigger": e.trigger, "from_state": e.from_state,
        "to_state": e.to_state, "actor_role": e.actor_role, "at": e.created_at,
        "hash": e.hash, "payload": access.visible_payload(actor, e.payload),
    } for e in rows]}


@blp.route("/requests/<reference>/actions/<trigger>", endpoint="action", methods=["POST"])
@blp.arguments(s.ActionSchema)
@blp.response(200, s.RequestSummarySchema)
@problems(403, 404, 409, 422)
def action(body: dict[str, Any], reference: str, trigger: str) -> dict[str, Any]:
    """Fire a lifecycle action (only those in the request's ``allowed_actions``).
    Inputs: ``question`` (request_info), ``answer`` (provide_info), ``reason`` (decline,
    withdraw, dispute, uphold; optional for unassign and reassign), ``no_action_reason``
    (decline), ``reviewer_id`` (reassign), ``items`` (dispute: the items contested, each
    with its reason if any; absent, every item). A reviewer acting on a request another
    reviewer holds is refused 403 ``not-assignee`` unless a lead reviewer."""
    inputs: dict[str, str] = {k: body[k] for k in ("reason", "question", "answer",
                                                   "no_action_reason") if k in body}
    if "reviewer_id" in body:
        inputs["reviewer"] = str(body["reviewer_id"])
    contested = [disputes.Contest(i["id"], i.get("reason", "")) for i in body["items"]] \
        if "items" in body else None
    req = lifecycle.fire(auth.actor(), reference, trigger, inputs=inputs,
                         expected_version=body.get("expected_version"), contested=contested)
    return request_summary(req)


@blp.route("/requests/<reference>/disputes", endpoint="disputes")
@blp.arguments(s.ContestedQuerySchema, location="query")
@blp.response(200, s.ContestedPageSchema)
@problems(404)
def contested(query: dict[str, Any], reference: str) -> dict[str, Any]:
    """The items contested in the request's newest dispute, in filing order, with the
    agency's reason for each and the reviewer's answer (empty list: never disputed)."""
    req = access.get_request(auth.actor(), reference)
    rows, after = disputes.contested_after(
        req.id, after_position=_decode_cursor(query.get("cursor")),
        limit=query.get("limit") or current_app.config["API_PAGE_SIZE"])
    return {"data": [{"id": r.id, "position": r.position, "target": r.target,
                      "decision": _code(r.decision), "round": r.round, "reason": r.reason,
                      "answer": _code(r.answer), "answer_text": r.answer_text,
                      "answered_at": r.answered_at} for r in rows],
            "next": _next_url("api_requests.disputes", after, reference=reference)}


@blp.route("/requests/<reference>/disputes/answers", endpoint="dispute_answers",
           methods=["POST"])
@blp.arguments(s.DisputeAnswerSchema)
@blp.response(200, s.ChangedSchema)
@problems(403, 404, 409, 422)
def dispute_answers(body: dict[str, Any], reference: str) -> dict[str, Any]:
    """Answer contested items of the current dispute (the reviewer who holds the request,
    or a lead reviewer): listed ``item_ids`` or ``all_open``; ``upheld`` or ``changed``
    (decided again since the dispute), with the ``text`` the agency reads."""
    actor = auth.actor()
    count = disputes.answer_items(
        actor, reference, answer=body["answer"], text=body["text"],
        item_ids=body.get("item_ids"), all_open=body.get("all_open", False),
        expected_version=body.get("expected_version"))
    return {"changed": count, "version": access.get_request(actor, reference).version}


@blp.route("/requests/<reference>/decisions", endpoint="decisions", methods=["POST"])
@blp.arguments(s.DecisionSchema)
@blp.response(200, s.DecidedSchema)
@problems(403, 404, 409, 422)
def decide(body: dict[str, Any], reference: str) -> dict[str, Any]:
    """Decide items (legal reviewers): listed ``item_ids`` or ``all_pending``, with the
    decision's territorial scope, ground, time of effect, a suspension's end, or no
    action's reason (each defaulted as documented)."""
    actor = auth.actor()
    terms = Terms(
        territorial_scope=body.get("territorial_scope"),
        scope_reason=body.get("scope_reason", ""), ground=body.get("ground"),
        ground_statute=body.get("ground_statute", ""),
        ground_article=body.get("ground_article", ""),
        effect_given_at=body.get("effect_given_at"),
        suspended_until=body.get("suspended_until"),
        no_action_reason=body.get("no_action_reason"))
    count = decisions.decide_items(
        actor, reference, decision=body["decision"], reason=body.get("reason", ""),
        terms=terms, item_ids=body.get("item_ids"),
        all_pending=body.get("all_pending", False),
        expected_version=body.get("expected_version"))
    return {"decided": count, "version": access.get_request(actor, reference).version}


@blp.route("/requests/<reference>/restorations", endpoint="restorations", methods=["POST"])
@blp.arguments(s.RestorationSchema)
@blp.response(200, s.ChangedSchema)
@problems(403, 404, 409, 422)
def restorations(body: dict[str, Any], reference: str) -> dict[str, Any]:
    """Record that acted-on items were restored (legal reviewers): the order was
    annulled, or a complaint upheld. Listed ``item_ids`` or ``all_acted``."""
    actor = auth.actor()
    count = decisions.restore_items(
        actor, reference, reason=body["reason"], note=body.get("note", ""),
        restored_at=body.get("restored_at"), item_ids=body.get("item_ids"),
        all_acted=body.get("all_acted", False),
        expected_version=body.get("expected_version"))
    return {"changed": count, "version": access.get_request(actor, reference).version}


@blp.route("/requests/<reference>/notices", endpoint="notices", methods=["POST"])
@blp.arguments(s.NoticeSchema)
@blp.response(200, s.ChangedSchema)
@problems(403, 404, 409, 422)
def notices(body: dict[str, Any], reference: str) -> dict[str, Any]:
    """Record that the affected users of acted-on items were told, or that telling them
    is deferred until a time on a legal basis (legal reviewers); the worker alerts when a
    deferral ends."""
    actor = auth.actor()
    count = decisions.record_notice(
        actor, reference, notified=body["notified"], notified_at=body.get("notified_at"),
        deferred_until=body.get("deferred_until"), basis=body.get("basis"),
        item_ids=body.get("item_ids"), all_acted=body.get("all_acted", False),
        expected_version=body.get("expected_version"))
    return {"changed": count, "version": access.get_request(actor, reference).version}


@blp.route("/requests/<reference>/messages")
class Messages(MethodView):
    @blp.response(200, s.MessageListSchema)
    @problems(404)
    def get(self, reference: str) -> dict[str, Any]:
        """Messages on the request (internal notes only for platform staff)."""
        found = messages.messages_for(auth.actor(), reference)
        return {"data": [{"id": m.id, "body": m.body, "internal": m.internal,
                          "author_role": m.author.role.value, "at": m.created_at}
                         for m in found]}

    @blp.arguments(s.MessageInSchema)
    @blp.response(201, s.MessageOutSchema)
    @problems(403, 404, 422)
    def post(self, body: dict[str, Any], reference: str) -> dict[str, Any]:
        """Post a message to the other side (or, for staff, an internal note)."""
        actor = auth.actor()
        message: Message = messages.post_message(actor, reference, body["body"],
                                                 internal=body["internal"])
        return {"id": message.id, "body": message.body, "internal": message.internal,
                "author_role": actor.role.value, "at": message.created_at}
