"""Charts as PNG and SVG: real images, reproducible SVG, labelled with the codes that occur."""
from __future__ import annotations

import pytest
from lxml import etree

from services.shared.errors import InputError
from services.shared.outputs.charts import code_frequency_figure, heatmap_figure, render
from services.shared.outputs.cooccurrence import cooccurrence


def test_charts_png_and_svg(codings):
    figure = code_frequency_figure(codings)
    png = render(figure, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
    svg = render(figure, "svg")
    root = etree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert render(code_frequency_figure(codings), "svg") == svg


def test_charts_label_codes_and_cases(codings):
    svg = render(code_frequency_figure(codings), "svg").decode()
    for label in ("Afstemming", "Betrokkenheid", "Casus X", "Casus Y"):
        assert f"<!-- {label}" in svg or label in svg
    heat = render(heatmap_figure(codings, cooccurrence(codings)), "svg").decode()
    assert "aanspreekpunt" in heat
    with pytest.raises(InputError):
        render(code_frequency_figure(codings), "gif")
