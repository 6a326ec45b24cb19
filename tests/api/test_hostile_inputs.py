"""Hostile files against a running API: refused (or handled) with a clear error, memory bounded, still up.

Zip bombs, path traversal, XML bombs and external entities in .docx and .qdpx, a 500 MB upload,
NUL bytes, invalid UTF-8 and a 1 MB single line. The API runs as its own process so that its peak
memory can be read from /proc.
"""
from __future__ import annotations

import io
import stat
import zipfile

import docx
import httpx
import pytest

from tests.api.helpers import ADMIN_PASSWORD, prepare_database
from tests.faults.servers import ApiServer, peak_rss_mb

MB = 1024 * 1024
XXE = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
       b'<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>')
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "hahahahahaha">'
          + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(9))
          + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
          b'<w:r><w:t>&j;</w:t></w:r></w:p></w:body></w:document>')


def _docx(**replace: bytes) -> bytes:
    """A real .docx, with members replaced or added."""
    document = docx.Document()
    document.add_paragraph("I: Hoe gaat het?")
    document.add_paragraph("R: Goed, dank u.")
    buffer = io.BytesIO()
    document.save(buffer)
    return _rezip(buffer.getvalue(), replace)


def _rezip(data: bytes, replace: dict[str, bytes], symlink: str | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename not in replace:
                target.writestr(info, source.read(info))
        for name, content in replace.items():
            target.writestr(name, content)
        if symlink:
            link = zipfile.ZipInfo(symlink)
            link.create_system = 3
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            target.writestr(link, "/etc/passwd")
    return out.getvalue()


def _qdpx(project_xml: bytes = b'<?xml version="1.0"?><Project name="x"/>', **extra: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.qde", project_xml)
        for name, content in extra.items():
            archive.writestr(name, content)
    return out.getvalue()


HOSTILE_UPLOADS = [
    ("bomb.docx", lambda: _docx(**{"word/document.xml": b"<" + b"a" * (60 * MB)})),
    ("many-bombs.docx", lambda: _docx(**{f"word/media/{i}.bin": b"\0" * (3 * MB) for i in range(40)})),
    ("traversal.docx", lambda: _docx(**{"../../../../tmp/qcoder-evil.xml": b"<x/>"})),
    ("absolute.docx", lambda: _docx(**{"/etc/qcoder-evil.xml": b"<x/>"})),
    ("xxe.docx", lambda: _docx(**{"word/document.xml": XXE})),
    ("laughs.docx", lambda: _docx(**{"word/document.xml": LAUGHS})),
    ("nul.txt", lambda: b"I: Hallo\x00\x00 daar\nR: Ja.\n"),
    ("garbage.txt", lambda: bytes(range(128, 256)) * 200),
]
HOSTILE_IMPORTS = [
    ("bomb.qdpx", lambda: _qdpx(**{"sources/a.txt": b"\0" * (300 * MB)})),
    ("traversal.qdpx", lambda: _qdpx(**{"../../tmp/qcoder-evil.txt": b"x"})),
    ("symlink.qdpx", lambda: _rezip(_qdpx(), {}, symlink="sources/link.txt")),
    ("xxe.qdpx", lambda: _qdpx(XXE)),
    ("laughs.qdpx", lambda: _qdpx(LAUGHS)),
    ("notzip.qdpx", lambda: b"\x00\x01 not a zip at all" * 100),
]


@pytest.fixture
def server(sqlite_url, redis_url, make_settings, tmp_path):  # noqa: ANN001, ANN201
    """A running API with a researcher who has a project; yields (server, client, headers, project id)."""
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url, pseudonymise_recogniser="rules",
                             pseudonym_key_secret="k" * 40)
    prepare_database(settings, ("researcher", False))
    api = ApiServer(settings, tmp_path)
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=120) as client:
            token = client.post("/api/v1/auth/token", data={"username": "researcher", "password": ADMIN_PASSWORD})
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            project = client.post("/api/v1/projects", json={"name": "hostile"}, headers=headers).json()
            yield api, client, headers, project["id"]
    finally:
        api.kill()


@pytest.mark.slow
def test_hostile_inputs_are_refused_clearly_and_the_api_stays_up(server) -> None:
    api, client, headers, project_id = server
    baseline = peak_rss_mb(api.process.pid)
    for filename, make in HOSTILE_UPLOADS:
        response = client.post(f"/api/v1/projects/{project_id}/transcripts", files=[("files", (filename, make()))],
                               headers=headers)
        _assert_clear_refusal(response, filename)
        assert api.healthy()
    projects_before = len(client.get("/api/v1/projects", headers=headers).json())
    for filename, make in HOSTILE_IMPORTS:
        response = client.post("/api/v1/projects/import", files={"file": (filename, make())}, headers=headers)
        _assert_clear_refusal(response, filename)
        assert api.healthy()
    assert len(client.get("/api/v1/projects", headers=headers).json()) == projects_before
    assert client.get(f"/api/v1/projects/{project_id}/transcripts", headers=headers).json() == []
    growth = peak_rss_mb(api.process.pid) - baseline
    assert growth < 400, f"peak memory grew by {growth:.0f} MB while refusing hostile files"


def _assert_clear_refusal(response: httpx.Response, filename: str) -> None:
    assert 400 <= response.status_code < 500, (filename, response.status_code, response.text[:300])
    body = response.json()
    assert body["code"].startswith("E1") and len(body["message"]) > 30, (filename, body)
    assert "Traceback" not in response.text and "/etc/passwd" not in body["message"]


@pytest.mark.slow
def test_hostile_inputs_500_mb_upload_is_refused_with_bounded_memory(server) -> None:
    api, client, headers, project_id = server
    baseline = peak_rss_mb(api.process.pid)
    boundary = "qcoderboundary"

    def body():  # noqa: ANN202 - streamed, so neither side holds 500 MB
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.txt\"\r\n"
               "Content-Type: text/plain\r\n\r\n").encode()
        chunk = b"R: ja nou, dat is zo. " * (MB // 22)
        for _ in range(500):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(f"/api/v1/projects/{project_id}/transcripts", content=body(),
                           headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 413 and response.json()["code"] == "E104", response.text[:300]
    assert api.healthy()
    growth = peak_rss_mb(api.process.pid) - baseline
    assert growth < 200, f"peak memory grew by {growth:.0f} MB for a 500 MB upload"


@pytest.mark.slow
def test_hostile_inputs_1_mb_single_line_is_handled(server) -> None:
    api, client, headers, project_id = server
    line = ("R: " + "en toen zei de wethouder dat het overleg versnipperd was " * 20_000)[:MB].encode()
    response = client.post(f"/api/v1/projects/{project_id}/transcripts", files=[("files", ("line.txt", line))],
                           headers=headers)
    assert response.status_code == 202, response.text[:300]
    (transcript,) = response.json()
    assert transcript["turns"] == 1 and transcript["characters"] >= MB - 10
    assert api.healthy()
