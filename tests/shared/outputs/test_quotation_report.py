"""Quotation report: confirmed quotations per code, ready to cite, as HTML and .docx."""
from __future__ import annotations

import io

import docx

from services.shared.outputs.quotation_report import citation, report_sections, to_docx, to_html


def test_quotation_report_citation_format():
    assert citation("Nou,  dat  is\nlastig", "Int X2") == "“Nou, dat is lastig” (Int X2)"


def test_quotation_report_sections_per_code(codings):
    sections = {s.code.id: [i.citation for i in s.items] for s in report_sections(codings)}
    assert list(sections)[:4] == ["KP03", "KP12", "KP14", "KP19"]
    assert sections["KP14"] == ["“Bestuurlijk commitment is er nauwelijks; de wethouder komt nooit naar het overleg.” "
                                "(Int Y1)", "“de wethouder komt nooit naar het overleg” (Int Y1)"]
    assert "Een gezamenlijk budget loste dat op." not in str(sections)  # unreviewed
    assert [s.code.id for s in report_sections(codings, "12")] == ["KP12"]


def test_quotation_report_html_and_docx(codings):
    sections = report_sections(codings)
    html = to_html(codings, sections)
    assert "“Eén aanspreekpunt helpt al, dat is echt een succes 👍.” (Int X1)" in html
    document = docx.Document(io.BytesIO(to_docx(codings, sections)))
    paragraphs = [p.text for p in document.paragraphs]
    assert "12. Afstemming (KP12)" in paragraphs
    assert any(p.startswith("“De financiering is verkokerd") and "(Int Y1)" in p for p in paragraphs)
