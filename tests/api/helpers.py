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


SHORT_INTERVIEW = b"I: Hoe gaat het?\nR: De afdeling wonen en de afdeling zorg weten niet van elkaar wat ze doen.\n"


def store_waiting_transcript(
    settings: Settings, *, pseudonymise: bool = False, stored_minutes_ago: int = 0, text: bytes = SHORT_INTERVIEW
) -> str:
    """Store one transcript (status queued, no job) in a new project of a new user, straight in the
    database as an upload would; returns its id."""
    from datetime import timedelta

    from services.shared.codebook import load_codebook
    from services.shared.projects import create_project
    from services.shared.tables import User, utcnow
    from services.shared.uploads import build_transcript, store_transcript

    prepare_database(settings)
    database = Database(settings)
    with database.transaction() as session:
        owner = User(username=f"owner-{utcnow().timestamp():.6f}", password_hash="!", is_admin=False)
        session.add(owner)
        session.flush()
        project = create_project(session, name="p", owner=owner, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=pseudonymise)
        transcript = store_transcript(session, project, build_transcript(text, "a.txt", settings), owner)
        transcript.updated_at = utcnow() - timedelta(minutes=stored_minutes_ago)
        transcript_id = transcript.id
    database.dispose()
    return transcript_id
