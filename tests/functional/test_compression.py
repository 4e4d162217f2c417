"""Responses are gzipped for clients that accept it: pages and JSON from COMPRESS_MIN_SIZE
bytes up, never smaller ones, and never the streamed downloads (CSV exports)."""

from __future__ import annotations

import gzip

import pytest

from portal.services import tokens
from tests.conftest import login

GZIP = {"Accept-Encoding": "gzip, deflate"}

pytestmark = pytest.mark.usefixtures("policies")


def _api(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "test", scopes=["file"])
    return {"Authorization": f"Bearer {token}", **GZIP}


def test_a_page_above_the_size_is_gzipped_and_reads_the_same(client, world):
    for n in range(3):
        world.file([f"@compress_{n}_{i}" for i in range(5)])
    login(client, world.reviewer)
    plain = client.get("/review/")
    packed = client.get("/review/", headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert len(plain.data) > 1024
    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3
    # The same page (the CSRF token differs between the two renderings).
    unpacked = gzip.decompress(packed.data).decode()
    assert unpacked.count("<tr") == plain.get_data(as_text=True).count("<tr")


def test_json_above_the_size_is_gzipped(client, world):
    reference = world.file([f"@json_{i}" for i in range(3)]).reference
    answer = client.get(f"/api/v1/requests/{reference}", headers=_api(world.official))
    assert answer.status_code == 200
    assert answer.headers["Content-Encoding"] == "gzip"
    assert b'"reference": "' + reference.encode() in gzip.decompress(answer.data)


def test_responses_below_the_size_are_sent_as_they_are(client, world, app):
    small = client.get("/healthz", headers=GZIP)
    assert small.status_code == 200 and len(small.data) < app.config["COMPRESS_MIN_SIZE"]
    assert "Content-Encoding" not in small.headers
    # A 401 problem: small, and an error.
    refused = client.get("/api/v1/requests", headers={"Authorization": "Bearer lp_no",
                                                      **GZIP})
    assert refused.status_code == 401 and "Content-Encoding" not in refused.headers


def test_streamed_downloads_are_not_compressed(client, world):
    reference = world.file([f"@csv_{i}" for i in range(400)]).reference
    answer = client.get(f"/api/v1/requests/{reference}/decisions.csv",
                        headers=_api(world.official))
    assert answer.status_code == 200 and answer.is_streamed
    assert len(answer.data) > 1024
    assert "Content-Encoding" not in answer.headers
    assert b"@csv_399" in answer.data
