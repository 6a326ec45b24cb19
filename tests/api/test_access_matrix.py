"""Every endpoint, tried by an anonymous user, by a member of another project and by a reviewer doing
an admin action: each is refused, and refusals do not reveal whether the object exists."""
from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.shared.codebook import load_codebook
from services.shared.db import Database
from services.shared.review import create_quotation
from services.shared.tables import Transcript, User
from tests.api.helpers import login, prepare_database
from tests.api.openapi_requests import Operation, operations

PUBLIC = {("GET", "/health"), ("POST", "/api/v1/auth/token")}
# Operations any logged-in user may call: they act on the caller's own account or create new projects.
OWN_SCOPE = {("GET", "/api/v1/auth/me"), ("GET", "/api/v1/projects"), ("POST", "/api/v1/projects"),
             ("POST", "/api/v1/projects/import")}
LOGOUT = ("POST", "/api/v1/auth/logout")  # would end the probing user's session: tried by nobody here
# Admin actions that must exist and be refused to a reviewer (a summary mentioning "project admin"
# or "site admin" adds an operation to this list automatically).
REQUIRED_ADMIN_ACTIONS = {
    ("PUT", "/api/v1/projects/{project_id}/members"), ("POST", "/api/v1/users"),
    ("POST", "/api/v1/projects/{project_id}/pseudonyms/reveal"), ("DELETE", "/api/v1/transcripts/{transcript_id}"),
    ("DELETE", "/api/v1/projects/{project_id}"),
}
TEXT = "I: Hoe gaat de samenwerking?\nR: Het overleg is versnipperd. Iedereen zit aan andere tafels.\n"
SECRET = "versnipperd"


@pytest.fixture
def world(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """A project (owner admin, a reviewer) with a transcript and a quotation, and a stranger with their own project."""
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url, pseudonymise_recogniser="rules",
                             pseudonym_key_secret="k" * 40)
    prepare_database(settings, ("owner", False), ("reviewer", False), ("stranger", False))
    with TestClient(create_app(settings)) as client:
        headers = {name: login(client, name) for name in ("owner", "reviewer", "stranger")}
        project = client.post("/api/v1/projects", json={"name": "P"}, headers=headers["owner"]).json()
        client.post("/api/v1/projects", json={"name": "S"}, headers=headers["stranger"])
        assert client.put(f"/api/v1/projects/{project['id']}/members", json={"username": "reviewer", "role": "reviewer"},
                          headers=headers["owner"]).status_code == 204
        (transcript,) = client.post(f"/api/v1/projects/{project['id']}/transcripts",
                                    files=[("files", ("t.txt", TEXT.encode(), "text/plain"))], headers=headers["owner"]).json()
        database = Database(settings)
        with database.transaction() as session:
            row = session.get(Transcript, transcript["id"])
            owner = session.query(User).filter_by(username="owner").one()
            turn = row.turns[-1]
            quotation, _ = create_quotation(session, transcript=row, reviewer=owner, start=turn.start, end=turn.end,
                                            codes=["KP03"], stance="knelpunt", codebook=load_codebook(settings.codebook_path))
            quotation_id = quotation.id
        database.dispose()
        ids = {"project_id": project["id"], "transcript_id": transcript["id"], "quotation_id": quotation_id}
        yield client, headers, ids, operations(client.get("/openapi.json").json())


def _fake_ids(ids: dict[str, str]) -> dict[str, str]:
    return {name: str(uuid.uuid4()) for name in ids}


def _key(op: Operation) -> tuple[str, str]:
    return op.method, op.path


def test_access_matrix_anonymous_is_refused_everywhere(world) -> None:
    client, _headers, ids, ops = world
    for op in ops:
        if _key(op) in PUBLIC:
            continue
        response = op.send(client, ids)
        assert response.status_code == 401, (op.method, op.path, response.status_code, response.text[:200])
        assert response.json()["code"] == "E401" and SECRET not in response.text


def test_access_matrix_member_of_another_project_learns_nothing(world) -> None:
    client, headers, ids, ops = world
    fake = _fake_ids(ids)
    probed = 0
    for op in ops:
        if _key(op) in PUBLIC or _key(op) == LOGOUT:
            continue
        if not set(op.path_params) & set(ids):
            if _key(op) not in OWN_SCOPE:
                continue
            response = op.send(client, ids, headers["stranger"])
            assert response.status_code < 500 and ids["project_id"] not in response.text and SECRET not in response.text
            continue
        real = op.send(client, ids, headers["stranger"])
        missing = op.send(client, fake, headers["stranger"])
        where = (op.method, op.path, real.status_code, real.text[:200])
        assert real.status_code in (403, 404), where
        assert real.status_code != 422, where  # a malformed request would not test authorisation at all
        assert (real.status_code, real.json()["code"], real.json()["message"]) == (
            missing.status_code, missing.json()["code"], missing.json()["message"]), (where, missing.text[:200])
        assert SECRET not in real.text
        probed += 1
    assert probed >= 15
    owner_view = client.get(f"/api/v1/transcripts/{ids['transcript_id']}", headers=headers["owner"])
    assert owner_view.status_code == 200 and SECRET in owner_view.json()["text"]  # nothing was changed or deleted


def test_access_matrix_reviewer_cannot_do_admin_actions(world) -> None:
    client, headers, ids, ops = world
    admin_ops = [op for op in ops if op.is_admin_action or _key(op) in REQUIRED_ADMIN_ACTIONS]
    assert REQUIRED_ADMIN_ACTIONS <= {_key(op) for op in admin_ops}
    for op in admin_ops:
        response = op.send(client, ids, headers["reviewer"])
        assert response.status_code == 403, (op.method, op.path, response.status_code, response.text[:200])
        assert response.json()["code"] == "E403"
    for op in ops:  # and nothing a reviewer may try breaks the server
        if _key(op) not in PUBLIC | {LOGOUT} and not op.is_admin_action and op.method != "DELETE":
            assert op.send(client, ids, headers["reviewer"]).status_code < 500, (op.method, op.path)
    assert client.get(f"/api/v1/transcripts/{ids['transcript_id']}", headers=headers["owner"]).status_code == 200
