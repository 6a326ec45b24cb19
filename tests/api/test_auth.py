"""Accounts, tokens and project roles over HTTP."""
from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from services.api.app import create_app
from services.shared.db import Database
from services.shared.tables import ApiToken, utcnow
from tests.api.helpers import ADMIN_PASSWORD, login, new_project, prepare_database


def test_auth_every_endpoint_but_health_needs_a_token(sqlite_url, redis_url, make_settings) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok", "database": True, "redis": True}
        openapi = client.get("/openapi.json").json()
        for path, operations in openapi["paths"].items():
            if path == "/health" or path == "/api/v1/auth/token":
                continue
            for method in operations:
                concrete = path.replace("{project_id}", "x").replace("{transcript_id}", "x")
                response = client.request(method.upper(), concrete)
                assert response.status_code == 401, (method, path, response.status_code)
                assert response.json()["code"] == "E401"


def test_auth_wrong_password_and_expired_or_revoked_tokens_are_refused(sqlite_url, redis_url, make_settings) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings, ("alice", False))
    with TestClient(create_app(settings)) as client:
        wrong = client.post("/api/v1/auth/token", data={"username": "alice", "password": "not her password"})
        unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": ADMIN_PASSWORD})
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["message"] == unknown.json()["message"]  # no hint which usernames exist

        headers = login(client, "alice")
        assert client.get("/api/v1/auth/me", headers=headers).json()["username"] == "alice"
        assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401

        headers = login(client, "alice")
        database = Database(settings)
        with database.transaction() as session:
            session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        database.dispose()
        refused = client.get("/api/v1/auth/me", headers=headers)
        assert refused.status_code == 401 and "expired" in refused.json()["message"]


def test_auth_project_roles_are_enforced_without_leaking_existence(sqlite_url, redis_url, make_settings) -> None:
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings, ("owner", False), ("reviewer", False), ("stranger", False), ("root", True))
    with TestClient(create_app(settings)) as client:
        owner, reviewer, stranger = login(client, "owner"), login(client, "reviewer"), login(client, "stranger")
        project = new_project(client, owner)
        url = f"/api/v1/projects/{project['id']}"

        missing = client.get("/api/v1/projects/00000000-0000-0000-0000-000000000000", headers=stranger)
        hidden = client.get(url, headers=stranger)
        assert missing.status_code == hidden.status_code == 404
        assert missing.json()["message"] == hidden.json()["message"]

        assert client.put(f"{url}/members", json={"username": "reviewer", "role": "reviewer"}, headers=reviewer).status_code == 404
        assert client.put(f"{url}/members", json={"username": "reviewer", "role": "reviewer"}, headers=owner).status_code == 204
        assert client.get(url, headers=reviewer).json()["role"] == "reviewer"
        upload = client.post(
            f"{url}/transcripts", files=[("files", ("a.txt", b"R: Hallo.", "text/plain"))], headers=reviewer
        )
        assert upload.status_code == 403 and upload.json()["code"] == "E403"

        assert client.post("/api/v1/users", json={"username": "x", "password": ADMIN_PASSWORD}, headers=owner).status_code == 403
        created = client.post("/api/v1/users", json={"username": "x", "password": ADMIN_PASSWORD}, headers=login(client, "root"))
        assert created.status_code == 201
