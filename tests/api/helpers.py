"""Building an API app on real services and driving it like a client would."""
from __future__ import annotations

from fastapi.testclient import TestClient

from services.shared.accounts import create_user
from services.shared.config import Settings
from services.shared.db import Database

ADMIN_PASSWORD = "correct horse battery staple"


def prepare_database(settings: Settings, *users: tuple[str, bool]) -> None:
    """Migrate the database and create users (username, is_admin) with ADMIN_PASSWORD."""
    database = Database(settings)
    database.upgrade()
    with database.transaction() as session:
        for username, is_admin in users:
            create_user(session, username, ADMIN_PASSWORD, is_admin=is_admin)
    database.dispose()


def login(client: TestClient, username: str) -> dict[str, str]:
    """Log in and return the Authorization header."""
    response = client.post("/api/v1/auth/token", data={"username": username, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def new_project(client: TestClient, headers: dict[str, str], name: str = "LZW studie") -> dict:
    """Create a project with the default codebook."""
    response = client.post("/api/v1/projects", json={"name": name, "pseudonymise": False}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
