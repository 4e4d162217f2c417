"""Lost updates on item decisions through the API.

Before: ``POST …/decisions`` refused ``expected_version`` (422), so two reviewers
deciding the same items at once both got 200 and the last writer won silently. Now the
version each saw is checked under the row lock: exactly one of them wins, the other
gets 409 and nothing of theirs is saved."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LegalRequest, RequestItem
from portal.services import tokens, users
from tests.factories import handles, make_user

pytestmark = pytest.mark.usefixtures("policies")


def token_of(user) -> dict[str, str]:
    _, token = tokens.create_token(user, "t", scopes=["read", "act"])
    return {"Authorization": f"Bearer {token}"}


def test_a_stale_expected_version_is_a_409_and_saves_nothing(client, world):
    req = world.file(["@a", "@b"])
    world.to_review(req.reference)
    headers = token_of(world.reviewer)
    seen = client.get(f"/api/v1/requests/{req.reference}", headers=headers).json["version"]
    url = f"/api/v1/requests/{req.reference}/decisions"
    first = client.post(url, headers=headers, json={
        "all_pending": True, "decision": "removed", "expected_version": seen})
    assert first.status_code == 200 and first.json["version"] > seen
    stale = client.post(url, headers=headers, json={
        "all_pending": True, "decision": "labelled", "expected_version": seen})
    assert stale.status_code == 409, stale.json
    assert "changed since you loaded it" in stale.json["detail"]
    decisions = db.session.scalars(sa.select(RequestItem.decision)).all()
    assert {d.value for d in decisions} == {"removed"}
    fresh = client.post(url, headers=headers, json={
        "item_ids": [db.session.scalar(sa.select(sa.func.min(RequestItem.id)))],
        "decision": "labelled", "expected_version": first.json["version"]})
    assert fresh.status_code == 200


def test_two_reviewers_deciding_the_same_items_at_once_exactly_one_wins(app, world):
    """Two reviewers load the request (same version) and decide all 1,000 items at the
    same moment, each a different way: one 200, one 409, and the items carry the
    winner's decision, every one of them. (The second is a lead reviewer: any other
    reviewer is refused a request the first holds, tests/functional/test_case_handling.)"""
    req = world.file(handles(1000))
    world.to_review(req.reference)
    second = make_user("legal_reviewer")
    users.set_lead_reviewer(world.actor("admin"), second.id, True)
    reviewers = {"removed": token_of(world.reviewer), "labelled": token_of(second)}
    version = db.session.scalar(sa.select(LegalRequest.version))
    url = f"/api/v1/requests/{req.reference}/decisions"
    db.session.remove()
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def decide(decision: str) -> None:
        # A thread of its own has its own app context, hence its own database session.
        client = app.test_client()
        barrier.wait()
        response = client.post(url, headers=reviewers[decision], json={
            "all_pending": True, "decision": decision, "expected_version": version})
        results[decision] = response.status_code

    threads = [threading.Thread(target=decide, args=(d,)) for d in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results.values()) == [200, 409], results
    [winner] = [d for d, status in results.items() if status == 200]
    decided = db.session.execute(sa.select(RequestItem.decision, sa.func.count())
                                 .group_by(RequestItem.decision)).all()
    assert [(d.value, n) for d, n in decided] == [(winner, 1000)]
