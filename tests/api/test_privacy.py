"""Privacy over HTTP: pseudonymised uploads, reveal (admin), missed names (reviewer), deletion, login limits."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.api.helpers import ADMIN_PASSWORD, login, prepare_database

TRANSCRIPT = """---
respondent: Int T1
casus: Gemeente T
---
I: Met wie werkt u samen?
R: Met Woonstichting Lindevaart en met mevrouw Oudshoorn uit Wezelbroek. Bel haar op 06-12345678.
I: En verder?
R: Gerritsma belt soms. Dat is alles.
"""


@pytest.fixture
def api(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url, pseudonymise_recogniser="rules",
                             pseudonym_key_secret="k" * 40, login_max_failures_per_user=3)
    prepare_database(settings, ("owner", False), ("reviewer", False), ("researcher", False), ("stranger", False))
    with TestClient(create_app(settings)) as client:
        owner = login(client, "owner")
        project = client.post("/api/v1/projects", json={"name": "privé"}, headers=owner).json()
        for username, role in (("reviewer", "reviewer"), ("researcher", "researcher")):
            response = client.put(f"/api/v1/projects/{project['id']}/members", json={"username": username, "role": role},
                                  headers=owner)
            assert response.status_code == 204
        (transcript,) = client.post(f"/api/v1/projects/{project['id']}/transcripts",
                                    files=[("files", ("t1.txt", TRANSCRIPT.encode(), "text/plain"))], headers=owner).json()
        yield client, project, transcript, {name: login(client, name) for name in ("owner", "reviewer", "researcher", "stranger")}


def test_privacy_upload_is_pseudonymised_by_default(api) -> None:
    client, project, transcript, headers = api
    assert project["pseudonymise"] is True
    text = client.get(f"/api/v1/transcripts/{transcript['id']}", headers=headers["researcher"]).json()["text"]
    for secret in ("Lindevaart", "Oudshoorn", "Wezelbroek", "06-12345678"):
        assert secret not in text
    assert "[ORGANISATIE-1]" in text and "[PERSOON-1]" in text and "[LOCATIE-1]" in text and "[TELEFOON-1]" in text
    listed = client.get(f"/api/v1/projects/{project['id']}/pseudonyms", headers=headers["reviewer"]).json()
    assert {p["placeholder"] for p in listed} >= {"[PERSOON-1]", "[LOCATIE-1]"} and "value" not in listed[0]


def test_privacy_only_a_project_admin_can_reveal(api) -> None:
    client, project, _transcript, headers = api
    url = f"/api/v1/projects/{project['id']}/pseudonyms/reveal"
    body = {"placeholder": "[PERSOON-1]"}
    assert client.post(url, json=body, headers=headers["owner"]).json() == {
        "placeholder": "[PERSOON-1]", "kind": "persoon", "value": "Oudshoorn"}
    for name in ("reviewer", "researcher"):
        refused = client.post(url, json=body, headers=headers[name])
        assert refused.status_code == 403 and "Oudshoorn" not in refused.text
    hidden = client.post(url, json=body, headers=headers["stranger"])
    missing = client.post("/api/v1/projects/00000000-0000-0000-0000-000000000000/pseudonyms/reveal", json=body,
                          headers=headers["stranger"])
    assert hidden.status_code == missing.status_code == 404 and hidden.json()["message"] == missing.json()["message"]
    assert client.post(url, json={"placeholder": "[PERSOON-99]"}, headers=headers["owner"]).status_code == 404


def test_privacy_reviewer_marks_a_missed_name(api) -> None:
    client, project, transcript, headers = api
    url = f"/api/v1/transcripts/{transcript['id']}"
    text = client.get(url, headers=headers["reviewer"]).json()["text"]
    start = text.index("Gerritsma")
    body = {"start": start, "end": start + len("Gerritsma"), "kind": "persoon"}
    assert client.post(f"{url}/missed-names", json=body, headers=headers["researcher"]).status_code == 403
    assert client.post(f"{url}/missed-names", json=body, headers=headers["stranger"]).status_code == 404
    marked = client.post(f"{url}/missed-names", json=body, headers=headers["reviewer"])
    assert marked.status_code == 200, marked.text
    result = marked.json()
    assert result["occurrences"] == 1 and result["transcript_ids"] == [transcript["id"]]
    after = client.get(url, headers=headers["reviewer"]).json()
    assert "Gerritsma" not in after["text"] and f"R: {result['placeholder']} belt soms." in after["text"]
    assert [after["text"][t["start"]:t["end"]][:3] for t in after["turn_spans"]] == ["Met", "Met", "En ", result["placeholder"][:3]]


def test_privacy_deleting_needs_the_project_admin(api) -> None:
    client, project, transcript, headers = api
    url = f"/api/v1/transcripts/{transcript['id']}"
    assert client.delete(url, headers=headers["reviewer"]).status_code == 403
    assert client.delete(url, headers=headers["stranger"]).status_code == 404
    deleted = client.delete(url, headers=headers["owner"])
    assert deleted.status_code == 200 and deleted.json()["transcripts"] == 1 and deleted.json()["pseudonym_keys"] >= 4
    assert client.get(url, headers=headers["owner"]).status_code == 404
    project_url = f"/api/v1/projects/{project['id']}"
    assert client.delete(project_url, headers=headers["researcher"]).status_code == 403
    assert client.delete(project_url, headers=headers["owner"]).status_code == 200
    assert client.get(project_url, headers=headers["owner"]).status_code == 404


def test_privacy_failed_logins_are_rate_limited(api) -> None:
    client, _project, _transcript, _headers = api
    for _ in range(3):
        assert client.post("/api/v1/auth/token", data={"username": "owner", "password": "wrong!"}).status_code == 401
    limited = client.post("/api/v1/auth/token", data={"username": "owner", "password": ADMIN_PASSWORD})
    assert limited.status_code == 429 and limited.json()["code"] == "E429"
    assert limited.json()["details"]["retry_after_seconds"] > 0
    # Another username from the same client is not locked out by someone else's failures.
    assert client.post("/api/v1/auth/token", data={"username": "reviewer", "password": ADMIN_PASSWORD}).status_code == 200
