"""Malicious archives are refused with a clear error: zip bombs, path traversal, XML entities."""
from __future__ import annotations

import io
import stat
import zipfile

import pytest

from services.shared.config import get_settings
from services.shared.errors import FileTooLargeError, QdaExchangeError, UnsafeArchiveError
from services.shared.refi import read_qdc, read_qdpx
from services.shared.refi import safety

PROJECT = b"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p">
  <Sources><TextSource guid="11111111-2222-3333-4444-555555555555" name="a.txt"
      plainTextPath="internal://66666666-7777-8888-9999-000000000000.txt"/></Sources>
</Project>"""
TEXT_NAME = "Sources/66666666-7777-8888-9999-000000000000.txt"


def archive(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as handle:
        for name, data in members.items():
            handle.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def settings():
    return get_settings()


def test_safety_accepts_an_ordinary_archive(settings):
    qda = read_qdpx(archive({"project.qde": PROJECT, TEXT_NAME: "R: één 😀".encode()}), settings)
    assert qda.sources[0].text == "R: één 😀"


def test_safety_refuses_zip_bomb_by_ratio(settings):
    bomb = archive({"project.qde": PROJECT, TEXT_NAME: b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        read_qdpx(bomb, settings)


def test_safety_refuses_archive_unpacking_beyond_total_limit():
    settings = get_settings(max_qdpx_uncompressed_bytes=1024 * 1024)
    data = archive({"project.qde": PROJECT, TEXT_NAME: bytes(range(256)) * 5000}, zipfile.ZIP_STORED)
    with pytest.raises(UnsafeArchiveError, match="unpacks to"):
        read_qdpx(data, settings)


def test_safety_refuses_archive_larger_than_limit():
    with pytest.raises(FileTooLargeError):
        read_qdpx(archive({"project.qde": PROJECT}), get_settings(max_qdpx_bytes=100))


def test_safety_refuses_too_many_members(settings, monkeypatch):
    monkeypatch.setattr(safety, "MAX_MEMBERS", 5)
    members = {"project.qde": PROJECT, **{f"Sources/{i}.txt": b"x" for i in range(5)}}
    with pytest.raises(UnsafeArchiveError, match="holds 6 files"):
        read_qdpx(archive(members), settings)


@pytest.mark.parametrize("name", ["../evil.txt", "Sources/../../etc/passwd", "/etc/passwd", "C:/Windows/x.txt",
                                  "Sources\\..\\..\\evil.txt", "\\\\server\\share\\x.txt"])
def test_safety_refuses_path_traversal_member_names(settings, name):
    with pytest.raises(UnsafeArchiveError, match="unsafe name"):
        read_qdpx(archive({"project.qde": PROJECT, name: b"x"}), settings)


def test_safety_refuses_symlink_members(settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as handle:
        handle.writestr("project.qde", PROJECT)
        link = zipfile.ZipInfo("Sources/link.txt")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        handle.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        read_qdpx(buffer.getvalue(), settings)


def test_safety_refuses_duplicate_members_differing_in_case(settings):
    with pytest.raises(UnsafeArchiveError, match="twice"):
        read_qdpx(archive({"project.qde": PROJECT, TEXT_NAME: b"a", TEXT_NAME.upper(): b"b"}), settings)


def test_safety_refuses_reference_outside_sources_folder(settings):
    project = PROJECT.replace(b"internal://66666666-7777-8888-9999-000000000000.txt", b"internal://../../etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="outside the sources folder"):
        read_qdpx(archive({"project.qde": project}), settings)


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&lol3;"/>"""


@pytest.mark.parametrize("document", [XXE, LAUGHS, XXE.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")],
                         ids=["external-entity", "billion-laughs", "utf16-doctype"])
def test_safety_refuses_xml_entities_in_project(settings, document):
    with pytest.raises(UnsafeArchiveError, match="DOCTYPE or entities"):
        read_qdpx(archive({"project.qde": document}), settings)


def test_safety_refuses_xml_entities_in_codebook(settings):
    codebook = XXE.replace(b"Project", b"CodeBook").replace(b"project:1.0", b"codebook:1.0")
    with pytest.raises(UnsafeArchiveError):
        read_qdc(codebook, settings)


def test_safety_parse_xml_refuses_doctype_without_entities():
    with pytest.raises(UnsafeArchiveError):
        safety.parse_xml(b'<?xml version="1.0"?><!DOCTYPE Project SYSTEM "http://example.invalid/x.dtd"><Project/>',
                         "test document")


@pytest.mark.parametrize("data, message", [
    (b"not a zip at all", "not a REFI-QDA project"),
    (archive({"readme.txt": b"hi"}), "has no project.qde"),
    (archive({"a.qde": PROJECT, "b.qde": PROJECT}), "several project files"),
    (archive({"project.qde": b"<Project"}), "not well-formed"),
])
def test_safety_damaged_or_foreign_archives_get_clear_errors(settings, data, message):
    with pytest.raises(QdaExchangeError, match=message):
        read_qdpx(data, settings)
