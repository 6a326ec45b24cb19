"""Case comparison in the shape of the thesis' table 8: per knelpunt and per case, how it appears.

A cell is derived from the confirmed quotations of that code in that case, by their stance:
- knelpunt (-): mostly knelpunt stances (a knelpunt code without a stance counts as one);
- resolved (- [1]): a knelpunt for which the case also names a solution (a quotation with stance
  "oplossing" on the code, or one coded with a solution whose `addresses` include it);
- succesfactor (+): mostly succesfactor stances;
- mixed (+/-): both, with the smaller side at least MIXED_MIN_SHARE of the two;
- neutral (o): only neutral stances.
Every cell keeps the ids of the quotations behind it, so they are one click away.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from jinja2 import Environment, PackageLoader, select_autoescape

from services.shared.codebook import Code
from services.shared.outputs.data import CodedQuotation, ProjectCodings

# Below this share of the minority side (of knelpunt + succesfactor stances) the majority decides.
MIXED_MIN_SHARE = 1 / 3
SYMBOLS = {"knelpunt": "-", "resolved": "- [1]", "succesfactor": "+", "mixed": "+/-", "neutral": "o"}
LABELS = {"knelpunt": "knelpunt", "resolved": "opgelost knelpunt", "succesfactor": "succesfactor",
          "mixed": "wisselend", "neutral": "neutraal"}


@dataclass
class Cell:
    """One code in one case: its status, the stance counts and the quotations behind them."""

    status: str | None
    counts: dict[str, int] = field(default_factory=dict)
    quotation_ids: list[str] = field(default_factory=list)
    solution_ids: list[str] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        """The thesis' notation: -, - [1], +, +/-, o (empty when the code does not appear)."""
        return SYMBOLS.get(self.status, "") if self.status else ""


@dataclass
class ComparisonRow:
    """A code (knelpunt or literature variable) with one cell per case."""

    code_id: str
    name: str
    number: int | None
    group: str
    cells: dict[str, Cell]


@dataclass
class CaseComparison:
    """Cases in order and rows grouped like table 8 (category, then variable group)."""

    cases: list[str]
    rows: list[ComparisonRow]

    def groups(self) -> list[tuple[str, list[ComparisonRow]]]:
        """Rows per group, in order."""
        grouped: dict[str, list[ComparisonRow]] = {}
        for row in self.rows:
            grouped.setdefault(row.group, []).append(row)
        return list(grouped.items())

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"cases": self.cases, "symbols": SYMBOLS, "labels": LABELS, "rows": [
            {"code_id": r.code_id, "name": r.name, "number": r.number, "group": r.group,
             "cells": {case: {"status": c.status, "symbol": c.symbol, "counts": c.counts,
                              "quotation_ids": c.quotation_ids, "solution_ids": c.solution_ids}
                       for case, c in r.cells.items()}} for r in self.rows]}


def cell_status(counts: dict[str, int], solutions: int, mixed_min_share: float = MIXED_MIN_SHARE) -> str | None:
    """Derive a cell's status from stance counts and the number of solution quotations (rules above)."""
    negative, positive = counts.get("knelpunt", 0), counts.get("succesfactor", 0)
    solved = solutions + counts.get("oplossing", 0)
    if negative and positive and min(negative, positive) / (negative + positive) >= mixed_min_share:
        return "mixed"
    if negative > positive:
        return "resolved" if solved else "knelpunt"
    if positive > negative:
        return "succesfactor"
    if solved:
        return "resolved"
    return "neutral" if counts.get("neutraal", 0) else None


def case_comparison(codings: ProjectCodings, *, only_found: bool = True,
                    mixed_min_share: float = MIXED_MIN_SHARE) -> CaseComparison:
    """Build the comparison from confirmed quotations; rows without any cell are left out when only_found."""
    codebook = codings.codebook
    cases = codings.cases()
    confirmed = codings.confirmed()
    solvers: dict[str, list[str]] = {}
    for solution in codebook.solutions():
        for knelpunt in solution.addresses:
            solvers.setdefault(knelpunt, []).append(solution.id)
    categories = {c.id: f"{c.id}. {c.name}" for c in codebook.categories}
    rows = []
    for code in [*codebook.knelpunten(), *codebook.variables()]:
        group = categories.get(code.category or "", "") if code.kind == "knelpunt" else (code.group or "Variabelen")
        cells = {case: _cell(code, case, confirmed, codings, solvers.get(code.id, []), mixed_min_share)
                 for case in cases}
        if only_found and not any(cell.status for cell in cells.values()):
            continue
        rows.append(ComparisonRow(code.id, code.name, code.number, group, cells))
    return CaseComparison(cases=cases, rows=rows)


def _cell(code: Code, case: str, confirmed: list[CodedQuotation], codings: ProjectCodings, solution_codes: list[str],
          mixed_min_share: float) -> Cell:
    in_case = [q for q in confirmed if codings.case(q.transcript_id) == case]
    behind = [q for q in in_case if code.id in q.codes]
    counts: dict[str, int] = {}
    for quotation in behind:
        # A knelpunt code without a stance says "this is a knelpunt"; a variable without one says nothing.
        stance = quotation.stance or ("knelpunt" if code.kind == "knelpunt" else "neutraal")
        counts[stance] = counts.get(stance, 0) + 1
    solutions = [q for q in in_case if set(q.codes) & set(solution_codes)]
    status = cell_status(counts, len(solutions), mixed_min_share) if behind else None
    return Cell(status=status, counts=counts, quotation_ids=[q.quotation_id for q in behind],
                solution_ids=[q.quotation_id for q in solutions] if behind else [])


def cell_quotations(codings: ProjectCodings, comparison: CaseComparison, code_id: str, case: str) -> list[dict]:
    """The quotations behind one cell (and the solutions that make it 'resolved'), ready to show."""
    row = next((r for r in comparison.rows if r.code_id == code_id), None)
    cell = row.cells.get(case) if row else None
    if cell is None:
        return []
    by_id = {q.quotation_id: q for q in codings.confirmed()}
    items = []
    roles = [*((q, "code") for q in cell.quotation_ids), *((q, "solution") for q in cell.solution_ids)]
    for quotation_id, role in roles:
        quotation = by_id[quotation_id]
        items.append({"quotation_id": quotation_id, "role": role, "transcript_id": quotation.transcript_id,
                      "respondent": codings.respondent(quotation.transcript_id), "stance": quotation.stance,
                      "codes": quotation.codes, "start": quotation.start, "end": quotation.end,
                      "text": quotation.text})
    return items


def to_csv(comparison: CaseComparison) -> bytes:
    """The table with the thesis' symbols, one row per code (UTF-8 with BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["groep", "code", "knelpunt / succesfactor", *comparison.cases])
    for row in comparison.rows:
        writer.writerow([row.group, row.code_id, row.name, *(row.cells[c].symbol for c in comparison.cases)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_html(comparison: CaseComparison, codings: ProjectCodings) -> str:
    """A page with the table; each cell links to the quotations behind it further down the page."""
    environment = Environment(loader=PackageLoader("services.shared.outputs", "templates"),
                              autoescape=select_autoescape(["html"]))
    details = {(row.code_id, case): cell_quotations(codings, comparison, row.code_id, case)
               for row in comparison.rows for case in comparison.cases if row.cells[case].status}
    return environment.get_template("case_comparison.html").render(
        project=codings.project, comparison=comparison, details=details, labels=LABELS, symbols=SYMBOLS)
