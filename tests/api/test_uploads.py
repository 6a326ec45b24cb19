"""Bad uploads get a clear 4xx with a machine-readable code, and nothing stored is touched."""
from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from tests.api.helpers import login, new_project, prepare_database

GOOD = "I: Hoe gaat het met de samenwerking?\nR: Nou, het overleg is versnipperd.\n".encode("utf-8")


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (50 * 1024 * 1024))
    return buffer.getvalue()


BAD_FILES = [
    ("empty.txt", b"", "E101"),
    ("image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "E102"),
    ("broken.txt", "Dit is één zin.".encode("utf-8") + b"\xff\xfe\xfa\x00\x81\x00", None),
    ("notazip.docx", b"This is not a zip archive at all.", "E105"),
    ("bomb.docx", _zip_bomb(), "E105"),
    ("slides.pdf", b"%PDF-1.7 fake", None),
]


@pytest.fixture
def api(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url, max_upload_bytes=2 * 1024 * 1024)
    prepare_database(settings, ("researcher", False))
    with TestClient(create_app(settings)) as client:
        headers = login(client, "researcher")
        project = new_project(client, headers)
        yield client, headers, project


@pytest.mark.parametrize(("filename", "payload", "code"), BAD_FILES, ids=[f[0] for f in BAD_FILES])
def test_uploads_bad_file_is_refused_and_nothing_stored_is_touched(api, filename, payload, code) -> None:
    client, headers, project = api
    url = f"/api/v1/projects/{project['id']}/transcripts"
    first = client.post(url, files=[("files", ("good.txt", GOOD, "text/plain"))], headers=headers)
    assert first.status_code == 202

    response = client.post(
        url, files=[("files", ("also-good.txt", GOOD, "text/plain")), ("files", (filename, payload, "application/octet-stream"))],
        headers=headers,
    )

    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["code"].startswith("E1") and (code is None or body["code"] == code)
    assert len(body["message"]) > 20 and body["details"].get("filename") == filename
    listed = client.get(url, headers=headers).json()
    assert [t["filename"] for t in listed] == ["good.txt"]  # the batch was refused whole; the earlier upload stays


def test_uploads_over_the_size_limit_are_refused_with_413(api) -> None:
    client, headers, project = api
    big = b"R: " + b"ja nou " * (400 * 1024)
    response = client.post(
        f"/api/v1/projects/{project['id']}/transcripts", files=[("files", ("big.txt", big, "text/plain"))], headers=headers
    )
    assert response.status_code == 413 and response.json()["code"] == "E104"


def test_uploads_text_without_speaker_labels_is_accepted_with_a_warning(api) -> None:
    client, headers, project = api
    response = client.post(
        f"/api/v1/projects/{project['id']}/transcripts",
        files=[("files", ("plain.txt", "De gemeente heeft geen visie. Dat is lastig.".encode(), "text/plain"))],
        headers=headers,
    )
    assert response.status_code == 202
    (transcript,) = response.json()
    assert transcript["turns"] == 1 and any("speaker" in w for w in transcript["warnings"])


def test_uploads_unknown_code_filter_is_a_clear_422(api) -> None:
    client, headers, project = api
    (transcript,) = client.post(
        f"/api/v1/projects/{project['id']}/transcripts", files=[("files", ("g.txt", GOOD, "text/plain"))], headers=headers
    ).json()
    response = client.get(f"/api/v1/transcripts/{transcript['id']}/quotations?code=KP99", headers=headers)
    assert response.status_code == 422 and response.json()["code"] == "E111"
