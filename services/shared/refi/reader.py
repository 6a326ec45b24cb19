"""Reading .qdpx and .qdc files into a QdaProject: lenient where real tools deviate, reporting each deviation.

Safety (zip bombs, path traversal, XML entities) is checked first, strictly, by safety.py.
"""
from __future__ import annotations

import posixpath
from collections import Counter

from lxml import etree

from services.shared.config import Settings
from services.shared.errors import FileTooLargeError, QdaExchangeError, UnsafeArchiveError
from services.shared.refi.guids import normalise_guid
from services.shared.refi.model import (
    QdaCase, QdaCode, QdaCoding, QdaLink, QdaNote, QdaProject, QdaSelection, QdaSet, QdaSource, QdaUser,
)
from services.shared.refi.safety import EXPORT_AGAIN_HINT, SafeArchive, open_archive, parse_xml

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_FILE = "project.qde"
SOURCES_FOLDER = "Sources"
_VALUE_ELEMENTS = ("TextValue", "BooleanValue", "IntegerValue", "FloatValue", "DateValue", "DateTimeValue")


class _Reading:
    """Collects deviations while reading; GUID fixes are counted and reported once."""

    def __init__(self) -> None:
        self.deviations: list[str] = []
        self.guid_fixes: Counter[str] = Counter()

    def note(self, message: str) -> None:
        if message not in self.deviations:
            self.deviations.append(message)

    def guid(self, element: etree._Element, attribute: str, *, required: bool = True) -> str | None:
        raw = element.get(attribute)
        if raw is None:
            if required:
                raise QdaExchangeError(f"A <{_local(element)}> element (line {element.sourceline}) has no "
                                       f"'{attribute}' GUID. {EXPORT_AGAIN_HINT}", line=element.sourceline)
            return None
        value, changes = normalise_guid(raw)
        if value is None:
            raise QdaExchangeError(f"<{_local(element)}> (line {element.sourceline}) has {attribute}={raw!r}, "
                                   f"which is not a GUID. {EXPORT_AGAIN_HINT}", line=element.sourceline)
        self.guid_fixes.update(changes)
        return value

    def finish(self) -> list[str]:
        fixes = {"braces": "written in braces {...}", "upper-case": "written in upper case"}
        for change, count in sorted(self.guid_fixes.items()):
            self.deviations.append(f"{count} GUID(s) {fixes[change]}; read as lower-case GUIDs without braces")
        return self.deviations


def read_qdpx(data: bytes, settings: Settings) -> QdaProject:
    """Read a .qdpx archive (project.qde plus Sources/*.txt) into a QdaProject."""
    archive = open_archive(data, settings)
    try:
        reading = _Reading()
        qde_name, root_folder = _find_project_file(archive, reading)
        root = parse_xml(archive.read(qde_name), f"The project file {qde_name!r}")
        _check_root(root, "Project", PROJECT_NS, reading)
        sources = _SourceFiles(archive, root_folder, reading)
        project = QdaProject(name=root.get("name") or posixpath.basename(qde_name)[:-4],
                             origin=root.get("origin") or "")
        _read_project(root, project, sources, reading, settings)
    finally:
        archive.close()
    project.deviations = reading.finish()
    return project


def read_qdc(data: bytes, settings: Settings) -> QdaProject:
    """Read a .qdc codebook (codes and sets only) into a QdaProject without sources."""
    if len(data) > settings.max_qdpx_bytes:
        raise FileTooLargeError(f"The codebook file is {len(data) / 1024**2:.1f} MB; the limit is "
                                f"{settings.max_qdpx_bytes / 1024**2:.0f} MB.", size_bytes=len(data))
    if data.startswith(b"PK"):
        raise QdaExchangeError("This is a zip archive (a .qdpx project), not a .qdc codebook; import it as a project.")
    reading = _Reading()
    root = parse_xml(data, "The codebook file")
    _check_root(root, "CodeBook", CODEBOOK_NS, reading)
    project = QdaProject(name="", origin=root.get("origin") or "")
    codes = _child(root, "Codes")
    if codes is None:
        raise QdaExchangeError("The codebook file has no <Codes> element, so it holds no codes. " + EXPORT_AGAIN_HINT)
    _read_codes(codes, None, project, reading)
    _read_sets(root, project, reading)
    project.deviations = reading.finish()
    return project


def _find_project_file(archive: SafeArchive, reading: _Reading) -> tuple[str, str]:
    """The .qde member and the folder it sits in ("" for the archive root)."""
    candidates = [name for name in archive.names if name.lower().endswith(".qde") and not name.endswith("/")]
    if PROJECT_FILE in candidates:
        return PROJECT_FILE, ""
    if not candidates:
        raise QdaExchangeError(f"The archive has no {PROJECT_FILE}, so it is not a REFI-QDA project (.qdpx). "
                               f"{EXPORT_AGAIN_HINT}", members=archive.names[:20])
    if len(candidates) > 1:
        raise QdaExchangeError(f"The archive holds several project files ({', '.join(candidates)}); a .qdpx has "
                               f"exactly one. {EXPORT_AGAIN_HINT}")
    name = candidates[0]
    folder = posixpath.dirname(name.replace("\\", "/"))
    where = f" in the folder {folder!r}" if folder else ""
    reading.note(f"the project file is named {posixpath.basename(name)!r}{where} instead of {PROJECT_FILE!r} "
                 "(as ATLAS.ti writes it); read it anyway")
    return name, folder


def _check_root(root: etree._Element, expected: str, namespace: str, reading: _Reading) -> None:
    qname = etree.QName(root)
    if qname.localname != expected:
        raise QdaExchangeError(f"The file's root element is <{qname.localname}>, not <{expected}>; it is not a "
                               f"REFI-QDA {'project' if expected == 'Project' else 'codebook'}. {EXPORT_AGAIN_HINT}")
    if qname.namespace != namespace:
        reading.note(f"the root element has namespace {qname.namespace or '(none)'!r} instead of {namespace!r}; "
                     "read it anyway")


class _SourceFiles:
    """Finds internal:// source files in the archive, tolerating folder and file name case."""

    def __init__(self, archive: SafeArchive, root_folder: str, reading: _Reading) -> None:
        self.archive, self.reading = archive, reading
        prefix = f"{root_folder}/" if root_folder else ""
        self.by_name: dict[str, str] = {}
        self.by_folded: dict[str, str] = {}
        folders: set[str] = set()
        for name in archive.names:
            normal = name.replace("\\", "/")
            if not normal.startswith(prefix) or normal.endswith("/"):
                continue
            folder, _, filename = normal[len(prefix):].rpartition("/")
            if folder.casefold() != SOURCES_FOLDER.casefold():
                continue
            folders.add(folder)
            self.by_name[filename] = name
            self.by_folded[filename.casefold()] = name
        if "\\" in "".join(archive.names):
            reading.note("member names use '\\' as folder separator; read as '/'")
        for folder in sorted(folders - {SOURCES_FOLDER}):
            reading.note(f"source files are in the folder {folder + '/'!r} instead of {SOURCES_FOLDER + '/'!r}; "
                         "read them anyway")

    def read(self, path: str, source_name: str) -> bytes | None:
        scheme, _, rest = path.partition("://")
        if scheme.lower() != "internal":
            self.reading.note(f"source {source_name!r} refers to a file outside the archive ({path!r}); "
                              "external files cannot be imported")
            return None
        if "/" in rest or "\\" in rest or rest in ("", ".", ".."):
            raise UnsafeArchiveError(f"Source {source_name!r} refers to {path!r}, a path outside the sources folder; "
                                     "such references are refused for safety.", path=path)
        member = self.by_name.get(rest)
        if member is None:
            member = self.by_folded.get(rest.casefold())
            if member is None:
                self.reading.note(f"source {source_name!r}: its file {rest!r} is missing from the archive; skipped")
                return None
            self.reading.note(f"source file names differ in case from their references (e.g. {rest!r} is stored "
                              f"as {posixpath.basename(member)!r}); matched anyway")
        return self.archive.read(member)


def _read_project(root: etree._Element, project: QdaProject, files: _SourceFiles, reading: _Reading,
                  settings: Settings) -> None:
    users = _child(root, "Users")
    for element in _children(users, "User"):
        guid = reading.guid(element, "guid")
        project.users[guid] = QdaUser(guid=guid, name=element.get("name") or guid, user_id=element.get("id"))
    codebook = _child(root, "CodeBook")
    codes = _child(codebook, "Codes")
    if codes is not None:
        _read_codes(codes, None, project, reading)
    for element in _children(_child(root, "Variables"), "Variable"):
        project.variables[reading.guid(element, "guid")] = element.get("name") or ""
    for element in _children(_child(root, "Cases"), "Case"):
        project.cases.append(QdaCase(
            guid=reading.guid(element, "guid"), name=element.get("name") or "",
            source_refs=[reading.guid(ref, "targetGUID") for ref in _children(element, "SourceRef")],
            variables=_variable_values(element, reading),
        ))
    _read_sources(_child(root, "Sources"), project, files, reading, settings)
    for element in _children(_child(root, "Notes"), "Note"):
        guid = reading.guid(element, "guid")
        text = _text(element, "PlainTextContent")
        if text is None and element.get("plainTextPath"):
            raw = files.read(element.get("plainTextPath"), element.get("name") or guid)
            text = _decode_text(raw, f"note {element.get('name') or guid!r}", reading) if raw is not None else None
        project.notes[guid] = QdaNote(guid=guid, name=element.get("name") or "", text=text or "",
                                      user_guid=reading.guid(element, "creatingUser", required=False),
                                      created=element.get("creationDateTime"))
    for element in _children(_child(root, "Links"), "Link"):
        project.links.append(QdaLink(guid=reading.guid(element, "guid"), name=element.get("name") or "",
                                     origin=reading.guid(element, "originGUID", required=False),
                                     target=reading.guid(element, "targetGUID", required=False)))
    _read_sets(root, project, reading)


def _read_codes(parent: etree._Element, parent_guid: str | None, project: QdaProject, reading: _Reading) -> None:
    for element in _children(parent, "Code"):
        guid = reading.guid(element, "guid")
        codable = (element.get("isCodable") or "true").strip().lower() in ("true", "1")
        if element.get("isCodable") is None:
            reading.note("some codes lack the required isCodable attribute; treated as codable")
        project.codes.append(QdaCode(guid=guid, name=element.get("name") or "", codable=codable,
                                     color=element.get("color"), description=_text(element, "Description") or "",
                                     parent=parent_guid))
        _read_codes(element, guid, project, reading)


def _read_sets(root: etree._Element, project: QdaProject, reading: _Reading) -> None:
    for element in _children(_child(root, "Sets"), "Set"):
        members = _children(element, "MemberCode")
        # The codebook schema names a member code's GUID 'guid'; the project schema 'targetGUID'.
        codes = [reading.guid(m, "targetGUID" if m.get("targetGUID") is not None else "guid") for m in members]
        project.sets.append(QdaSet(
            guid=reading.guid(element, "guid"), name=element.get("name") or "",
            description=_text(element, "Description") or "", member_codes=codes,
            member_sources=[reading.guid(m, "targetGUID") for m in _children(element, "MemberSource")],
        ))


def _read_sources(sources: etree._Element | None, project: QdaProject, files: _SourceFiles, reading: _Reading,
                  settings: Settings) -> None:
    skipped: Counter[str] = Counter()
    for element in (sources if sources is not None else []):
        if not isinstance(element.tag, str):
            continue
        kind = _local(element)
        if kind == "TextSource":
            source = _text_source(element, element.get("name"), files, reading, settings)
        elif kind == "PDFSource" and _child(element, "Representation") is not None:
            reading.note("PDF sources are imported through their plain-text representation")
            source = _text_source(_child(element, "Representation"), element.get("name"), files, reading, settings)
        else:
            skipped[kind] += 1
            continue
        if source is not None:
            project.sources.append(source)
    for kind, count in sorted(skipped.items()):
        reading.note(f"{count} {kind} source(s) skipped: only text can be imported")


def _text_source(element: etree._Element, name: str | None, files: _SourceFiles, reading: _Reading,
                 settings: Settings) -> QdaSource | None:
    guid = reading.guid(element, "guid")
    name = name or element.get("name") or guid
    text = _text(element, "PlainTextContent")
    if text is None:
        path = element.get("plainTextPath")
        if not path:
            reading.note(f"source {name!r} has neither PlainTextContent nor plainTextPath; skipped")
            return None
        raw = files.read(path, name)
        if raw is None:
            return None
        if len(raw) > settings.max_upload_bytes:
            raise FileTooLargeError(f"The text of source {name!r} is {len(raw) / 1024**2:.1f} MB; the limit for one "
                                    f"transcript is {settings.max_upload_bytes / 1024**2:.0f} MB.", source=name)
        text = _decode_text(raw, f"source {name!r}", reading)
    source = QdaSource(guid=guid, name=name, text=text, variables=_variable_values(element, reading),
                       note_refs=[reading.guid(ref, "targetGUID") for ref in _children(element, "NoteRef")])
    if _children(element, "Coding"):
        reading.note(f"source {name!r} has codings of the whole document; only codings of selections are imported")
    for selection in _children(element, "PlainTextSelection"):
        parsed = _selection(selection, name, reading)
        if parsed is not None:
            source.selections.append(parsed)
    return source


def _selection(element: etree._Element, source_name: str, reading: _Reading) -> QdaSelection | None:
    guid = reading.guid(element, "guid")
    try:
        start, end = int(element.get("startPosition", "")), int(element.get("endPosition", ""))
    except ValueError:
        reading.note(f"source {source_name!r}: a selection without whole-number start/end positions was skipped")
        return None
    codings = []
    for coding in _children(element, "Coding"):
        ref = _child(coding, "CodeRef")
        if ref is None:
            reading.note(f"source {source_name!r}: a coding without a CodeRef was skipped")
            continue
        codings.append(QdaCoding(guid=reading.guid(coding, "guid"), code_guid=reading.guid(ref, "targetGUID"),
                                 user_guid=reading.guid(coding, "creatingUser", required=False),
                                 created=coding.get("creationDateTime")))
    return QdaSelection(
        guid=guid, name=element.get("name") or "", start=start, end=end,
        user_guid=reading.guid(element, "creatingUser", required=False), created=element.get("creationDateTime"),
        description=_text(element, "Description") or "", codings=codings,
        note_refs=[reading.guid(ref, "targetGUID") for ref in _children(element, "NoteRef")],
    )


def _variable_values(element: etree._Element, reading: _Reading) -> dict[str, str]:
    values = {}
    for value in _children(element, "VariableValue"):
        ref = _child(value, "VariableRef")
        if ref is None:
            continue
        content = next((_text(value, name) for name in _VALUE_ELEMENTS if _child(value, name) is not None), None)
        if content is not None:
            values[reading.guid(ref, "targetGUID")] = content.strip()
    return values


def _decode_text(raw: bytes, what: str, reading: _Reading) -> str:
    """Source texts must be UTF-8; a BOM or UTF-16 is tolerated and reported."""
    if raw.startswith(b"\xef\xbb\xbf"):
        reading.note("some source texts start with a UTF-8 byte order mark; it was removed (positions count "
                     "from the first character after it)")
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        reading.note(f"{what} is UTF-16 instead of UTF-8; read anyway")
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QdaExchangeError(f"The text of {what} is not UTF-8 (byte {exc.start}); REFI-QDA text sources must be "
                               f"UTF-8. {EXPORT_AGAIN_HINT}") from exc


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(parent: etree._Element | None, name: str) -> list[etree._Element]:
    if parent is None:
        return []
    return [child for child in parent if isinstance(child.tag, str) and _local(child) == name]


def _child(parent: etree._Element | None, name: str) -> etree._Element | None:
    found = _children(parent, name)
    return found[0] if found else None


def _text(parent: etree._Element, name: str) -> str | None:
    child = _child(parent, name)
    return None if child is None else (child.text or "")


