"""REFI-QDA export/import and research outputs through the HTTP API."""
from __future__ import annotations

import io
import json
import os
import zipfile

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from services.api.app import create_app
from services.shared.db import Database
from services.shared.errors import ModelUnavailableError
from services.shared.projects import Role, set_member
from services.shared.refi.schemas import schema_dir, validate
from services.shared.tables import Project, User
from tests.api.helpers import login, prepare_database
from tests.shared.refi.builders import seed_project


def _client(make_settings, database_url):
    """A client logged in as 'carla' (admin of the seeded project) and the seeded ids."""
    settings = make_settings(database_url=database_url)
    prepare_database(settings, ("carla", False), ("dirk", False))
    db = Database(settings)
    ids = seed_project(db, settings)
    with db.transaction() as session:
        carla = session.query(User).filter_by(username="carla").one()
        set_member(session, session.get(Project, ids.project_id), carla, Role.admin)
    db.dispose()
    with TestClient(create_app(settings)) as client:
        yield client, login(client, "carla"), ids


@pytest.fixture
def api(make_settings, sqlite_url):
    """The seeded project behind the API, on SQLite."""
    yield from _client(make_settings, sqlite_url)


@pytest.fixture
def api_each_database(make_settings, database_url):
    """The seeded project behind the API, on SQLite and on PostgreSQL."""
    yield from _client(make_settings, database_url)


def _schemas():
    try:
        return schema_dir()
    except ModelUnavailableError as exc:
        if os.environ.get("CI"):
            pytest.fail(exc.message)
        pytest.skip(exc.message)


def test_exports_qdpx_download_import_and_compare(api_each_database):
    client, headers, ids = api_each_database
    response = client.get(f"/api/v1/projects/{ids.project_id}/export.qdpx", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="LZW test.qdpx"' in response.headers["content-disposition"]
    validate(zipfile.ZipFile(io.BytesIO(response.content)).read("project.qde"), "project", _schemas())

    imported = client.post("/api/v1/projects/import", headers=headers,
                           files={"file": ("LZW test.qdpx", response.content, "application/zip")},
                           data={"name": "LZW (kopie)"})
    assert imported.status_code == 201, imported.text
    report = imported.json()
    assert report["project_name"] == "LZW (kopie)" and report["transcripts"] == 2 and report["quotations"] == 6
    projects = {p["id"]: p for p in client.get("/api/v1/projects", headers=headers).json()}
    assert projects[report["project_id"]]["role"] == "admin"

    def comparison(project_id: str) -> dict:
        body = client.get(f"/api/v1/projects/{project_id}/outputs/case-comparison", headers=headers).json()
        return {row["code_id"]: {case: cell["symbol"] for case, cell in row["cells"].items()} for row in body["rows"]}

    assert comparison(report["project_id"]) == comparison(ids.project_id)


def test_exports_qdc_and_machine_option(api):
    client, headers, ids = api
    qdc = client.get(f"/api/v1/projects/{ids.project_id}/export.qdc", headers=headers)
    assert qdc.status_code == 200 and qdc.content.startswith(b"<?xml")
    validate(qdc.content, "codebook", _schemas())
    with_machine = client.get(f"/api/v1/projects/{ids.project_id}/export.qdpx?machine=separate_user", headers=headers)
    qde = zipfile.ZipFile(io.BytesIO(with_machine.content)).read("project.qde")
    assert b"qcoder-model:test-model-1" in qde
    bad = client.get(f"/api/v1/projects/{ids.project_id}/export.qdpx?machine=all", headers=headers)
    assert bad.status_code == 400


def test_exports_malicious_archive_refused(api):
    client, headers, _ = api
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", '<Project xmlns="urn:QDA-XML:project:1.0" name="x"/>')
        archive.writestr("../../outside.txt", "x")
    response = client.post("/api/v1/projects/import", headers=headers,
                           files={"file": ("evil.qdpx", buffer.getvalue(), "application/zip")})
    assert response.status_code == 422 and response.json()["code"] == "E142"
    assert "unsafe" in response.json()["message"]


DOWNLOADS = [
    ("code-document", "csv", "text/csv"), ("code-document", "xlsx", "application/vnd.openxmlformats"),
    ("case-comparison", "html", "text/html"), ("quotations", "html", "text/html"),
    ("quotations", "docx", "application/vnd.openxmlformats"), ("cooccurrence", "json", "application/json"),
    ("code-frequencies", "png", "image/png"), ("knelpunt-solutions", "svg", "image/svg+xml"),
]


def test_exports_outputs_download(api):
    client, headers, ids = api
    for kind, fmt, media_type in DOWNLOADS:
        response = client.get(f"/api/v1/projects/{ids.project_id}/outputs/{kind}?format={fmt}", headers=headers)
        assert response.status_code == 200, (kind, fmt, response.text)
        assert response.headers["content-type"].startswith(media_type), (kind, fmt)
        assert len(response.content) > 100
        if fmt == "xlsx":
            assert load_workbook(io.BytesIO(response.content)).sheetnames[-1] == "Per casus"


def test_exports_outputs_errors_and_listing(api):
    client, headers, ids = api
    base = f"/api/v1/projects/{ids.project_id}/outputs"
    assert client.get(base, headers=headers).json()["case-comparison"] == ["json", "html", "csv"]
    assert client.get(f"{base}/wordcloud", headers=headers).status_code == 400
    assert client.get(f"{base}/code-document?format=pdf", headers=headers).status_code == 400
    cell = client.get(f"/api/v1/projects/{ids.project_id}/case-comparison/cell",
                      params={"code": "KP14", "case": "Casus Y"}, headers=headers)
    assert cell.status_code == 200
    assert {item["text"] for item in cell.json()} == {
        "Bestuurlijk commitment is er nauwelijks; de wethouder komt nooit naar het overleg.",
        "de wethouder komt nooit naar het overleg"}
    report = client.get(f"{base}/quotations?format=json&code=KP19", headers=headers).json()
    assert json.dumps(report, ensure_ascii=False).count("(Int Y1)") == 1


def test_exports_need_membership(api):
    client, _, ids = api
    outsider = login(client, "dirk")
    for path in ("export.qdpx", "export.qdc", "outputs/code-document"):
        assert client.get(f"/api/v1/projects/{ids.project_id}/{path}", headers=outsider).status_code == 404
    assert client.get(f"/api/v1/projects/{ids.project_id}/export.qdpx").status_code == 401
