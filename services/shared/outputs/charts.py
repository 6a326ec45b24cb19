"""Charts for people who would rather look than read: code frequencies per case, knelpunt x solution heat map.

Figures are built with matplotlib's object API (no pyplot, no global state) and rendered by the
Agg/SVG canvases; SVG output carries no date and a fixed id salt, so it is reproducible.
"""
from __future__ import annotations

import io

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from services.shared.errors import InputError
from services.shared.outputs.code_document import code_document_table
from services.shared.outputs.cooccurrence import CoOccurrence, solution_matrix
from services.shared.outputs.data import ProjectCodings

FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
CHARTS = ("code-frequencies", "knelpunt-solutions")
CASE_COLOURS = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F")
PNG_DPI = 120


def code_frequency_figure(codings: ProjectCodings) -> Figure:
    """Horizontal grouped bars: confirmed quotations per code (that occurs) per case."""
    table = code_document_table(codings, "case", include_empty=False)
    rows = [row for row in table.rows if row.kind == "knelpunt"] or table.rows
    height = max(2.5, 0.35 * len(rows) * max(1, len(table.columns)) ** 0.5 + 1.5)
    figure = Figure(figsize=(9, height))
    axes = figure.add_subplot()
    if not rows:
        axes.text(0.5, 0.5, "Nog geen bevestigde citaten", ha="center", va="center")
        axes.set_axis_off()
        return figure
    labels = [_literal(f"{row.number}. {row.name}" if row.number else row.name) for row in rows]
    width = 0.8 / max(1, len(table.columns))
    for index, case in enumerate(table.columns):
        positions = [y + index * width for y in range(len(rows))]
        axes.barh(positions, [row.counts[index] for row in rows], height=width, label=_literal(case),
                  color=CASE_COLOURS[index % len(CASE_COLOURS)])
    axes.set_yticks([y + 0.4 - width / 2 for y in range(len(rows))], labels)
    axes.invert_yaxis()
    axes.set_xlabel("bevestigde citaten")
    axes.set_title("Codefrequenties per casus")
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    return figure


def heatmap_figure(codings: ProjectCodings, result: CoOccurrence) -> Figure:
    """Solutions (rows) x knelpunten (columns) coloured by how often they occur together; ● = linked in the codebook."""
    matrix = solution_matrix(codings, result)
    knelpunten, solutions, cells = matrix["knelpunten"], matrix["solutions"], matrix["cells"]
    figure = Figure(figsize=(max(5, 0.55 * len(knelpunten) + 4), max(3, 0.4 * len(solutions) + 2)))
    axes = figure.add_subplot()
    if not knelpunten or not solutions:
        axes.text(0.5, 0.5, "Nog geen knelpunten en oplossingen samen gecodeerd", ha="center", va="center")
        axes.set_axis_off()
        return figure
    values = [[cell["n"] for cell in row] for row in cells]
    image = axes.imshow(values, cmap="YlOrRd", aspect="auto", vmin=0)
    axes.set_xticks(range(len(knelpunten)), [str(k["number"]) for k in knelpunten])
    axes.set_yticks(range(len(solutions)), [_literal(s["name"]) for s in solutions], fontsize="small")
    axes.set_xlabel("knelpunt (nummer)")
    highest = max(max(row) for row in values) or 1
    for y, row in enumerate(cells):
        for x, cell in enumerate(row):
            label = str(cell["n"]) if cell["n"] else ""
            if cell["addressed_in_codebook"]:
                label += " ●"  # the codebook says this solution addresses this knelpunt
            if label:
                colour = "white" if cell["n"] > 0.6 * highest else "black"
                axes.text(x, y, label.strip(), ha="center", va="center", fontsize="small", color=colour)
    figure.colorbar(image, ax=axes, label="samen gecodeerd (episodes)")
    axes.set_title("Oplossingen bij knelpunten")
    figure.tight_layout()
    return figure


def _literal(text: str) -> str:
    """Names from codebooks and transcripts as written: a pair of $ would otherwise be parsed as mathtext."""
    return text.replace("$", r"\$")


def render(figure: Figure, fmt: str) -> bytes:
    """PNG or SVG bytes of a figure."""
    if fmt not in FORMATS:
        raise InputError(f"Charts come as {' or '.join(FORMATS)}.", format=fmt)
    buffer = io.BytesIO()
    if fmt == "png":
        FigureCanvasAgg(figure)
        figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Software": None})
    else:
        FigureCanvasSVG(figure)
        with rc_context({"svg.hashsalt": "qcoder"}):  # stable element ids: the same data gives the same SVG
            figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()
