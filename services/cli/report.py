"""The readable HTML report of an analysis: quotations grouped per code."""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from services.shared.codebook import Codebook


def _environment() -> Environment:
    return Environment(loader=PackageLoader("services.cli", "templates"), autoescape=select_autoescape(["html"]))


def group_by_code(results: list[dict], codebook: Codebook) -> list[dict]:
    """Per code of the codebook (knelpunten by number, then solutions): its quotations, best first."""
    groups = []
    for code in [*codebook.knelpunten(), *codebook.solutions()]:
        items = []
        for result in results:
            for quotation in result["quotations"]:
                for coded in quotation["codes"]:
                    if coded["id"] == code.id:
                        items.append({"quotation": quotation, "score": coded["score"], "transcript": result})
        items.sort(key=lambda item: -item["score"])
        groups.append({"code": code, "quotes": items})
    return groups


def write_html_report(path: Path, header: dict, results: list[dict], codebook: Codebook) -> Path:
    """Render the report to `path` and return it."""
    template = _environment().get_template("report.html")
    html = template.render(header=header, results=results, groups=group_by_code(results, codebook), codebook=codebook)
    path.write_text(html, encoding="utf-8")
    return path
