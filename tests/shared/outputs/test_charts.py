"""Charts as PNG and SVG: real images, reproducible SVG, labelled with the codes that occur."""
from __future__ import annotations

from dataclasses import replace

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


# Markup, an XML comment end, a mathtext pair with an unknown command, and quotes: all are just text.
HOSTILE = '--><script>alert(1)</script><svg onload="alert(2)"> $\\foo$ & "x"'


def test_charts_svg_carries_names_as_text_only(codings):
    """The web screen shows the SVG inline, so names from codebooks and transcripts must not become markup."""
    renamed = {"KP03", "OPL-EEN-AANSPREEKPUNT"}
    codings.codebook = replace(codings.codebook, codes=tuple(
        replace(code, name=HOSTILE) if code.id in renamed else code for code in codings.codebook.codes))
    codings.transcripts[0].case_name = HOSTILE
    for figure in (code_frequency_figure(codings), heatmap_figure(codings, cooccurrence(codings))):
        assert render(figure, "png").startswith(b"\x89PNG")
        root = etree.fromstring(render(figure, "svg"))
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        assert {etree.QName(e).localname for e in elements} & {"script", "foreignObject"} == set()
        assert [name for e in elements for name in e.attrib if name.lower().startswith("on")] == []
        comments = [c.text for c in root.iter(etree.Comment)]
        assert any("alert(1)" in text and "&lt;script&gt;" in text for text in comments), comments
