"""Denial of service by large JSON: a body is read only after the token and the rate
limit, only up to its endpoint's limit, only to a bounded depth; a NUL is reported on the
field or item that holds it, beside every other error.

The attacks reproduced here: a 19 MB anonymous body was read and scanned before the token
was checked (1.46 s of a worker each); 5 MB bodies with a token held the workers for
seconds (166,666 bad items, one schema error each); JSON nested 1,000 deep was a 500; one
NUL in item 3 of 1,178 hid every other item's error. bench/api_bodies.py times the same
against a real gunicorn.
"""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest
from portal.services import tokens

pytestmark = pytest.mark.usefixtures("policies")


PROBLEM = "application/problem+json"
MB19 = 19 * 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of ``size`` bytes (a JSON string of that length) that counts how
    many of its bytes the server read. Seekable, as the test client wants to measure it;
    seeking reads nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.position = 0
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, min(self.size, base + offset))
        return self.position

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self.position)
        if n <= 0:
            return 0
        chunk = bytearray(b"x" * n)
        if self.position == 0:
            chunk[0:1] = b'"'
        if self.position + n == self.size:
            chunk[-1:] = b'"'
        buffer[:n] = chunk
        self.position += n
        self.consumed += n
        return n


def bearer(user, *scopes: str) -> dict[str, str]:
    _, token = tokens.create_token(user, "bodies", scopes=scopes or ("file", "act"))
    return {"Authorization": f"Bearer {token}"}


def filing(items: list[dict[str, str]], **fields) -> dict:
    return {"category": "fraud", "priority": "standard", "issuing_authority": "BTK",
            "requested_action": "remove",
            "legal_basis": {"statute": "Law No. 5651"}, "items": items, **fields}


def post_stream(client, path: str, stream: CountingBody, headers: dict[str, str], *,
                chunked: bool = False):
    """POST ``stream`` as the body: with its Content-Length, or without one as a server
    that de-chunks the body passes it (``wsgi.input_terminated``)."""
    environ = {"wsgi.input_terminated": True} if chunked else {}
    return client.post(path, input_stream=stream, content_type="application/json",
                       content_length=None if chunked else stream.size,
                       headers=headers, environ_overrides=environ)


def test_an_anonymous_19_mb_body_is_refused_before_a_byte_is_read(client, world):
    stream = CountingBody(MB19)
    response = post_stream(client, "/api/v1/requests", stream, {})
    assert response.status_code == 401 and response.content_type == PROBLEM
    assert stream.consumed == 0
    # A made-up token is no better.
    stream = CountingBody(MB19)
    response = post_stream(client, "/api/v1/requests", stream,
                           {"Authorization": "Bearer lp_made_up"})
    assert response.status_code == 401 and stream.consumed == 0


def test_a_rate_limited_caller_is_refused_before_its_body_is_read(client, world, app):
    from portal.extensions import limiter

    app.config["API_RATE_LIMIT"] = "1 per minute"
    limiter.reset()
    headers = bearer(world.official)
    assert client.get("/api/v1/requests", headers=headers).status_code == 200
    stream = CountingBody(MB19)
    response = post_stream(client, "/api/v1/requests", stream, headers)
    assert response.status_code == 429 and stream.consumed == 0
    limiter.reset()


def test_a_token_without_the_scope_is_refused_before_its_body_is_read(client, world):
    stream = CountingBody(MB19)
    response = post_stream(client, "/api/v1/requests", stream,
                           bearer(world.official, "read"))
    assert response.status_code == 403 and stream.consumed == 0


@pytest.mark.parametrize(("path", "setting"), [
    ("/api/v1/requests", "API_MAX_FILING_BYTES"),
    ("/api/v1/webhooks", "API_MAX_BODY_BYTES"),
])
def test_a_body_over_its_limit_is_413_from_its_content_length(client, world, app, path,
                                                               setting):
    limit = app.config[setting]
    stream = CountingBody(limit + 1)
    response = post_stream(client, path, stream, bearer(world.official))
    assert response.status_code == 413 and response.content_type == PROBLEM
    assert f"at most {limit}" in response.json["detail"]
    assert stream.consumed == 0


def test_a_chunked_body_is_read_at_most_one_byte_past_the_limit(client, world, app):
    limit = app.config["API_MAX_BODY_BYTES"]
    stream = CountingBody(MB19)
    response = post_stream(client, "/api/v1/webhooks", stream, bearer(world.official),
                           chunked=True)
    assert response.status_code == 413 and response.content_type == PROBLEM
    assert stream.consumed <= limit + 1


def test_a_chunked_body_within_the_limit_is_read_whole(client, world):
    data = json.dumps({"url": "https://example.org/hook"}).encode()
    response = client.post("/api/v1/webhooks", input_stream=io.BytesIO(data),
                           content_type="application/json", content_length=None,
                           headers=bearer(world.official),
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 201, response.json


def test_the_filing_limit_takes_10000_items_of_the_longest_target(client, world, app):
    longest = [{"target": "https://x.com/" + "a" * 498, "kind": "account"}] * 10_000
    assert len(json.dumps(filing(longest)).encode()) <= app.config["API_MAX_FILING_BYTES"]
    items = [{"target": f"https://x.com/user_{n}/status/{10**15 + n}", "kind": "post"}
             for n in range(10_000)]
    response = client.post("/api/v1/requests", json=filing(items),
                           headers=bearer(world.official))
    assert response.status_code == 201, response.json
    assert response.json["items_accepted"] == 10_000


def test_more_items_than_allowed_are_counted_not_checked_one_by_one(client, world):
    """200,000 items (6 MB) with a bad kind each: one 413 from the count, not a schema
    error per item (166,666 of them took 3.5 s of a worker)."""
    items = [{"target": "@a", "kind": "zz"}] * 200_000
    response = client.post("/api/v1/requests", json=filing(items),
                           headers=bearer(world.official))
    assert response.status_code == 413 and response.json["errors"] == [
        {"path": "items", "index": None, "code": "too_many",
         "message": "200000 targets given; at most 10000 per request"}]


@pytest.mark.parametrize("depth", [17, 1_000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/requests", "/api/v1/webhooks",
                                  "/api/v1/requests/{reference}/messages"])
def test_deeply_nested_json_is_a_422_never_a_500(client, world, depth, path):
    reference = world.file(["@a"]).reference
    data = '{"items": ' + "[" * depth + "]" * depth + "}"
    response = client.post(path.format(reference=reference), data=data,
                           content_type="application/json", headers=bearer(world.official))
    assert response.status_code == 422 and response.content_type == PROBLEM
    assert [e["code"] for e in response.json["errors"]] == ["too_deep"]


def test_json_within_the_depth_limit_is_judged_by_the_schema(client, world):
    data = '{"url": "https://example.org/h", "description": ' + "[" * 10 + "]" * 10 + "}"
    response = client.post("/api/v1/webhooks", data=data, content_type="application/json",
                           headers=bearer(world.official))
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == ["description"]


def test_invalid_json_is_a_400_problem(client, world):
    response = client.post("/api/v1/requests", data='{"items": [', content_type="application/json",
                           headers=bearer(world.official))
    assert response.status_code == 400 and response.content_type == PROBLEM
    assert response.json["errors"][0]["code"] == "invalid_json"


def test_a_nul_is_reported_on_its_item_beside_every_other_items_error(client, world):
    items = [{"target": f"@handle_{n}"} for n in range(1_178)]
    items[3] = {"target": "@nul\x00handle"}
    items[10] = {"target": "https://facebook.com/x"}
    items[1_177] = {"target": "@bad handle"}
    response = client.post("/api/v1/requests",
                           json=filing(items, description="fine", order_reference="A\x00"),
                           headers=bearer(world.official))
    assert response.status_code == 422, response.json
    found = [(e["path"], e["index"], e["code"]) for e in response.json["errors"]]
    assert found == [("order_reference", None, "control_characters"),
                     ("items/3/target", 3, "control_characters"),
                     ("items/10/target", 10, "foreign_url"),
                     ("items/1177/target", 1_177, "malformed_handle")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LegalRequest)) == 0


def test_a_nul_elsewhere_is_refused_naming_its_field(client, world):
    reference = world.file(["@a"]).reference
    response = client.post(f"/api/v1/requests/{reference}/messages",
                           json={"body": "hello\x00", "internal": False},
                           headers=bearer(world.official))
    assert response.status_code == 422
    assert response.json["errors"] == [{"path": "body", "index": None,
                                        "code": "control_characters",
                                        "message": "contains a NUL character (U+0000)"}]
    response = client.post(f"/api/v1/requests/{reference}/decisions",
                           json={"item_ids": [1], "decision": "no_action",
                                 "reason": "x", "note\x00": 1},
                           headers=bearer(world.reviewer))
    assert response.status_code == 422
    assert [e["path"] for e in response.json["errors"]] == ["note\x00"]
