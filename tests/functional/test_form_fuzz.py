"""Hypothesis over every form of the portal: whatever is typed into any field (over-long
text, control and null characters, right-to-left and combining characters, numbers where
text is expected), the answer is never a server error.

Forms are found by reading the pages each role sees, so a new form is covered as soon as
a page shows it.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.services.filing import file_request
from tests.conftest import sign_in
from tests.factories import World, filing, fuzz_examples

NASTY = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=200, max_size=400),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\u202eevil", "e\u0301\u0301\u0301",
                     "مرحبا بالعالم", "नमस्ते", "0", "-1", "99999999999999999999", "1e309",
                     "2026-13-45", "../../etc/passwd", "<script>x</script>", "%(x)s",
                     "@" + "a" * 5000]),
)


class Forms(HTMLParser):
    """The POST forms of a page: action and field names (with their options)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "get").lower() == "post":
            self.forms.append({"action": a.get("action") or "", "fields": {}})
        elif self.forms and tag in {"input", "textarea", "select"} and a.get("name"):
            if a.get("type") in {"submit", "file"} or a["name"] == "csrf_token":
                return
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            fields.setdefault(a["name"], [])
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._select and self.forms:
            fields = self.forms[-1]["fields"]
            assert isinstance(fields, dict)
            fields[self._select].append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def forms_of(client, path: str) -> list[dict[str, object]]:
    parser = Forms()
    parser.feed(client.get(path).get_data(as_text=True))
    return [f for f in parser.forms if f["fields"]]


PAGES = {
    "anonymous": ["/login", "/forgot-password", "/register"],
    "official": ["/account", "/invite", "/requests/new", "/requests/{ref}"],
    # {lonely}: an urgent request nobody but its filer heard of (the out-of-band form).
    "reviewer": ["/review/requests/{ref}", "/review/requests/{lonely}"],
    "liaison": ["/liaison/"],
    "admin": ["/admin/users/new", "/admin/policies/new", "/admin/holidays",
              "/admin/agencies/{agency}", "/admin/users/{user}"],
}


@pytest.fixture
def filed(policies: None, world: World) -> tuple[World, str]:
    """The shared world and the reference of a request of its official under review; also
    ``world.lonely``, an urgent request under review that nobody but its filer heard of
    (the stranger's agency has no other official and no focal point)."""
    req = world.file(["@a", "@b", "@c"])
    world.to_review(req.reference)
    lonely = file_request(world.actor("stranger"), filing(["@d"], priority="urgent"))
    world.to_review(lonely.reference)
    db.session.commit()
    world.lonely = lonely.reference  # type: ignore[attr-defined]
    return world, req.reference


@pytest.mark.parametrize("role", list(PAGES))
def test_no_form_input_causes_a_server_error(app, filed, role):
    w, reference = filed
    client = app.test_client()
    if role != "anonymous":
        user = {"official": w.official, "reviewer": w.reviewer, "liaison": w.liaison,
                "admin": w.admin}[role]
        sign_in(client, user)
    targets = []
    for page in PAGES[role]:
        path = page.format(ref=reference, agency=w.agency.id, user=w.stranger.id,
                           lonely=w.lonely)
        for form in forms_of(client, path):
            targets.append((path, form))
    assert targets, f"no forms found for {role}"
    print(f"{role}: {len(targets)} forms")

    @given(data=st.data())
    @settings(max_examples=fuzz_examples(100), deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(data: st.DataObject) -> None:
        path, form = data.draw(st.sampled_from(targets))
        fields = form["fields"]
        assert isinstance(fields, dict)
        values = {}
        for name, options in fields.items():
            choices = [o for o in options if o] if options else []
            strategy = NASTY if not choices else st.one_of(st.sampled_from(choices), NASTY)
            values[name] = data.draw(strategy)
        action = str(form["action"]) or path
        response = client.post(action, data=values)
        assert response.status_code < 500, (action, values, response.status_code)

    fuzz()


def test_a_nul_character_is_refused_before_anything_is_saved(app, filed):
    """PostgreSQL cannot store U+0000 in text: every form and JSON body is refused whole,
    with a page (forms) or a problem naming each field (API)."""
    from portal.models import Agency
    from portal.services import tokens

    w, _ = filed
    client = app.test_client()
    sign_in(client, w.admin)
    response = client.post(f"/admin/agencies/{w.agency.id}/suspend",
                           data={"suspend-reason": "hijacked\x00mailbox"})
    assert response.status_code == 400
    assert "null character (U+0000)" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Agency, w.agency.id).status.value == "verified"
    # The same form without the NUL goes through.
    client.post(f"/admin/agencies/{w.agency.id}/suspend",
                data={"suspend-reason": "hijacked mailbox"})
    db.session.expire_all()
    assert db.session.get(Agency, w.agency.id).status.value == "suspended"

    # (w.official's agency is suspended now: another agency's official files.)
    _, token = tokens.create_token(w.stranger, "nul", scopes=["file"])
    response = app.test_client().post(
        "/api/v1/requests", headers={"Authorization": f"Bearer {token}"},
        json={"category": "fraud", "priority": "standard", "issuing_authority": "A\x00",
              "requested_action": "remove",
              "legal_basis": {"statute": "Law"}, "items": [{"target": "@ok"},
                                                          {"target": "@b\x00ad"}]})
    assert response.status_code == 422
    body = response.get_json()
    assert [e["path"] for e in body["errors"]] == ["issuing_authority", "items/1/target"]


def test_a_nul_in_pasted_targets_is_reported_on_its_line(app, filed):
    w, _ = filed
    client = app.test_client()
    sign_in(client, w.official)
    page = client.get("/requests/new").get_data(as_text=True)
    assert 'name="targets"' in page
    response = client.post("/requests/new", data={
        "category": "fraud", "priority": "standard", "jurisdiction": "TR",
        "requested_action": "remove",
        "legal_statute": "Law No. 5651", "issuing_authority": "BTK",
        "targets": "@first\n@sec\x00ond\n@third", "preview": "1"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Line 2" in text and "control characters" in text, text[:2000]
