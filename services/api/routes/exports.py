"""REFI-QDA exchange (.qdpx, .qdc) and research outputs (tables, case comparison, reports, charts)."""
from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response

from services.api.deps import CurrentUser, SessionDep, SettingsDep
from services.shared.errors import FileTooLargeError, InputError
from services.shared.outputs import DEFAULT_MAX_GAP
from services.shared.outputs.case_comparison import case_comparison, cell_quotations
from services.shared.outputs.data import project_codings
from services.shared.outputs.files import OUTPUTS, OutputFile, render_output
from services.shared.projects import READ_ROLES, authorise, project_codebook
from services.shared.refi import MACHINE_OPTIONS, export_qdc, export_qdpx, import_qdc, import_qdpx

router = APIRouter(tags=["exports"])
READ_CHUNK_BYTES = 1024 * 1024
QDPX_TYPE = "application/zip"
QDC_TYPE = "application/xml"


def _download(output: OutputFile) -> Response:
    shown = output.media_type.startswith(("image/", "text/html", "application/json"))
    disposition = "inline" if shown else "attachment"
    # HTTP headers are Latin-1: an ASCII fallback name plus the exact name in RFC 5987 form.
    fallback = output.filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    header = f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(output.filename)}"
    return Response(content=output.content, media_type=output.media_type, headers={"Content-Disposition": header})


async def _read_bounded(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise FileTooLargeError(f"'{upload.filename}' is larger than {limit // (1024 * 1024)} MB; export it "
                                    "without media files or ask an administrator to raise QCODER_MAX_QDPX_BYTES.")
        chunks.append(chunk)
    return b"".join(chunks)


def _mapping(raw: str | None) -> dict[str, str] | None:
    if not raw:
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InputError(f'kind_mapping must be a JSON object such as {{"Overlap": "knelpunt"}} ({exc.msg}).') from exc
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()):
        raise InputError("kind_mapping must be a JSON object of code name -> kind (knelpunt, oplossing, variabele).")
    return mapping


@router.get("/projects/{project_id}/export.qdpx", response_class=Response,
            responses={200: {"content": {QDPX_TYPE: {}}}})
def get_qdpx(
    project_id: str, session: SessionDep, user: CurrentUser,
    machine: Annotated[str, Query(description="Unreviewed suggestions: 'omit', or 'separate_user' (a user named "
                                              "after the model version, confidence in the description)")] = "omit",
    min_confidence: Annotated[float, Query(ge=0.0, le=1.0)] = 0.0,
) -> Response:
    """The project as a REFI-QDA project file (QDA-XML 1.0) for ATLAS.ti, NVivo, MAXQDA, QualCoder."""
    project = authorise(session, project_id, user, READ_ROLES)
    if machine not in MACHINE_OPTIONS:
        raise InputError(f"machine must be one of: {', '.join(MACHINE_OPTIONS)}.")
    data = export_qdpx(session, project, machine=machine, min_confidence=min_confidence)
    return _download(OutputFile(data, QDPX_TYPE, f"{_stem(project.name)}.qdpx"))


@router.get("/projects/{project_id}/export.qdc", response_class=Response, responses={200: {"content": {QDC_TYPE: {}}}})
def get_qdc(project_id: str, session: SessionDep, user: CurrentUser) -> Response:
    """The project's codebook as a REFI-QDA codebook file (.qdc)."""
    project = authorise(session, project_id, user, READ_ROLES)
    return _download(OutputFile(export_qdc(project_codebook(project)), QDC_TYPE, f"{_stem(project.name)}.qdc"))


@router.post("/projects/import", status_code=201)
async def import_project(
    session: SessionDep, settings: SettingsDep, user: CurrentUser,
    file: Annotated[UploadFile, File(description="A REFI-QDA project (.qdpx) or codebook (.qdc)")],
    name: Annotated[str | None, Form(max_length=255)] = None,
    kind_mapping: Annotated[str | None, Form(description='JSON: code name (or "Parent/Child" path, or GUID) -> '
                                                         'knelpunt | oplossing | variabele')] = None,
    pseudonymise: Annotated[bool | None, Form(description="Pseudonymise the imported texts and memos (default: "
                                                          "the installation's default, on); false only for "
                                                          "exports that are anonymised already")] = None,
) -> dict:
    """Create a new project (you become its admin) from another QDA program's export; reports every deviation."""
    data = await _read_bounded(file, settings.max_qdpx_bytes)
    filename = file.filename or "import.qdpx"
    importer = import_qdc if filename.lower().endswith(".qdc") else import_qdpx
    report = importer(session, data, owner=user, settings=settings, filename=filename, name=name,
                      mapping=_mapping(kind_mapping), pseudonymise=pseudonymise)
    return report.to_dict()


@router.get("/projects/{project_id}/outputs/{kind}", response_class=Response)
def get_output(
    project_id: str, kind: str, session: SessionDep, user: CurrentUser,
    format: Annotated[str | None, Query(description="See GET .../outputs for the formats of each output")] = None,
    by: Annotated[str, Query(pattern="^(transcript|respondent|case)$")] = "transcript",
    code: Annotated[str | None, Query(description="quotations: one code id or knelpunt number")] = None,
    max_gap: Annotated[int | None, Query(ge=0, description="cooccurrence: characters between adjacent "
                                                           "quotations; leave out for overlap only")] = DEFAULT_MAX_GAP,
) -> Response:
    """One research output from the confirmed quotations (tables, case comparison, report, charts)."""
    project = authorise(session, project_id, user, READ_ROLES)
    return _download(render_output(session, project, kind, format, by=by, code=code, max_gap=max_gap))


@router.get("/projects/{project_id}/outputs")
def list_outputs(project_id: str, session: SessionDep, user: CurrentUser) -> dict:
    """Which outputs exist and the formats each comes in (the first is the default)."""
    authorise(session, project_id, user, READ_ROLES)
    return {kind: list(formats) for kind, formats in OUTPUTS.items()}


@router.get("/projects/{project_id}/case-comparison/cell")
def get_comparison_cell(
    project_id: str, session: SessionDep, user: CurrentUser,
    code: Annotated[str, Query(description="The row's code id, e.g. KP03")],
    case: Annotated[str, Query(description="The column's case name")],
) -> list[dict]:
    """The confirmed quotations behind one cell of the case comparison (and the solutions that resolve it)."""
    project = authorise(session, project_id, user, READ_ROLES)
    codings = project_codings(session, project)
    return cell_quotations(codings, case_comparison(codings, only_found=False), code, case)


def _stem(name: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in name).strip()
    return cleaned or "project"
