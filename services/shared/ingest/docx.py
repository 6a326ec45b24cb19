"""Word (.docx) -> text, with the zip checked for bombs and entity tricks before python-docx opens it."""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document as DocxDocument
from docx.opc.exceptions import OpcError
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml.etree import LxmlError

from services.shared.config import Settings
from services.shared.errors import InvalidDocxError

# A Word file has 10-40 parts, a few hundred with many images; thousands means a crafted archive.
MAX_DOCX_MEMBERS = 2000
# Members smaller than this cannot be a bomb on their own (the total limit bounds their sum), and small
# repetitive XML parts (empty tables, styles) compress well beyond any sensible ratio (bytes).
RATIO_CHECK_MIN_BYTES = 1024 * 1024
DOCUMENT_PART = "word/document.xml"
RESAVE_HINT = "Open it in Word, save it again as .docx (or as UTF-8 text, .txt) and upload it again."

_XML_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def extract_docx_text(data: bytes, settings: Settings) -> tuple[str, str]:
    """Return the text of a .docx (paragraphs and table cells in order) and its XML encoding."""
    _check_signature(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidDocxError(f"The Word file is damaged (its zip structure cannot be read). {RESAVE_HINT}") from exc
    with archive:
        _check_members(archive, settings)
        xml_encoding = _check_xml_parts(archive)
    try:
        document = docx.Document(io.BytesIO(data))
    except (OpcError, KeyError, ValueError, LxmlError, zipfile.BadZipFile) as exc:
        raise InvalidDocxError(f"The Word file cannot be read ({exc}). {RESAVE_HINT}") from exc
    return "\n".join(_document_lines(document)), xml_encoding


def _check_signature(data: bytes) -> None:
    if data.startswith(b"PK\x03\x04"):
        return
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        what = "an old Word .doc file (or a password-protected document), not a .docx"
    elif data.startswith(b"%PDF"):
        what = "a PDF document, not a .docx"
    else:
        what = "not a Word .docx file (a .docx is a zip archive; this may be text renamed to .docx)"
    raise InvalidDocxError(f"This file is {what}. {RESAVE_HINT}")


def _check_members(archive: zipfile.ZipFile, settings: Settings) -> None:
    """Refuse archives that would unpack too far, hold odd paths, or lack the document part.

    zipfile stops reading a member at its declared size and checks its CRC, so a member that lies
    about its size fails to read rather than unpacking further than the limits checked here.
    """
    members = archive.infolist()
    if len(members) > MAX_DOCX_MEMBERS:
        raise InvalidDocxError(
            f"The Word file holds {len(members)} parts (at most {MAX_DOCX_MEMBERS} are accepted); "
            f"it is not an ordinary document. {RESAVE_HINT}"
        )
    names = [member.filename for member in members]
    unsafe = next((name for name in names if _unsafe_name(name)), None)
    if unsafe is not None:
        raise InvalidDocxError(
            f"The Word file contains a part with an unsafe path ({unsafe!r}); it is not an ordinary document. "
            f"{RESAVE_HINT}"
        )
    if len(set(names)) != len(names):
        raise InvalidDocxError(f"The Word file contains the same part twice. {RESAVE_HINT}")
    total = sum(member.file_size for member in members)
    if total > settings.max_docx_uncompressed_bytes:
        raise InvalidDocxError(
            f"The Word file unpacks to {total / 1024**2:.0f} MB, more than the "
            f"{settings.max_docx_uncompressed_bytes / 1024**2:.0f} MB accepted. Remove images and other "
            "embedded files, or save the transcript as text (.txt), and upload it again.",
            uncompressed_bytes=total,
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECK_MIN_BYTES and ratio > settings.max_docx_compression_ratio:
            raise InvalidDocxError(
                f"The Word file part {member.filename!r} is compressed {ratio:.0f}:1 (at most "
                f"{settings.max_docx_compression_ratio:.0f}:1 is accepted), which only happens in "
                f"crafted files (zip bombs). {RESAVE_HINT}",
                member=member.filename, ratio=round(ratio, 1),
            )
    if DOCUMENT_PART not in names:
        raise InvalidDocxError(
            f"This zip file has no {DOCUMENT_PART}, so it is not a Word document "
            f"(perhaps a spreadsheet or another archive renamed to .docx). {RESAVE_HINT}"
        )


def _unsafe_name(name: str) -> bool:
    parts = re.split(r"[\\/]", name)
    return (
        name.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", name) is not None
        or ".." in parts
        or "\x00" in name
    )


def _check_xml_parts(archive: zipfile.ZipFile) -> str:
    """Refuse XML parts with a DOCTYPE or ENTITY declaration; return the document part's encoding."""
    document_encoding = "utf-8"
    for member in archive.infolist():
        if not member.filename.lower().endswith((".xml", ".rels")):
            continue
        raw = archive.read(member)
        if _DOCTYPE.search(_as_utf8(raw)):
            raise InvalidDocxError(
                f"The Word file part {member.filename!r} declares a DOCTYPE or entities, which Word never "
                f"writes and which can be used to attack the server. {RESAVE_HINT}",
                member=member.filename,
            )
        if member.filename == DOCUMENT_PART:
            declared = _XML_DECLARED_ENCODING.match(raw)
            if declared:
                document_encoding = declared.group(1).decode("ascii").lower()
    return document_encoding


def _as_utf8(raw: bytes) -> bytes:
    """XML may be stored as UTF-16; re-encode it so a byte search sees the markup."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace").encode("utf-8")
    if raw.startswith(b"<\x00"):
        return raw.decode("utf-16-le", errors="replace").encode("utf-8")
    if raw.startswith(b"\x00<"):
        return raw.decode("utf-16-be", errors="replace").encode("utf-8")
    return raw


def _document_lines(document: DocxDocument) -> Iterator[str]:
    yield from _container_lines(document)


def _container_lines(container: DocxDocument | _Cell) -> Iterator[str]:
    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            yield block.text
        else:
            yield from _table_lines(block)


def _table_lines(table: Table) -> Iterator[str]:
    """One line per row, cells joined by a tab, so a "speaker | text" table reads "I:\\ttext"."""
    for row in table._tbl.tr_lst:
        # Iterate the cell elements themselves: row.cells repeats merged cells.
        cells = ["\n".join(_container_lines(_Cell(tc, table))) for tc in row.tc_lst]
        yield "\t".join(cells)
