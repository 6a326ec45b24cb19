"""OpenDocument text (.odt) -> plain text, read as zip + XML with the same safety checks as .docx."""
from __future__ import annotations

import io
import re
import zipfile

from lxml import etree

from services.shared.config import Settings
from services.shared.errors import InvalidDocumentError

CONTENT_PART = "content.xml"
MAX_MEMBERS = 2000
RATIO_CHECK_MIN_BYTES = 1024 * 1024
TEXT_NS = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE_NS = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE_NS = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
RESAVE_HINT = "Open it in LibreOffice or Word, save it again as .odt or .docx (or as UTF-8 text) and upload it again."

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_T = f"{{{TEXT_NS}}}"
_TABLE = f"{{{TABLE_NS}}}"
# Elements whose text is not part of the running text (notes are footnotes, annotations are comments).
_SKIPPED = {f"{_T}note", f"{{{OFFICE_NS}}}annotation", f"{_T}tracked-changes", f"{_T}sequence-decls"}


def extract_odt_text(data: bytes, settings: Settings) -> str:
    """The body text of an .odt: one line per paragraph or heading, table rows with cells joined by a tab."""
    if not data.startswith(b"PK\x03\x04"):
        raise InvalidDocumentError(f"This file is not an OpenDocument text (.odt is a zip archive). {RESAVE_HINT}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InvalidDocumentError(f"The .odt file is damaged (its zip structure cannot be read). "
                                   f"{RESAVE_HINT}") from exc
    with archive:
        _check_members(archive, settings)
        raw = archive.read(CONTENT_PART)
    if _DOCTYPE.search(raw):
        raise InvalidDocumentError(f"The .odt declares a DOCTYPE or entities, which office programs never write "
                                   f"and which can be used to attack the server. {RESAVE_HINT}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidDocumentError(f"The .odt content is damaged ({exc.msg}). {RESAVE_HINT}") from exc
    body = root.find(f"{{{OFFICE_NS}}}body/{{{OFFICE_NS}}}text")
    if body is None:
        raise InvalidDocumentError(f"This OpenDocument file has no text body (is it a spreadsheet or a "
                                   f"presentation?). {RESAVE_HINT}")
    return "\n".join(_block_lines(body))


def _check_members(archive: zipfile.ZipFile, settings: Settings) -> None:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise InvalidDocumentError(f"The .odt holds {len(members)} parts; it is not an ordinary document. "
                                   f"{RESAVE_HINT}")
    names = [m.filename for m in members]
    if any(name.startswith(("/", "\\")) or ".." in re.split(r"[\\/]", name) or "\x00" in name for name in names):
        raise InvalidDocumentError(f"The .odt contains a part with an unsafe path. {RESAVE_HINT}")
    total = sum(m.file_size for m in members)
    if total > settings.max_docx_uncompressed_bytes:
        raise InvalidDocumentError(f"The .odt unpacks to {total / 1024**2:.0f} MB, more than the "
                                   f"{settings.max_docx_uncompressed_bytes / 1024**2:.0f} MB accepted. Remove images "
                                   "or save the transcript as text (.txt).")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECK_MIN_BYTES and ratio > settings.max_docx_compression_ratio:
            raise InvalidDocumentError(f"The .odt part {member.filename!r} is compressed {ratio:.0f}:1, which only "
                                       f"happens in crafted files (zip bombs). {RESAVE_HINT}")
    if CONTENT_PART not in names:
        raise InvalidDocumentError(f"This zip file has no {CONTENT_PART}, so it is not an OpenDocument text. "
                                   f"{RESAVE_HINT}")


def _block_lines(container: etree._Element) -> list[str]:
    lines: list[str] = []
    for element in container:
        tag = element.tag
        if tag in (f"{_T}p", f"{_T}h"):
            lines.append(_inline_text(element))
        elif tag == f"{_T}list":
            for item in element:
                if item.tag in (f"{_T}list-item", f"{_T}list-header"):
                    lines.extend(_block_lines(item))
        elif tag == f"{_T}section":
            lines.extend(_block_lines(element))
        elif tag == f"{_TABLE}table":
            for row in element.iter(f"{_TABLE}table-row"):
                if next(row.iterancestors(f"{_TABLE}table")) is not element:
                    continue  # a row of a nested table is read inside its cell
                cells = ["\n".join(_block_lines(cell)) for cell in row if cell.tag == f"{_TABLE}table-cell"]
                lines.append("\t".join(cells))
    return lines


def _inline_text(element: etree._Element) -> str:
    """Text of a paragraph, with <text:s/>, <text:tab/> and <text:line-break/> as their characters."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag in _SKIPPED:
            parts.append(child.tail or "")
            continue
        if child.tag == f"{_T}s":
            parts.append(" " * int(child.get(f"{_T}c", "1")))
        elif child.tag == f"{_T}tab":
            parts.append("\t")
        elif child.tag == f"{_T}line-break":
            parts.append("\n")
        else:
            parts.append(_inline_text(child))
        parts.append(child.tail or "")
    return "".join(parts)
