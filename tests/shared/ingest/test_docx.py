"""Word files: text in document order, and the zip checks that run before python-docx opens one."""
from __future__ import annotations

import io
import zipfile

import docx
import pytest

from services.shared.config import get_settings
from services.shared.errors import EmptyFileError, InvalidDocxError
from services.shared.ingest import parse_turns, read_transcript_bytes

PARAGRAPHS = [
    "I: Goedemorgen, hoe ziet de ‘regisseursrol’ eruit?",
    "R: Tja, één café, ideeën… dat kost € 5.000 😀",
    "",
    "Wat ik bedoel: de gemeente pakt het niet op.",
]


@pytest.fixture
def settings():
    return get_settings()


def _docx(paragraphs=PARAGRAPHS, table_rows=None, after_table=None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table_rows:
        table = document.add_table(rows=len(table_rows), cols=len(table_rows[0]))
        for row, values in zip(table.rows, table_rows):
            for cell, value in zip(row.cells, values):
                cell.text = value
    for text in after_table or []:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
           compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """Copy a .docx, replacing or adding members."""
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as target:
        for member in source.infolist():
            target.writestr(member.filename, replace.get(member.filename, source.read(member)))
        for name, body in add.items():
            target.writestr(name, body)
    return buffer.getvalue()


def test_docx_real_document_paragraphs_in_order(settings):
    decoded = read_transcript_bytes(_docx(), "interview.docx", settings)
    assert decoded.text == "\n".join(PARAGRAPHS)
    assert decoded.source_format == "docx"
    assert decoded.encoding == "utf-8"


def test_docx_tables_read_in_document_order(settings):
    data = _docx(paragraphs=["Voor de tabel"], table_rows=[["I:", "Wat doet de gemeente?"], ["R:", "Weinig."]],
                 after_table=["Na de tabel"])
    text = read_transcript_bytes(data, "t.docx", settings).text
    assert text == "Voor de tabel\nI:\tWat doet de gemeente?\nR:\tWeinig.\nNa de tabel"


def test_docx_text_parses_into_turns(settings):
    text = read_transcript_bytes(_docx(), "interview.docx", settings).text
    parsed = parse_turns(text)
    contents = [text[turn.start:turn.end] for turn in parsed.turns]
    assert contents == [PARAGRAPHS[0][3:], PARAGRAPHS[1][3:] + "\n\n" + PARAGRAPHS[3]]
    assert [turn.role for turn in parsed.turns] == ["interviewer", "respondent"]


def test_docx_detected_without_extension(settings):
    assert read_transcript_bytes(_docx(), "upload", settings).source_format == "docx"


def test_docx_crlf_in_runs_normalised(settings):
    text = read_transcript_bytes(_docx(paragraphs=["R: een\r\ntwee"]), "a.docx", settings).text
    assert "\r" not in text


@pytest.mark.parametrize("data, fragment", [
    (b"R: dit is gewoon tekst", "text renamed"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".doc"),
    (b"%PDF-1.4 ...", "PDF"),
])
def test_docx_not_a_zip(settings, data, fragment):
    with pytest.raises(InvalidDocxError, match=fragment) as raised:
        read_transcript_bytes(data, "interview.docx", settings)
    assert "upload it again" in raised.value.message


def test_docx_damaged_zip(settings):
    with pytest.raises(InvalidDocxError):
        read_transcript_bytes(b"PK\x03\x04" + b"\x00garbage" * 50, "interview.docx", settings)


def test_docx_zip_bomb_member_ratio(settings):
    zeros = b"\x00" * (8 * 1024 * 1024)
    data = _rezip(_docx(), add={"word/media/image1.bin": zeros})
    assert len(data) < 100 * 1024  # the bomb is small on the wire
    with pytest.raises(InvalidDocxError, match="zip bomb"):
        read_transcript_bytes(data, "bomb.docx", settings)


def test_docx_total_uncompressed_size_limit():
    data = _docx()
    declared = sum(member.file_size for member in zipfile.ZipFile(io.BytesIO(data)).infolist())
    assert read_transcript_bytes(data, "a.docx", get_settings(max_docx_uncompressed_bytes=declared)).text
    with pytest.raises(InvalidDocxError, match="unpacks to"):
        read_transcript_bytes(data, "a.docx", get_settings(max_docx_uncompressed_bytes=declared - 1))


def test_docx_too_many_members(settings):
    extra = {f"word/media/p{i}.bin": b"x" for i in range(2100)}
    with pytest.raises(InvalidDocxError, match="parts"):
        read_transcript_bytes(_rezip(_docx(), add=extra), "many.docx", settings)


def test_docx_doctype_entity_refused(settings):
    evil = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>\n'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    with pytest.raises(InvalidDocxError, match="DOCTYPE"):
        read_transcript_bytes(_rezip(_docx(), replace={"word/document.xml": evil}), "e.docx", settings)


def test_docx_utf16_doctype_refused(settings):
    evil = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "b">]><x/>'.encode("utf-16")
    with pytest.raises(InvalidDocxError, match="DOCTYPE"):
        read_transcript_bytes(_rezip(_docx(), replace={"word/styles.xml": evil}), "e.docx", settings)


@pytest.mark.parametrize("name", ["../../evil.txt", "/etc/passwd", "word/../../x.xml", "C:/Windows/x.dll",
                                  "..\\..\\evil.txt"])
def test_docx_path_traversal_members_refused(settings, name):
    with pytest.raises(InvalidDocxError, match="unsafe path"):
        read_transcript_bytes(_rezip(_docx(), add={name: b"x"}), "t.docx", settings)


def test_docx_zip_without_document_part(settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with pytest.raises(InvalidDocxError, match="word/document.xml"):
        read_transcript_bytes(buffer.getvalue(), "sheet.docx", settings)


def test_docx_broken_xml_is_invalid_docx(settings):
    data = _rezip(_docx(), replace={"word/document.xml": b"<w:document><unclosed>"})
    with pytest.raises(InvalidDocxError):
        read_transcript_bytes(data, "broken.docx", settings)


def test_docx_without_text_is_empty(settings):
    with pytest.raises(EmptyFileError):
        read_transcript_bytes(_docx(paragraphs=["", "   "]), "leeg.docx", settings)
