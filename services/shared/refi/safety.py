"""Opening REFI-QDA files safely: zip bombs, path traversal and XML entity tricks are refused.

Leniency about what real tools write lives in reader.py; this module is deliberately strict,
because each check here guards the server, not the user's convenience.
"""
from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass

from lxml import etree

from services.shared.config import Settings
from services.shared.errors import FileTooLargeError, QdaExchangeError, UnsafeArchiveError

# A project with a few hundred sources has a few hundred members; tens of thousands means a crafted file.
MAX_MEMBERS = 10_000
# Members smaller than this cannot be a bomb on their own (the total limit bounds their sum) (bytes).
RATIO_CHECK_MIN_BYTES = 1024 * 1024
# Text and XML compress 3-20:1; zip bombs are 1000:1 and more. 200:1 leaves room for very repetitive XML.
MAX_COMPRESSION_RATIO = 200.0
READ_CHUNK_BYTES = 64 * 1024
EXPORT_AGAIN_HINT = "Export the project again from your QDA program and upload the new file."

_DOCTYPE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass
class SafeArchive:
    """A checked zip archive: member names are safe and sizes bounded; members are read on demand."""

    archive: zipfile.ZipFile
    names: list[str]

    def read(self, name: str) -> bytes:
        """Read one member, never more than its checked declared size."""
        info = self.archive.getinfo(name)
        chunks, size = [], 0
        try:
            with self.archive.open(info) as handle:
                while chunk := handle.read(READ_CHUNK_BYTES):
                    size += len(chunk)
                    if size > info.file_size:  # zipfile stops at the declared size; this is a second guard
                        raise UnsafeArchiveError(
                            f"The archive member {name!r} unpacks to more than it declares; the file is crafted "
                            f"or damaged and was refused. {EXPORT_AGAIN_HINT}", member=name)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
            raise QdaExchangeError(f"The archive member {name!r} is damaged ({exc}). {EXPORT_AGAIN_HINT}",
                                   member=name) from exc
        return b"".join(chunks)

    def close(self) -> None:
        """Close the underlying zip file."""
        self.archive.close()


def open_archive(data: bytes, settings: Settings, what: str = "REFI-QDA project (.qdpx)") -> SafeArchive:
    """Check a zip archive before anything in it is read; raise UnsafeArchiveError for anything crafted."""
    if len(data) > settings.max_qdpx_bytes:
        raise FileTooLargeError(
            f"The {what} is {len(data) / 1024**2:.1f} MB; the limit is {settings.max_qdpx_bytes / 1024**2:.0f} MB. "
            "Export it without audio and video (or ask an administrator to raise QCODER_MAX_QDPX_BYTES).",
            size_bytes=len(data), limit_bytes=settings.max_qdpx_bytes,
        )
    if not data.startswith(b"PK"):
        raise QdaExchangeError(f"This file is not a {what}: a .qdpx is a zip archive. {EXPORT_AGAIN_HINT}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise QdaExchangeError(f"The {what} is damaged (its zip structure cannot be read: {exc}). "
                               f"{EXPORT_AGAIN_HINT}") from exc
    try:
        names = _check_members(archive, settings)
    except BaseException:
        archive.close()
        raise
    return SafeArchive(archive=archive, names=names)


def _check_members(archive: zipfile.ZipFile, settings: Settings) -> list[str]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise UnsafeArchiveError(f"The archive holds {len(members)} files (at most {MAX_MEMBERS} are accepted); "
                                 f"it is not an ordinary project export. {EXPORT_AGAIN_HINT}")
    names = [member.filename for member in members]
    for member in members:
        reason = unsafe_member_reason(member)
        if reason is not None:
            raise UnsafeArchiveError(
                f"The archive contains a member with an unsafe name or type ({member.filename!r}: {reason}); "
                f"such files are refused because unpacking them could write outside the project. "
                f"{EXPORT_AGAIN_HINT}", member=member.filename, reason=reason)
    folded = [name.replace("\\", "/").casefold() for name in names]
    if len(set(folded)) != len(folded):
        duplicate = next(name for name in folded if folded.count(name) > 1)
        raise UnsafeArchiveError(f"The archive contains {duplicate!r} twice (names differing only in case count "
                                 f"as the same); it is ambiguous which one to read. {EXPORT_AGAIN_HINT}")
    total = sum(member.file_size for member in members)
    if total > settings.max_qdpx_uncompressed_bytes:
        raise UnsafeArchiveError(
            f"The archive unpacks to {total / 1024**2:.0f} MB, more than the "
            f"{settings.max_qdpx_uncompressed_bytes / 1024**2:.0f} MB accepted (a zip bomb, or a project with large "
            "media files). Export it without audio and video and upload it again.", uncompressed_bytes=total)
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECK_MIN_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise UnsafeArchiveError(
                f"The archive member {member.filename!r} is compressed {ratio:.0f}:1 (at most "
                f"{MAX_COMPRESSION_RATIO:.0f}:1 is accepted), which only happens in crafted files (zip bombs).",
                member=member.filename, ratio=round(ratio, 1))
        if member.flag_bits & 0x1:
            raise QdaExchangeError(f"The archive member {member.filename!r} is encrypted; export the project "
                                   "without a password and upload it again.", member=member.filename)
    return names


def unsafe_member_reason(member: zipfile.ZipInfo) -> str | None:
    """Why a member name or type is unsafe (absolute, drive letter, '..', NUL, symlink), or None."""
    name = member.filename
    parts = re.split(r"[\\/]", name)
    if "\x00" in name:
        return "NUL character in the name"
    if name.startswith(("/", "\\")):
        return "absolute path"
    if re.match(r"^[A-Za-z]:", name):
        return "drive letter"
    if ".." in parts:
        return "'..' path segment"
    mode = member.external_attr >> 16
    if member.create_system == 3 and stat.S_ISLNK(mode):
        return "symbolic link"
    return None


def parse_xml(raw: bytes, what: str) -> etree._Element:
    """Parse XML with entities, DTDs and the network disabled; refuse any DOCTYPE or ENTITY declaration."""
    if _DOCTYPE.search(_as_utf8(raw)):
        raise UnsafeArchiveError(
            f"{what} declares a DOCTYPE or entities. REFI-QDA files never need them, and they can be used to read "
            f"server files or exhaust memory (XML external entities, 'billion laughs'), so the file was refused. "
            f"{EXPORT_AGAIN_HINT}")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             dtd_validation=False, remove_blank_text=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise QdaExchangeError(f"{what} is not well-formed XML (line {line}: {exc.msg}). {EXPORT_AGAIN_HINT}",
                               line=line) from exc
    if root.getroottree().docinfo.doctype:
        raise UnsafeArchiveError(f"{what} declares a DOCTYPE, which is refused for safety. {EXPORT_AGAIN_HINT}")
    return root


def _as_utf8(raw: bytes) -> bytes:
    """XML may be stored as UTF-16 or UTF-32; re-encode it so a byte search sees the markup."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if raw.startswith(bom):
            return raw.decode(codec, errors="replace").encode("utf-8")
    if raw.startswith(b"<\x00\x00\x00"):
        return raw.decode("utf-32-le", errors="replace").encode("utf-8")
    if raw.startswith(b"<\x00"):
        return raw.decode("utf-16-le", errors="replace").encode("utf-8")
    if raw.startswith(b"\x00<"):
        return raw.decode("utf-16-be", errors="replace").encode("utf-8")
    return raw
