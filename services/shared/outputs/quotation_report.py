"""Quotation report: per code, the confirmed quotations ready to cite as “…” (Int X2), in HTML and .docx."""
from __future__ import annotations

import io
from dataclasses import dataclass

import docx
from docx.shared import Pt, RGBColor
from jinja2 import Environment, PackageLoader, select_autoescape

from services.shared.codebook import Code
from services.shared.outputs.data import NO_CASE, ProjectCodings
from services.shared.quotations import resolve_code_filter


@dataclass
class ReportItem:
    """One quotation under one code."""

    quotation_id: str
    text: str
    respondent: str
    case: str | None
    stance: str | None
    citation: str


@dataclass
class ReportSection:
    """A code and its quotations, in transcript and text order."""

    code: Code
    items: list[ReportItem]


def citation(text: str, respondent: str) -> str:
    """“text” (respondent), with inner white space collapsed, as quotes appear in the thesis."""
    return f"“{' '.join(text.split())}” ({respondent})"


def report_sections(codings: ProjectCodings, code: str | None = None, *, include_empty: bool = False
                    ) -> list[ReportSection]:
    """Per code (knelpunten by number, then solutions, then variables): its confirmed quotations."""
    codebook = codings.codebook
    wanted = resolve_code_filter(codebook, code)
    sections = []
    for item in [*codebook.knelpunten(), *codebook.solutions(), *codebook.variables()]:
        if wanted is not None and item.id != wanted:
            continue
        items = []
        for quotation in codings.confirmed():
            if item.id not in quotation.codes:
                continue
            respondent = codings.respondent(quotation.transcript_id)
            case = codings.case(quotation.transcript_id)
            items.append(ReportItem(quotation.quotation_id, quotation.text, respondent,
                                    None if case == NO_CASE else case, quotation.stance,
                                    citation(quotation.text, respondent)))
        if items or include_empty or wanted is not None:
            sections.append(ReportSection(item, items))
    return sections


def to_html(codings: ProjectCodings, sections: list[ReportSection]) -> str:
    """The report as one HTML page."""
    environment = Environment(loader=PackageLoader("services.shared.outputs", "templates"),
                              autoescape=select_autoescape(["html"]))
    return environment.get_template("quotation_report.html").render(
        project=codings.project, sections=sections, total=sum(len(s.items) for s in sections))


def to_docx(codings: ProjectCodings, sections: list[ReportSection]) -> bytes:
    """The report as a Word document: a heading per code, one paragraph per citation."""
    document = docx.Document()
    document.core_properties.title = f"Citaten per code – {codings.project.name}"
    document.add_heading("Citaten per code", level=0)
    document.add_paragraph(f"{codings.project.name} · alleen door beoordelaars bevestigde citaten")
    for section in sections:
        number = f"{section.code.number}. " if section.code.number else ""
        heading = document.add_heading(f"{number}{section.code.name} ({section.code.id})", level=1)
        if section.code.color:
            rgb = section.code.color.lstrip("#")
            for run in heading.runs:
                run.font.color.rgb = RGBColor.from_string(rgb.upper())
        if not section.items:
            document.add_paragraph("Geen bevestigde citaten.")
        for item in section.items:
            paragraph = document.add_paragraph(style="Quote" if "Quote" in document.styles else None)
            paragraph.add_run(item.citation)
            if item.case:
                note = paragraph.add_run(f" – {item.case}" + (f", {item.stance}" if item.stance else ""))
                note.font.size = Pt(8)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
