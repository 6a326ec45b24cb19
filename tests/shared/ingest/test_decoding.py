"""Bytes -> text: encodings, line endings, and every way an upload is refused."""
from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest

from services.shared.config import get_settings
from services.shared.errors import (
    BinaryFileError,
    EmptyFileError,
    FileTooLargeError,
    InputError,
    UndecodableTextError,
    UnsupportedFormatError,
)
from services.shared.ingest import read_transcript_bytes

DUTCH = (
    "Interviewer: Hoe ziet de ‘regisseursrol’ eruit?\n"
    "Respondent: Tja, één café, ideeën over zorg… dat kost € 5.000.\n"
    "\tMet een tab en “aanhalingstekens” – en een streepje.\n"
)
EMOJI = "Respondent: Dat vond ik top 😀 echt.\n"


@pytest.fixture
def settings():
    return get_settings(max_upload_bytes=1024 * 1024)


def _png_bytes() -> bytes:
    """A real 1x1 PNG image."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


ROUND_TRIPS = [
    # (name, bytes, expected text, expected encoding)
    ("utf-8", (DUTCH + EMOJI).encode("utf-8"), DUTCH + EMOJI, "utf-8"),
    ("utf-8 bom", b"\xef\xbb\xbf" + (DUTCH + EMOJI).encode("utf-8"), DUTCH + EMOJI, "utf-8-sig"),
    ("utf-16-le bom", b"\xff\xfe" + (DUTCH + EMOJI).encode("utf-16-le"), DUTCH + EMOJI, "utf-16-le"),
    ("utf-16-be bom", b"\xfe\xff" + (DUTCH + EMOJI).encode("utf-16-be"), DUTCH + EMOJI, "utf-16-be"),
    ("utf-16-le no bom", (DUTCH + EMOJI).encode("utf-16-le"), DUTCH + EMOJI, "utf-16-le"),
    ("utf-16-be no bom", (DUTCH + EMOJI).encode("utf-16-be"), DUTCH + EMOJI, "utf-16-be"),
    ("utf-32-le bom", b"\xff\xfe\x00\x00" + (DUTCH + EMOJI).encode("utf-32-le"), DUTCH + EMOJI, "utf-32-le"),
    ("windows-1252", DUTCH.encode("cp1252"), DUTCH, "windows-1252"),
]


@pytest.mark.parametrize("name, data, expected, encoding", ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS])
def test_decoding_round_trip_each_encoding(settings, name, data, expected, encoding):
    decoded = read_transcript_bytes(data, "interview.txt", settings)
    assert decoded.text == expected
    assert decoded.encoding == encoding
    assert decoded.source_format == "text"
    assert not decoded.text.startswith("\ufeff")
    if encoding.startswith("utf-8"):
        assert decoded.warnings == []
    else:
        assert len(decoded.warnings) == 1 and "UTF-8" in decoded.warnings[0]


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "cp1252"])
def test_decoding_line_endings_normalised(settings, codec):
    original = "I: Eerste regel\r\nR: tweede\rregel\n\r\nI: vierde é\r\n"
    decoded = read_transcript_bytes(original.encode(codec), "a.txt", settings)
    assert decoded.text == "I: Eerste regel\nR: tweede\nregel\n\nI: vierde é\n"
    assert "\r" not in decoded.text


def test_decoding_keeps_tabs_accents_and_inner_spacing(settings):
    original = "R:\tGeïnterviewde  zegt:   “naïef”\t😀  \n\n"
    assert read_transcript_bytes(original.encode(), "a.txt", settings).text == original


def test_decoding_extension_case_and_markdown(settings):
    assert read_transcript_bytes(b"R: ja", "A.TXT", settings).text == "R: ja"
    assert read_transcript_bytes(b"**R:** ja", "notes.md", settings).text == "**R:** ja"
    assert read_transcript_bytes(b"R: ja", "C:\\Users\\x\\interview.txt", settings).text == "R: ja"


def test_decoding_without_extension_sniffs_text(settings):
    decoded = read_transcript_bytes("R: één".encode(), "interview", settings)
    assert decoded.text == "R: één" and decoded.source_format == "text"


@pytest.mark.parametrize("filename", ["scan.pdf", "notes.odt", "oud.doc", "x.rtf", "a.xlsx"])
def test_decoding_unknown_extension_names_accepted_formats(settings, filename):
    with pytest.raises(UnsupportedFormatError) as raised:
        read_transcript_bytes(b"R: ja", filename, settings)
    assert ".txt" in raised.value.message and ".docx" in raised.value.message


def test_decoding_rtf_renamed_txt_is_unsupported(settings):
    with pytest.raises(UnsupportedFormatError, match="Rich Text"):
        read_transcript_bytes(rb"{\rtf1\ansi R: ja}", "a.txt", settings)


def test_decoding_random_binary_renamed_txt(settings):
    data = random.Random(7).randbytes(4096)
    with pytest.raises(BinaryFileError):
        read_transcript_bytes(data, "interview.txt", settings)


def test_decoding_png_renamed_txt(settings):
    with pytest.raises(BinaryFileError, match="PNG"):
        read_transcript_bytes(_png_bytes(), "interview.txt", settings)


def test_decoding_pdf_renamed_txt(settings):
    with pytest.raises(BinaryFileError, match="PDF"):
        read_transcript_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "interview.txt", settings)


def test_decoding_docx_renamed_txt_says_rename(settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(BinaryFileError, match=r"\.docx"):
        read_transcript_bytes(buffer.getvalue(), "interview.txt", settings)


def test_decoding_zip_renamed_txt(settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n")
    with pytest.raises(BinaryFileError, match="ZIP"):
        read_transcript_bytes(buffer.getvalue(), "interview.txt", settings)


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", b"\xef\xbb\xbf", b"\xff\xfe", "  \n".encode("utf-16")])
def test_decoding_empty_or_whitespace_only(settings, data):
    with pytest.raises(EmptyFileError):
        read_transcript_bytes(data, "a.txt", settings)


def test_decoding_too_large():
    settings = get_settings(max_upload_bytes=100)
    assert read_transcript_bytes(b"R" * 100, "a.txt", settings).text == "R" * 100
    with pytest.raises(FileTooLargeError):
        read_transcript_bytes(b"R" * 101, "a.txt", settings)


def test_decoding_too_large_checked_before_format():
    with pytest.raises(FileTooLargeError):
        read_transcript_bytes(b"x" * 101, "a.pdf", get_settings(max_upload_bytes=100))


@pytest.mark.parametrize("data", [
    b"Goedemorgen \x81\x8d\x90 daar, hoe gaat het?",                 # bytes undefined in Windows-1252
    "Het café en de ideeën".encode("utf-8") + b" en \xe9\xe8 los",   # UTF-8 with stray Latin-1 bytes
    "R: ¤¦¬±¶¸¹ºª ¤¦¬±".encode("cp1252"),                            # decodes to symbols, not letters
])
def test_decoding_invalid_utf8_not_plausible_cp1252(settings, data):
    with pytest.raises(UndecodableTextError):
        read_transcript_bytes(data, "a.txt", settings)


def test_decoding_nul_bytes_in_utf8_text(settings):
    data = "R: Dit is een gewone zin over de gemeente en de regie. ".encode() * 3
    data = data[:40] + b"\x00" + data[40:]
    with pytest.raises(UndecodableTextError, match="NUL"):
        read_transcript_bytes(data, "a.txt", settings)


def test_decoding_truncated_utf16_with_bom(settings):
    data = b"\xff\xfe" + "R: ja hoor".encode("utf-16-le") + b"\x00\xd8"  # a lone high surrogate
    with pytest.raises(UndecodableTextError):
        read_transcript_bytes(data, "a.txt", settings)


def test_decoding_errors_say_what_to_do(settings):
    cases = [
        (b"", "a.txt", settings),
        (random.Random(3).randbytes(2048), "a.txt", settings),
        (b"\x81\x8d\x90 daar", "a.txt", settings),
        (b"R: ja", "a.pdf", settings),
        (b"R" * 10, "a.txt", get_settings(max_upload_bytes=5)),
    ]
    for data, filename, case_settings in cases:
        with pytest.raises(InputError) as raised:
            read_transcript_bytes(data, filename, case_settings)
        message = raised.value.message.lower()
        assert "upload" in message or "split" in message, message
