"""Uploaded bytes -> transcript text: format by extension and magic bytes, encoding detected.

The rules (accepted formats, encodings, what is refused and why) are in docs/transcripts.md.
"""
from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from charset_normalizer import from_bytes

from services.shared.config import Settings
from services.shared.errors import (
    BinaryFileError,
    EmptyFileError,
    FileTooLargeError,
    UndecodableTextError,
    UnsupportedFormatError,
)
from services.shared.ingest.docx import extract_docx_text
from services.shared.ingest.language import language_warnings
from services.shared.ingest.odt import extract_odt_text
from services.shared.ingest.pdf import extract_pdf_text
from services.shared.ingest.rtf import extract_rtf_text
from services.shared.ingest.subtitles import subtitles_to_text

logger = logging.getLogger(__name__)

TEXT_EXTENSIONS = (".txt", ".text", ".md")
DOCX_EXTENSIONS = (".docx",)
# Further formats, each read by its own module (subtitles.py, odt.py, rtf.py, pdf.py): extension -> format.
DOCUMENT_FORMATS = {".vtt": "vtt", ".srt": "srt", ".odt": "odt", ".rtf": "rtf", ".pdf": "pdf"}
# What each of those formats starts with; a file that does not is named wrongly.
_DOCUMENT_SIGNATURES = {"odt": (b"PK\x03\x04", "an OpenDocument text"), "rtf": (b"{\\rtf", "a Rich Text file"),
                        "pdf": (b"%PDF", "a PDF document")}
ACCEPTED_FORMATS = ("plain text (.txt, .md, UTF-8 preferred), Word (.docx), OpenDocument (.odt), Rich Text (.rtf), "
                    "a text-based PDF (.pdf) or subtitles (.vtt, .srt)")
SAVE_AS_HINT = "Save the file as UTF-8 text (.txt) or as a Word document (.docx) and upload it again."

# Magic numbers of formats people upload by mistake; prefix -> human name.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Word .doc (or password-protected Office) file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"MZ", "a Windows program"),
    (b"OggS", "an audio file (Ogg)"),
    (b"ID3", "an audio file (MP3)"),
    (b"fLaC", "an audio file (FLAC)"),
)
_RIFF_KINDS = {b"WAVE": "an audio file (WAV)", b"WEBP": "a WebP image", b"AVI ": "a video file (AVI)"}

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16 little-endian one.
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32 (little-endian, with byte order mark)"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32 (big-endian, with byte order mark)"),
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8 with byte order mark"),
    (b"\xff\xfe", "utf-16-le", "UTF-16 (little-endian, with byte order mark)"),
    (b"\xfe\xff", "utf-16-be", "UTF-16 (big-endian, with byte order mark)"),
)

# C0 control bytes that never occur in text files (tab, LF, VT, FF, CR are allowed).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13)) + b"\x7f"
_NON_CONTROL_BYTES = bytes(b for b in range(256) if b not in _CONTROL_BYTES)
_ASCII_BYTES = bytes(range(128))
_UTF8_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))
# Above this share of control bytes a file is binary; real text has almost none.
BINARY_CONTROL_SHARE = 0.05
# Share of odd code points (controls, unassigned, private use) in decoded text that means binary.
BINARY_CHAR_SHARE = 0.05
# BOM-less UTF-16: share of NUL bytes in one byte position (ASCII-heavy text gives ~100%)
# while the other position has (almost) none.
UTF16_NUL_SHARE = 0.3
UTF16_OTHER_NUL_SHARE = 0.1
# How much charset-normalizer looks at; single-byte detection needs no more (bytes).
SECOND_OPINION_SAMPLE_BYTES = 512 * 1024

# Characters a Windows-1252 byte >= 0x80 decodes to in real (Dutch/Western) text.
_CP1252_PUNCTUATION = set("‘’‚“”„–—…€•·«»°§\u00a0\u00ad©®™½¼¾²³£´¨")
_CP1252_MIN_PLAUSIBLE_SHARE = 0.9

@dataclass
class DecodedText:
    """Text of an uploaded transcript with how it was read."""

    text: str
    encoding: str
    source_format: str  # "text" | "docx" | "vtt" | "srt" | "odt" | "rtf" | "pdf"
    warnings: list[str] = field(default_factory=list)


def read_transcript_bytes(data: bytes, filename: str, settings: Settings) -> DecodedText:
    """Turn uploaded bytes into text with "\\n" line endings and no BOM, or raise an InputError."""
    if len(data) > settings.max_upload_bytes:
        raise FileTooLargeError(
            f"The file is {_mb(len(data))} MB; the limit is {_mb(settings.max_upload_bytes)} MB. "
            "Split the transcript into smaller files and upload them separately.",
            size_bytes=len(data), limit_bytes=settings.max_upload_bytes,
        )
    if not data:
        raise EmptyFileError("The file is empty. Check that you chose the right file and upload it again.")
    extension = _extension(filename)
    if extension in DOCX_EXTENSIONS:
        decoded = _read_docx(data, settings)
    elif extension in TEXT_EXTENSIONS:
        decoded = _read_text(data)
    elif extension in DOCUMENT_FORMATS:
        decoded = _read_document(data, DOCUMENT_FORMATS[extension], settings)
    elif extension == "":
        # No extension to go by: the magic bytes decide.
        decoded = _read_docx(data, settings) if data.startswith(b"PK\x03\x04") else _read_text(data)
    else:
        raise UnsupportedFormatError(
            f"Files of type '{extension}' are not supported; upload {ACCEPTED_FORMATS}. {SAVE_AS_HINT}",
            extension=extension,
        )
    decoded.text = normalise_newlines(decoded.text).removeprefix("\ufeff")
    if not decoded.text.strip():
        raise EmptyFileError(
            "The file contains no text (only spaces or empty lines). "
            "Check that you chose the right file and upload it again."
        )
    decoded.warnings.extend(language_warnings(decoded.text))
    return decoded


def normalise_newlines(text: str) -> str:
    """Turn CRLF and lone CR line endings into LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_docx(data: bytes, settings: Settings) -> DecodedText:
    text, xml_encoding = extract_docx_text(data, settings)
    return DecodedText(text=text, encoding=xml_encoding, source_format="docx", warnings=[])


def _read_document(data: bytes, kind: str, settings: Settings) -> DecodedText:
    """Subtitles, .odt, .rtf or .pdf, each through its own reader."""
    signature = _DOCUMENT_SIGNATURES.get(kind)
    if signature is not None and not data.lstrip()[:8].startswith(signature[0]):
        raise UnsupportedFormatError(
            f"This file is named .{kind} but is not {signature[1]}; upload {ACCEPTED_FORMATS}. {SAVE_AS_HINT}",
            extension=f".{kind}",
        )
    if kind in ("vtt", "srt"):
        decoded = _read_text(data)
        text, warnings = subtitles_to_text(normalise_newlines(decoded.text), kind)
        return DecodedText(text=text, encoding=decoded.encoding, source_format=kind,
                           warnings=[*decoded.warnings, *warnings])
    if kind == "odt":
        return DecodedText(text=extract_odt_text(data, settings), encoding="utf-8", source_format="odt")
    if kind == "rtf":
        text, codepage = extract_rtf_text(data)
        return DecodedText(text=text, encoding=codepage, source_format="rtf")
    text, warnings = extract_pdf_text(data)
    return DecodedText(text=text, encoding="pdf-text", source_format="pdf", warnings=warnings)


def _read_text(data: bytes) -> DecodedText:
    _refuse_known_binary(data)
    for bom, codec, description in _BOMS:
        if data.startswith(bom):
            text = _decode_strict(data[len(bom):], codec, description)
            warnings = [] if codec == "utf-8-sig" else [_not_utf8_warning(description)]
            return DecodedText(text=text, encoding=codec, source_format="text", warnings=warnings)
    utf16 = _bomless_utf16_codec(data)
    if utf16 is not None:
        codec, description = utf16
        text = _decode_strict(data, codec, description)
        return DecodedText(text=text, encoding=codec, source_format="text",
                           warnings=[_not_utf8_warning(description)])
    control_share = len(data.translate(None, _NON_CONTROL_BYTES)) / len(data)
    if control_share > BINARY_CONTROL_SHARE:
        raise BinaryFileError(
            f"This file is not text: {control_share:.0%} of its bytes are control characters. {SAVE_AS_HINT}",
            control_share=round(control_share, 3),
        )
    if b"\x00" in data:
        raise UndecodableTextError(
            f"The text contains NUL bytes at position {data.index(0)}, so it is damaged or not plain text. "
            f"{SAVE_AS_HINT}",
            position=data.index(0),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _read_windows_1252(data, exc)
    _refuse_binary_text(text)
    return DecodedText(text=text, encoding="utf-8", source_format="text", warnings=[])


def _read_windows_1252(data: bytes, utf8_error: UnicodeDecodeError) -> DecodedText:
    """Decode as Windows-1252 only when that reading is plausible; otherwise refuse."""
    sample = data[:SECOND_OPINION_SAMPLE_BYTES]
    candidates = _second_opinion(sample)
    reason = _cp1252_implausible(data)
    if reason is not None:
        # The detector's guess goes into details only: on short texts it names unlikely code pages.
        raise UndecodableTextError(
            f"The file is not valid UTF-8 (first bad byte at position {utf8_error.start}) and {reason}. "
            f"{SAVE_AS_HINT}",
            position=utf8_error.start, second_opinion=candidates[0] if candidates else None,
        )
    text = data.decode("cp1252")
    _refuse_binary_text(text)
    warning = _not_utf8_warning("Windows-1252")
    # Several single-byte code pages read Dutch text identically; any of them counts as agreement.
    if candidates and not any(_decodes_same(sample, codec) for codec in candidates):
        warning += f" An encoding detector suggested {candidates[0]} instead; check the text carefully."
        logger.warning("Windows-1252 chosen but charset-normalizer suggested %s", candidates)
    return DecodedText(text=text, encoding="windows-1252", source_format="text", warnings=[warning])


def _cp1252_implausible(data: bytes) -> str | None:
    """Say why these (non-UTF-8) bytes are not believable Windows-1252 text, or None if they are."""
    try:
        data.decode("cp1252")
    except UnicodeDecodeError as exc:
        return f"byte 0x{data[exc.start]:02X} at position {exc.start} is not Windows-1252 either"
    high = Counter(data.translate(None, _ASCII_BYTES).decode("cp1252"))
    high_total = sum(high.values())
    plausible = sum(count for ch, count in high.items()
                    if ch in _CP1252_PUNCTUATION or (ch.isalpha() and ch not in "ªºµ"))
    if high_total and plausible / high_total < _CP1252_MIN_PLAUSIBLE_SHARE:
        return "read as Windows-1252 it gives unusual symbols instead of letters"
    # Mostly-valid UTF-8 with a few broken bytes is damaged UTF-8 (or mixed encodings), not Windows-1252.
    # Dropping the invalid bytes leaves exactly the well-formed multi-byte sequences.
    valid = data.decode("utf-8", errors="ignore").encode("utf-8").translate(None, _ASCII_BYTES)
    sequences = len(valid.translate(None, _UTF8_CONTINUATION_BYTES))  # one lead byte per sequence
    stray_bytes = high_total - len(valid)
    if sequences and sequences >= stray_bytes:
        return "it mixes UTF-8 with another encoding (or is damaged UTF-8)"
    return None


def _second_opinion(sample: bytes) -> list[str]:
    """charset-normalizer's candidate encodings, best first (empty when it has none)."""
    return [match.encoding for match in from_bytes(sample)]


def _decodes_same(sample: bytes, codec: str) -> bool:
    """Whether `codec` reads the sample exactly as Windows-1252 does."""
    try:
        return sample.decode(codec) == sample.decode("cp1252")
    except (UnicodeDecodeError, LookupError):
        return False


def _bomless_utf16_codec(data: bytes) -> tuple[str, str] | None:
    """Detect UTF-16 without a BOM from where the NUL bytes sit (Latin text: every other byte)."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:65536]
    half = len(sample) // 2
    even_nuls, odd_nuls = sample[0::2].count(0), sample[1::2].count(0)
    if odd_nuls >= UTF16_NUL_SHARE * half and even_nuls <= UTF16_OTHER_NUL_SHARE * half:
        return "utf-16-le", "UTF-16 (little-endian, without byte order mark)"
    if even_nuls >= UTF16_NUL_SHARE * half and odd_nuls <= UTF16_OTHER_NUL_SHARE * half:
        return "utf-16-be", "UTF-16 (big-endian, without byte order mark)"
    return None


def _decode_strict(data: bytes, codec: str, description: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise UndecodableTextError(
            f"The file looks like {description} but byte {exc.start} cannot be read as such "
            f"(the file may be damaged or cut off). {SAVE_AS_HINT}",
            encoding=codec, position=exc.start,
        ) from exc
    if "\x00" in text:
        raise UndecodableTextError(
            f"The text ({description}) contains NUL characters, so it is damaged or not plain text. {SAVE_AS_HINT}",
            encoding=codec,
        )
    _refuse_binary_text(text)
    return text


def _refuse_binary_text(text: str) -> None:
    """Refuse decoded text that is mostly control, unassigned or private-use characters."""
    sample = text[:65536]
    odd = sum(
        1 for ch in sample
        if ch not in "\t\n\x0b\x0c\r" and unicodedata.category(ch) in ("Cc", "Cn", "Co", "Cs")
    )
    if sample and odd / len(sample) > BINARY_CHAR_SHARE:
        raise BinaryFileError(
            f"This file does not contain readable text ({odd / len(sample):.0%} control or unknown characters). "
            f"{SAVE_AS_HINT}",
        )


def _refuse_known_binary(data: bytes) -> None:
    """Raise BinaryFileError when the bytes start with a known non-text format's signature."""
    kind = next((name for magic, name in _BINARY_MAGIC if data.startswith(magic)), None)
    if kind is None and data[:4] == b"RIFF":
        kind = _RIFF_KINDS.get(data[8:12], "a RIFF media file")
    if kind is None:
        if data.lstrip()[:5] == b"{\\rtf":
            raise UnsupportedFormatError(
                "This is a Rich Text file, not plain text; rename it to end in .rtf and upload it again.",
                detected="rtf",
            )
        return
    hint = SAVE_AS_HINT
    if kind == "a ZIP archive" and _is_word_zip(data):
        kind, hint = "a Word document (.docx)", "Rename it to end in .docx and upload it again."
    raise BinaryFileError(f"This file is {kind}, not plain text. {hint}", detected=kind)


def _is_word_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _not_utf8_warning(description: str) -> str:
    return (
        f"The file is not UTF-8; it was read as {description}. Check that accented letters (é, ë) and "
        "quotation marks look right; to be sure, save it as UTF-8 and upload it again."
    )


def _extension(filename: str) -> str:
    name = re.split(r"[\\/]", filename or "")[-1].strip()
    stem, dot, suffix = name.rpartition(".")
    return f".{suffix.lower()}" if dot and stem else ""


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}"
