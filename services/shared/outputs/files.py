"""Every research output as a downloadable file: one entry point for the API and the CLI."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.shared.errors import InputError
from services.shared.outputs import OUTPUTS
from services.shared.outputs import case_comparison as comparison_module
from services.shared.outputs import charts, code_document, cooccurrence, quotation_report
from services.shared.outputs.data import project_codings
from services.shared.tables import Project

JSON = "application/json"
CSV = "text/csv; charset=utf-8"
HTML = "text/html; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@dataclass(frozen=True)
class OutputFile:
    """Bytes to download, with their media type and a file name."""

    content: bytes
    media_type: str
    filename: str


def render_output(session: Session, project: Project, kind: str, fmt: str | None = None, *, by: str = "transcript",
                  code: str | None = None, max_gap: int | None = cooccurrence.DEFAULT_MAX_GAP) -> OutputFile:
    """Build one output of a project from its confirmed quotations."""
    if kind not in OUTPUTS:
        raise InputError(f"Unknown output {kind!r}; choose one of {', '.join(OUTPUTS)}.", output=kind)
    fmt = fmt or OUTPUTS[kind][0]
    if fmt not in OUTPUTS[kind]:
        raise InputError(f"The output {kind!r} comes as {', '.join(OUTPUTS[kind])}, not {fmt!r}.", format=fmt)
    if max_gap is not None and max_gap < 0:
        raise InputError("max_gap must be 0 or more characters (leave it out to count only overlapping quotations).")
    codings = project_codings(session, project)
    stem = f"{_slug(project.name)}-{kind}"
    if kind == "code-document":
        if fmt == "xlsx":
            return OutputFile(code_document.to_xlsx(codings), XLSX, f"{stem}.xlsx")
        table = code_document.code_document_table(codings, by)
        if fmt == "csv":
            return OutputFile(code_document.to_csv(table), CSV, f"{stem}-{by}.csv")
        return _json(table.to_dict(), stem)
    if kind == "case-comparison":
        result = comparison_module.case_comparison(codings)
        if fmt == "html":
            return OutputFile(comparison_module.to_html(result, codings).encode("utf-8"), HTML, f"{stem}.html")
        if fmt == "csv":
            return OutputFile(comparison_module.to_csv(result), CSV, f"{stem}.csv")
        return _json(result.to_dict(), stem)
    if kind == "quotations":
        sections = quotation_report.report_sections(codings, code)
        if fmt == "docx":
            return OutputFile(quotation_report.to_docx(codings, sections), DOCX, f"{stem}.docx")
        if fmt == "json":
            return _json([{"code_id": s.code.id, "name": s.code.name, "quotations": [vars(i) for i in s.items]}
                          for s in sections], stem)
        return OutputFile(quotation_report.to_html(codings, sections).encode("utf-8"), HTML, f"{stem}.html")
    result = cooccurrence.cooccurrence(codings, max_gap)
    if kind == "cooccurrence":
        if fmt == "csv":
            return OutputFile(cooccurrence.to_csv(result), CSV, f"{stem}.csv")
        return _json({**result.to_dict(), "solutions": cooccurrence.solution_matrix(codings, result)}, stem)
    figure = (charts.code_frequency_figure(codings) if kind == "code-frequencies"
              else charts.heatmap_figure(codings, result))
    return OutputFile(charts.render(figure, fmt), charts.FORMATS[fmt], f"{stem}.{fmt}")


def _json(data: object, stem: str) -> OutputFile:
    return OutputFile(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), JSON, f"{stem}.json")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "project"
