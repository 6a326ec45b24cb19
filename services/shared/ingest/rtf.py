"""Rich Text (.rtf) -> plain text with striprtf, in the code page the file declares."""
from __future__ import annotations

import codecs
import re

from striprtf.striprtf import rtf_to_text

from services.shared.errors import InvalidDocumentError

RESAVE_HINT = "Open it in Word or LibreOffice, save it as .docx (or as UTF-8 text) and upload it again."
_CODEPAGE = re.compile(rb"\\ansicpg(\d{3,5})")


def extract_rtf_text(data: bytes) -> tuple[str, str]:
    """Return the text of an RTF document and the code page used for its 8-bit characters."""
    if not data.lstrip().startswith(b"{\\rtf"):
        raise InvalidDocumentError(f"This file is not Rich Text: an .rtf starts with '{{\\rtf'. {RESAVE_HINT}")
    codepage = _codepage(data)
    # RTF is 7-bit text with escapes; stray 8-bit bytes are read in the declared code page.
    source = data.decode(codepage, errors="replace")
    try:
        text = rtf_to_text(source, encoding=codepage, errors="replace")
    except (ValueError, IndexError, RecursionError) as exc:
        raise InvalidDocumentError(f"The .rtf file cannot be read ({exc}). {RESAVE_HINT}") from exc
    # RTF writes characters outside the BMP (emoji) as two \\u escapes, one per UTF-16 surrogate.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", errors="replace")
    return text, codepage


def _codepage(data: bytes) -> str:
    match = _CODEPAGE.search(data[:4096])
    if match is None:
        return "cp1252"
    name = f"cp{int(match.group(1))}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name
