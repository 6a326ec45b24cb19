"""Writing a project as a REFI-QDA .qdpx (project.qde + Sources/<guid>.txt) and a codebook as .qdc.

Positions are Unicode code points into exactly the stored transcript text, which is written
unchanged as UTF-8 without BOM and with "\\n" line endings. Every GUID is derived from stable
ids (guids.py) and nothing depends on the export time, so exporting twice gives identical bytes.
"""
from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime

from lxml import etree
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.errors import InputError
from services.shared.outputs.data import CodedQuotation, ProjectCodings, as_utc, project_codings
from services.shared.refi import guids
from services.shared.refi.codebook_map import CodeGroup, CodeNode, codebook_tree, with_trailer
from services.shared.refi.reader import CODEBOOK_NS, PROJECT_NS, PROJECT_FILE, SOURCES_FOLDER
from services.shared.tables import Project

ORIGIN = "qcoder (REFI-QDA 1.0 export)"
MACHINE_OPTIONS = ("omit", "separate_user")
MODEL_USER_PREFIX = "qcoder-model:"
SELECTION_NAME_CHARS = 80
# A fixed timestamp for zip members: the archive must not change with the time of export.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_P = f"{{{PROJECT_NS}}}"
_C = f"{{{CODEBOOK_NS}}}"
VARIABLES = (("Respondent", "respondent_id"), ("Casus", "case_name"), ("Rol", "respondent_role"))
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_qdpx(session: Session, project: Project, *, machine: str = "omit", min_confidence: float = 0.0) -> bytes:
    """The project as .qdpx bytes; machine="separate_user" adds unreviewed suggestions under a model user."""
    if machine not in MACHINE_OPTIONS:
        raise InputError(f"machine must be one of {', '.join(MACHINE_OPTIONS)}.", machine=machine)
    codings = project_codings(session, project, include_machine=machine == "separate_user",
                              min_confidence=min_confidence)
    document, files = project_document(codings)
    return _zip({PROJECT_FILE: document, **{f"{SOURCES_FOLDER}/{name}": data for name, data in files.items()}})


def export_qdc(codebook: Codebook) -> bytes:
    """The codebook as .qdc bytes (urn:QDA-XML:codebook:1.0)."""
    root = etree.Element(f"{_C}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    nodes, groups = codebook_tree(codebook)
    _codes(etree.SubElement(root, f"{_C}Codes"), nodes, _C)
    sets = etree.SubElement(root, f"{_C}Sets")
    for group in groups:
        element = _set(sets, group, _C)
        for member in group.members:
            etree.SubElement(element, f"{_C}MemberCode", guid=member)
    return _serialise(root)


def project_document(codings: ProjectCodings) -> tuple[bytes, dict[str, bytes]]:
    """project.qde bytes and the source files (name -> UTF-8 bytes) for collected codings."""
    writer = _ProjectWriter(codings)
    return writer.document(), writer.files


class _ProjectWriter:
    def __init__(self, codings: ProjectCodings) -> None:
        self.c = codings
        self.sha = codings.codebook.sha256
        self.users: dict[str, tuple[str, str]] = {}  # guid -> (name, id attribute)
        self.files: dict[str, bytes] = {}
        self.notes: list[tuple[str, CodedQuotation, object]] = []

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            guid = guids.stable_guid("user", "unknown")
            self.users[guid] = ("(verwijderde gebruiker)", "qcoder-user:unknown")
            return guid
        guid = guids.user_guid(user_id)
        user = self.c.users.get(user_id)
        self.users[guid] = (user.username if user else f"gebruiker {user_id}", f"qcoder-user:{user_id}")
        return guid

    def model_user(self, version: str | None) -> str:
        version = version or "unknown"
        guid = guids.model_user_guid(version)
        self.users[guid] = (f"qcoder model {version} (niet beoordeeld)", f"{MODEL_USER_PREFIX}{version}")
        return guid

    def document(self) -> bytes:
        project = self.c.project
        root = etree.Element(f"{_P}Project", nsmap={None: PROJECT_NS}, name=xml_text(project.name), origin=ORIGIN)
        if project.created_by is not None:
            root.set("creatingUserGUID", self.user(project.created_by))
        root.set("creationDateTime", _time(project.created_at))
        users = etree.SubElement(root, f"{_P}Users")
        nodes, groups = codebook_tree(self.c.codebook)
        _codes(etree.SubElement(etree.SubElement(root, f"{_P}CodeBook"), f"{_P}Codes"), nodes, _P)
        self._variables(root)
        self._cases(root)
        sources = etree.SubElement(root, f"{_P}Sources")
        for transcript in self.c.transcripts:
            self._source(sources, transcript)
        if len(sources) == 0:
            root.remove(sources)
        self._notes(root)
        self._sets(root, groups)
        if project.description.strip():
            etree.SubElement(root, f"{_P}Description").text = xml_text(project.description)
        for guid, (name, user_id) in sorted(self.users.items(), key=lambda item: (item[1][1], item[0])):
            etree.SubElement(users, f"{_P}User", guid=guid, name=xml_text(name), id=xml_text(user_id))
        if len(users) == 0:
            root.remove(users)
        return _serialise(root)

    def _values(self, transcript) -> list[tuple[str, str]]:  # noqa: ANN001 - a Transcript
        return [(name, getattr(transcript, attribute)) for name, attribute in VARIABLES
                if getattr(transcript, attribute)]

    def _variables(self, root: etree._Element) -> None:
        used = {name for t in self.c.transcripts for name, _ in self._values(t)}
        if not used:
            return
        variables = etree.SubElement(root, f"{_P}Variables")
        for name, _ in VARIABLES:
            if name in used:
                etree.SubElement(variables, f"{_P}Variable", guid=guids.variable_guid(self.c.project.id, name),
                                 name=name, typeOfVariable="Text")

    def _cases(self, root: etree._Element) -> None:
        named = [case for case in self.c.cases() if any(t.case_name == case for t in self.c.transcripts)]
        if not named:
            return
        cases = etree.SubElement(root, f"{_P}Cases")
        for case in named:
            element = etree.SubElement(cases, f"{_P}Case", guid=guids.case_guid(self.c.project.id, case),
                                       name=xml_text(case))
            _variable_value(element, guids.variable_guid(self.c.project.id, "Casus"), case)
            for transcript in self.c.transcripts:
                if transcript.case_name == case:
                    etree.SubElement(element, f"{_P}SourceRef", targetGUID=guids.source_guid(transcript.id))

    def _source(self, sources: etree._Element, transcript) -> None:  # noqa: ANN001 - a Transcript
        file_name = f"{guids.text_file_guid(transcript.id, transcript.text_sha256)}.txt"
        self.files[file_name] = transcript.text.encode("utf-8")
        element = etree.SubElement(sources, f"{_P}TextSource", guid=guids.source_guid(transcript.id),
                                   name=xml_text(transcript.filename), plainTextPath=f"internal://{file_name}")
        if transcript.created_by is not None:
            element.set("creatingUser", self.user(transcript.created_by))
        element.set("creationDateTime", _time(transcript.created_at))
        for quotation in (q for q in self.c.quotations if q.transcript_id == transcript.id):
            self._selection(element, quotation)
        for name, value in self._values(transcript):
            _variable_value(element, guids.variable_guid(self.c.project.id, name), value)

    def _selection(self, source: etree._Element, quotation: CodedQuotation) -> None:
        if quotation.confirmed:
            user, moment = self.user(quotation.decided_by), quotation.decided_at or quotation.created_at
            meta = {"stance": quotation.stance} if quotation.stance else None
            description = with_trailer("", meta) if meta else None
        else:
            user, moment = self.model_user(quotation.model_version), quotation.created_at
            scores = ", ".join(f"{code} {quotation.scores.get(code, 0.0):.2f}" for code in quotation.codes)
            description = with_trailer(
                f"Niet beoordeelde suggestie van model {quotation.model_version}; confidence: {scores}.",
                {"model_version": quotation.model_version, "stance": quotation.stance,
                 "confidence": {code: round(quotation.scores.get(code, 0.0), 4) for code in quotation.codes}})
        element = etree.SubElement(
            source, f"{_P}PlainTextSelection", guid=guids.selection_guid(quotation.quotation_id),
            name=_excerpt(quotation.text), startPosition=str(quotation.start), endPosition=str(quotation.end),
            creatingUser=user, creationDateTime=_time(moment))
        if description:
            etree.SubElement(element, f"{_P}Description").text = xml_text(description)
        for code_id in quotation.codes:
            coding = etree.SubElement(element, f"{_P}Coding", guid=guids.coding_guid(quotation.quotation_id, code_id,
                                                                                        user),
                                      creatingUser=user, creationDateTime=_time(moment))
            etree.SubElement(coding, f"{_P}CodeRef", targetGUID=guids.code_guid(self.sha, code_id))
        for memo in quotation.memos:
            etree.SubElement(element, f"{_P}NoteRef", targetGUID=guids.note_guid(memo.event_id))
            self.notes.append((guids.note_guid(memo.event_id), quotation, memo))

    def _notes(self, root: etree._Element) -> None:
        if not self.notes:
            return
        notes = etree.SubElement(root, f"{_P}Notes")
        for guid, quotation, memo in self.notes:
            name = f"Memo bij '{_excerpt(quotation.text, 40)}'"
            element = etree.SubElement(notes, f"{_P}Note", guid=guid, name=name,
                                       creatingUser=self.user(memo.reviewer_id), creationDateTime=_time(memo.at))
            etree.SubElement(element, f"{_P}PlainTextContent").text = xml_text(memo.text)

    def _sets(self, root: etree._Element, groups: list[CodeGroup]) -> None:
        sets = etree.SubElement(root, f"{_P}Sets")
        for group in groups:
            element = _set(sets, group, _P)
            for member in group.members:
                etree.SubElement(element, f"{_P}MemberCode", targetGUID=member)
        for case in self.c.cases():
            members = [t for t in self.c.transcripts if (t.case_name or None) == case]
            if not members:
                continue
            group = CodeGroup(guids.document_set_guid(self.c.project.id, case), f"Casus: {case}", "", [])
            element = _set(sets, group, _P)
            for transcript in members:
                etree.SubElement(element, f"{_P}MemberSource", targetGUID=guids.source_guid(transcript.id))


def xml_text(value: str | None) -> str:
    """The string without characters XML 1.0 cannot hold (control characters other than tab and newlines)."""
    return _XML_INVALID.sub("", value or "")


def _codes(parent: etree._Element, nodes: list[CodeNode], ns: str) -> None:
    for node in nodes:
        element = etree.SubElement(parent, f"{ns}Code", guid=node.guid, name=xml_text(node.name),
                                   isCodable="true" if node.codable else "false")
        if node.color:
            element.set("color", node.color)
        if node.description:
            etree.SubElement(element, f"{ns}Description").text = xml_text(node.description)
        _codes(element, node.children, ns)


def _set(parent: etree._Element, group: CodeGroup, ns: str) -> etree._Element:
    element = etree.SubElement(parent, f"{ns}Set", guid=group.guid, name=xml_text(group.name))
    if group.description:
        etree.SubElement(element, f"{ns}Description").text = xml_text(group.description)
    return element


def _variable_value(parent: etree._Element, variable: str, value: str) -> None:
    element = etree.SubElement(parent, f"{_P}VariableValue")
    etree.SubElement(element, f"{_P}VariableRef", targetGUID=variable)
    etree.SubElement(element, f"{_P}TextValue").text = xml_text(value)


def _excerpt(text: str, limit: int = SELECTION_NAME_CHARS) -> str:
    flat = " ".join(xml_text(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _time(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in [PROJECT_FILE, *sorted(n for n in members if n != PROJECT_FILE)]:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])
    return buffer.getvalue()
