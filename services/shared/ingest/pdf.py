"""Text-based PDF -> plain text with pypdf; scanned PDFs (no text layer) are refused with advice."""
from __future__ import annotations

import io

from pypdf import PdfReader
from pypdf.errors import DependencyError, PyPdfError

from services.shared.errors import InvalidDocumentError

# A transcript is tens of pages; thousands means a book or a crafted file.
MAX_PAGES = 2000
# Fewer letters than this per page on average means there is no real text layer (a scan).
MIN_LETTERS_PER_PAGE = 20
RESAVE_HINT = "Upload the transcript as .docx or UTF-8 text (.txt) instead."
LAYOUT_WARNING = ("text taken from a PDF: line breaks follow the page layout and page headers or numbers may "
                  "be mixed in; check the speaker turns")


def extract_pdf_text(data: bytes) -> tuple[str, list[str]]:
    """Return the text of a PDF's pages (joined by a newline) and warnings for the reader."""
    if not data.startswith(b"%PDF"):
        raise InvalidDocumentError(f"This file is not a PDF document (it does not start with '%PDF'). {RESAVE_HINT}")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidDocumentError(f"The PDF is password-protected. Remove the password or {RESAVE_HINT[0].lower()}"
                                       f"{RESAVE_HINT[1:]}")
        pages = reader.pages
        if len(pages) > MAX_PAGES:
            raise InvalidDocumentError(f"The PDF has {len(pages)} pages (at most {MAX_PAGES} are accepted). "
                                       "Split it into separate interviews.")
        texts = [page.extract_text() or "" for page in pages]
    except (PyPdfError, DependencyError, ValueError, KeyError, TypeError) as exc:
        raise InvalidDocumentError(f"The PDF cannot be read ({exc}). {RESAVE_HINT}") from exc
    letters = sum(ch.isalpha() for text in texts for ch in text)
    if letters < MIN_LETTERS_PER_PAGE * max(len(texts), 1):
        raise InvalidDocumentError(
            "The PDF has (almost) no text layer: it is probably a scan or a picture of text. Run text recognition "
            f"(OCR) on it first, or {RESAVE_HINT[0].lower()}{RESAVE_HINT[1:]}", pages=len(texts), letters=letters)
    return "\n".join(text.rstrip("\n") for text in texts), [LAYOUT_WARNING]
