"""DSA statements of reasons: written for every acted item that reaches the EEA, checked
against the JSON Schema in ``portal/schemas/dsa_statement.schema.json``, exported as JSON
lines or call bodies of at most 100, and submitted to the Transparency Database.

An item that cannot give a valid statement is never left out silently: it is listed in
:attr:`StatementExport.refused` with the field that is missing or invalid.
"""

from __future__ import annotations

import functools
import http.client
import json
import ssl
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, RequestItem
from portal.services.access import require_staff
from portal.services.actors import Actor
from portal.services.errors import ServiceError
from workflows import dsa
from workflows.decisions import ACTED_DECISIONS

if TYPE_CHECKING:
    # jsonschema (with its referencing, attrs and rpds) is imported when a statement is
    # first checked: the command line loads this module, and every web worker loads the
    # command line's modules when the app registers its commands.
    from jsonschema import ValidationError

#: Items read from the database at a time.
BATCH_ROWS = 1000
SCHEMA_FILE = "dsa_statement.schema.json"


@dataclass(frozen=True)
class Refusal:
    """An item without a valid statement: which one, and the field that is wrong."""

    reference: str
    position: int
    puid: str
    field: str
    message: str


@dataclass
class StatementExport:
    """The statements written, and the items refused (each with its field)."""

    statements: list[dict[str, Any]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)



class SubmissionError(ServiceError):
    """Submitting could not start (not configured, a bad endpoint) or the database
    answered with an error."""

    code = "submission_failed"


# --- the schema ---------------------------------------------------------------------------------

def _bound(check: str) -> Any:
    def validate(validator: Any, limit: str, instance: Any, schema: Mapping[str, Any]
                 ) -> Iterator[ValidationError]:
        from jsonschema import ValidationError

        if not isinstance(instance, str):
            return
        try:
            day = date.fromisoformat(instance)
        except ValueError:
            return  # "format" names the problem
        if check == "min" and day < date.fromisoformat(limit):
            yield ValidationError(f"{instance} is before {limit}")
        if check == "max" and day > date.fromisoformat(limit):
            yield ValidationError(f"{instance} is after {limit}")
    return validate


@functools.cache
def schema() -> dict[str, Any]:
    """The statement schema (draft 2020-12), as kept in the repository."""
    text = resources.files("portal.schemas").joinpath(SCHEMA_FILE).read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _validator_class() -> Any:
    # The schema bounds dates with formatMinimum/formatMaximum (the database's
    # after_or_equal/before_or_equal), which draft 2020-12 leaves to extensions.
    from jsonschema import Draft202012Validator
    from jsonschema.validators import extend

    return extend(Draft202012Validator, {"formatMinimum": _bound("min"),
                                         "formatMaximum": _bound("max")})


@functools.cache
def _validators() -> tuple[Any, dict[str, Any]]:
    """The statement's own rules (required fields, the if/then rules, no unknown field),
    and one validator per field for its value.

    Validating the whole schema took ~2 ms a statement, most of it checking the same
    30 country codes and keywords again in every statement: each field's value is now
    checked once per distinct value (:func:`_value_problems`), which is the same test,
    since "properties" applies each field's schema to its value alone.
    """
    from jsonschema import Draft202012Validator, FormatChecker

    full = schema()
    Draft202012Validator.check_schema(full)
    cls = _validator_class()
    checker = FormatChecker()
    object_rules = dict(full, properties=dict.fromkeys(full["properties"], True))
    return (cls(object_rules, format_checker=checker),
            {name: cls(sub, format_checker=checker)
             for name, sub in full["properties"].items()})


@functools.lru_cache(maxsize=4096)
def _value_problems(name: str, encoded: str) -> tuple[str, ...]:
    validator = _validators()[1][name]
    return tuple(_message(name, error) for error in validator.iter_errors(json.loads(encoded)))


def _fields(error: ValidationError) -> list[str]:
    """The statement fields an error of the statement's own rules is about."""
    if error.validator == "required":
        wanted = error.validator_value
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [name for name in wanted if name not in instance] or list(wanted)
    if error.absolute_path:
        return [str(error.absolute_path[0])]
    if error.validator == "anyOf":  # the four decision fields: at least one
        return ["decision_visibility"]
    return ["statement"]


def _message(name: str, error: ValidationError) -> str:
    if error.validator == "required":
        return f"'{name}' is required"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of the values the database accepts"
    if error.validator == "anyOf":
        return ("one of decision_visibility, decision_monetary, decision_provision, "
                "decision_account is required")
    return str(error.message)


def check(statement: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a statement as (field, message), in field order; none if valid."""
    object_rules, fields = _validators()
    problems = [(name, _message(name, error))
                for error in object_rules.iter_errors(statement)
                for name in _fields(error)]
    for name, value in statement.items():
        if name in fields:
            encoded = json.dumps(value, ensure_ascii=False, sort_keys=True)
            problems += [(name, text) for text in _value_problems(name, encoded)]
    return sorted(set(problems))


# --- the export ---------------------------------------------------------------------------------

def settings_of(config: Mapping[str, Any]) -> dsa.Settings:
    """The platform's statement settings from the app's configuration."""
    return dsa.Settings(
        source_type=config.get("DSA_SOURCE_TYPE", "SOURCE_TYPE_OTHER_NOTIFICATION"),
        automated_detection=config.get("DSA_AUTOMATED_DETECTION", "No"),
        automated_decision=config.get("DSA_AUTOMATED_DECISION",
                                      "AUTOMATED_DECISION_NOT_AUTOMATED"),
        puid_prefix=config.get("DSA_PUID_PREFIX", ""),
    )


def _facts(since: datetime | None, until: datetime | None) -> Iterator[dsa.ItemFacts]:
    query = (
        sa.select(LegalRequest.reference, RequestItem.position, RequestItem.kind,
                  RequestItem.decision, RequestItem.territorial_scope, RequestItem.ground,
                  RequestItem.ground_statute, RequestItem.ground_article,
                  RequestItem.effect_given_at, RequestItem.suspended_until,
                  RequestItem.restored_at, LegalRequest.category, LegalRequest.jurisdiction,
                  LegalRequest.issuing_authority, LegalRequest.order_reference,
                  LegalRequest.order_date, LegalRequest.received_at,
                  RequestItem.decided_at)
        .join(LegalRequest, LegalRequest.id == RequestItem.request_id)
        .where(RequestItem.decision.in_(sorted(ACTED_DECISIONS)))
        .order_by(LegalRequest.id, RequestItem.position)
        .execution_options(yield_per=BATCH_ROWS)
    )
    # A decision counts from when it took effect (the decision time on old decisions
    # that record none).
    when = sa.func.coalesce(RequestItem.effect_given_at, RequestItem.decided_at)
    if since is not None:
        query = query.where(when >= since)
    if until is not None:
        query = query.where(when < until)
    for row in db.session.execute(query):
        yield dsa.ItemFacts(
            reference=row.reference, position=row.position, kind=str(row.kind.value),
            decision=row.decision, territorial_scope=row.territorial_scope,
            ground=row.ground, ground_statute=row.ground_statute,
            ground_article=row.ground_article, effect_given_at=row.effect_given_at,
            suspended_until=row.suspended_until, restored_at=row.restored_at,
            category=row.category.value, jurisdiction=row.jurisdiction,
            issuing_authority=row.issuing_authority, order_reference=row.order_reference,
            order_date=row.order_date, received_at=row.received_at)


def stream(actor: Actor, settings: dsa.Settings, refused: list[Refusal], *,
           since: datetime | None = None, until: datetime | None = None
           ) -> Iterator[dict[str, Any]]:
    """The valid statements of every acted item reaching the EEA that took effect in
    [``since``, ``until``), one at a time as the items are read (constant memory however
    many there are); each item that fails is appended to ``refused`` with its field.

    Raises:
        Forbidden: ``actor`` is not platform staff (when iteration starts).
    """
    require_staff(actor)
    for facts in _facts(since, until):
        if not dsa.affects_eea(facts):
            continue
        uid = dsa.puid(facts.reference, facts.position, settings.puid_prefix)
        try:
            statement = dsa.build(facts, settings)
        except dsa.Unwritable as exc:
            refused.append(Refusal(facts.reference, facts.position, uid, exc.field,
                                   exc.message))
            continue
        problems = check(statement)
        if problems:
            refused.extend(Refusal(facts.reference, facts.position, uid, name, text)
                           for name, text in problems)
            continue
        yield statement


def statements(actor: Actor, settings: dsa.Settings, *, since: datetime | None = None,
               until: datetime | None = None) -> StatementExport:
    """Every statement of :func:`stream` in a list, with the items refused.

    Raises:
        Forbidden: ``actor`` is not platform staff.
    """
    export = StatementExport()
    export.statements = list(stream(actor, settings, export.refused, since=since,
                                    until=until))
    return export


# --- submission ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Endpoint:
    """Where statements are posted (the database's ``/api/v1/statements``) and with
    which token."""

    url: str
    token: str
    timeout: float = 30.0


def endpoint_of(config: Mapping[str, Any]) -> Endpoint:
    """The submission endpoint from the configuration.

    Raises:
        SubmissionError: ``DSA_SUBMIT_URL`` or ``DSA_SUBMIT_TOKEN`` is not set, or the URL
            is not https (plain http only to this machine, for testing).
    """
    url, token = config.get("DSA_SUBMIT_URL"), config.get("DSA_SUBMIT_TOKEN")
    missing = [name for name, value in (("DSA_SUBMIT_URL", url), ("DSA_SUBMIT_TOKEN", token))
               if not value]
    if missing:
        raise SubmissionError(
            f"submitting is not configured: set {' and '.join(missing)} (see docs/OPERATIONS.md)")
    parts = urlsplit(str(url))
    local = parts.hostname in ("127.0.0.1", "::1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise SubmissionError("DSA_SUBMIT_URL must be an https URL")
    if not parts.hostname:
        raise SubmissionError("DSA_SUBMIT_URL has no host")
    return Endpoint(str(url), str(token), float(config.get("DSA_SUBMIT_TIMEOUT", 30)))


def build_request(endpoint: Endpoint, body: Mapping[str, Any]) -> tuple[str, str, bytes,
                                                                        dict[str, str]]:
    """The HTTP call for one body: method, path, bytes and headers (as the database's
    API documentation asks: a bearer token, JSON both ways)."""
    parts = urlsplit(endpoint.url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {"Authorization": f"Bearer {endpoint.token}", "Accept": "application/json",
               "Content-Type": "application/json", "Content-Length": str(len(data))}
    return "POST", path, data, headers


def submit(endpoint: Endpoint, bodies: Iterable[dict[str, Any]]) -> list[int]:
    """Post each body in turn; return the status of each (201 expected). Redirects are
    not followed.

    Raises:
        SubmissionError: a connection failure, or an answer other than 2xx (its status
            and the start of its body are in the message; the bodies before it were
            accepted).
    """
    parts = urlsplit(endpoint.url)
    statuses: list[int] = []
    accepted = 0
    for number, body in enumerate(bodies, start=1):
        method, path, data, headers = build_request(endpoint, body)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=endpoint.timeout,
                context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port,
                                                    timeout=endpoint.timeout)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            answer = response.read(2000).decode("utf-8", "replace")
        except OSError as exc:
            raise SubmissionError(f"call {number} failed ({accepted} statement(s) accepted "
                                  f"before it): {exc}") from exc
        finally:
            connection.close()
        if not 200 <= response.status < 300:
            raise SubmissionError(f"call {number} was refused ({accepted} statement(s) "
                                  f"accepted before it): HTTP {response.status}: "
                                  f"{answer[:500]}")
        statuses.append(response.status)
        accepted += len(body.get("statements", ()))
    return statuses


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
