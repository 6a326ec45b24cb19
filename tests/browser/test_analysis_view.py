"""The analysis view in a real headless Chromium against a real uvicorn server: the empty state before any
review, then, after review decisions through the API, the case comparison (matching the API's JSON), the
quotations behind a cell, the charts drawn inline, a download with the token, and nothing for outsiders."""
from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from services.api.app import create_app
from tests.api.helpers import ADMIN_PASSWORD, prepare_database
from tests.browser.live_server import LiveServer
from tests.browser.screen_support import CHROMIUM, _login, _require, _save_screenshot, log_in
from tests.shared.refi.builders import TRANSCRIPT_X1, TRANSCRIPT_Y1, span

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# (transcript, fragment, codes, stance, how): a model suggestion the reviewer confirms or rejects, or a
# quotation the reviewer makes. Gives, per case, a knelpunt, a mixed cell and a resolved one.
REVIEW = [
    ("x1", "we zitten met de corporaties aan véél verschillende tafels 😩 en daar wordt hetzelfde besproken.",
     ["KP03"], "knelpunt", "confirm"),
    ("x1", "De afdeling wonen en de afdeling zorg weten niet van elkaar waar ze mee bezig zijn.",
     ["KP12"], "knelpunt", "create"),
    ("x1", "Eén aanspreekpunt helpt al, dat is echt een succes 👍.", ["KP12", "OPL-EEN-AANSPREEKPUNT"],
     "succesfactor", "create"),
    ("y1", "Bestuurlijk commitment is er nauwelijks; de wethouder komt nooit naar het overleg.", ["KP14"],
     "knelpunt", "confirm"),
    ("y1", "De financiering is verkokerd, met aparte potjes voor wonen en zorg.", ["KP19"], "knelpunt", "create"),
    ("y1", "Een gezamenlijk budget loste dat op.", ["KP19"], "oplossing", "confirm"),
    ("y1", "Is de wethouder betrokken?", ["KP13"], "neutraal", "reject"),
]


@pytest.fixture
def analysis_site(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """A live server with two cases' transcripts and the model's suggestions on them, nothing reviewed yet."""
    _require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings, ("admin", True), ("rita", False), ("otto", False))
    project_id, transcripts, suggested = _seed(settings)
    server = LiveServer(create_app(settings)).start()
    try:
        yield server.url, project_id, transcripts, suggested
    finally:
        server.stop()


def _seed(settings) -> tuple[str, dict[str, str], dict[str, str]]:  # noqa: ANN001
    """Project with rita as reviewer; the model's suggestions are stored as the worker stores them."""
    from sqlalchemy import select

    from services.shared.codebook import load_codebook
    from services.shared.db import Database
    from services.shared.projects import Role, create_project, set_member
    from services.shared.tables import User
    from tests.shared.refi.builders import add_transcript, model_quotation

    database = Database(settings)
    with database.transaction() as session:
        admin, rita = (session.scalar(select(User).where(User.username == name)) for name in ("admin", "rita"))
        project = create_project(session, name="LZW analyse", owner=admin,
                                 codebook=load_codebook(settings.codebook_path), pseudonymise=False)
        set_member(session, project, rita, Role.reviewer)
        transcripts = {
            "x1": add_transcript(session, project, settings, admin, "int_x1.txt", TRANSCRIPT_X1, "Int X1", "Casus X"),
            "y1": add_transcript(session, project, settings, admin, "int_y1.txt", TRANSCRIPT_Y1, "Int Y1", "Casus Y"),
        }
        suggested = {fragment: model_quotation(session, transcripts[key], fragment, {codes[0]: 0.8}, stance).id
                     for key, fragment, codes, stance, how in REVIEW if how != "create"}
        ids = project.id, {key: t.id for key, t in transcripts.items()}, suggested
    database.dispose()
    return ids


def _review_through_the_api(base: str, transcripts: dict[str, str], suggested: dict[str, str]) -> None:
    """rita's decisions, as the review screen posts them."""
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        texts = {key: api.get(f"/api/v1/transcripts/{tid}/review", headers=rita).json()["text"]
                 for key, tid in transcripts.items()}
        for key, fragment, codes, stance, how in REVIEW:
            if how == "create":
                start, end = span(texts[key], fragment)
                response = api.post(f"/api/v1/transcripts/{transcripts[key]}/review/quotations", headers=rita,
                                    json={"start": start, "end": end, "codes": codes, "stance": stance})
            else:
                response = api.post(f"/api/v1/quotations/{suggested[fragment]}/decisions", headers=rita,
                                    json={"action": how, "payload": {}, "based_on_event_id": None})
            assert response.status_code == 201, response.text


def _api_cell(base: str, project_id: str, code: str, case: str) -> list[dict]:
    """The quotations behind one cell, from the API."""
    with httpx.Client(base_url=base, timeout=60) as api:
        response = api.get(f"/api/v1/projects/{project_id}/case-comparison/cell", params={"code": code, "case": case},
                           headers=_login(api, "rita"))
    assert response.status_code == 200, response.text
    return response.json()


def _table_in_page(page) -> dict:  # noqa: ANN001
    """{code: {case: symbol}} of the non-empty cells shown, and the column heads."""
    return page.evaluate("""() => ({
        cases: [...document.querySelectorAll('#case-comparison thead th.case')].map(th => th.textContent),
        cells: [...document.querySelectorAll('#case-comparison button.cmp-cell')].reduce((table, b) => {
            (table[b.dataset.code] ||= {})[b.dataset.case] = b.textContent;
            return table;
        }, {}),
    })""")


def test_analysis_view_case_comparison_charts_and_downloads(analysis_site, page) -> None:
    base, project_id, transcripts, suggested = analysis_site

    # Before any review: the view opens from the overview and says what to do.
    log_in(page, base, "rita")
    page.wait_for_selector("ul.rows li.row.active")
    page.keyboard.press("Enter")
    page.wait_for_selector("#overview")
    page.keyboard.press("a")
    page.wait_for_selector("#analysis-empty")
    assert "No confirmed quotations yet" in page.inner_text("#analysis-empty")
    assert "Review" in page.inner_text("#analysis-empty")
    assert page.locator("#case-comparison").count() == 0

    _review_through_the_api(base, transcripts, suggested)
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        outputs = f"/api/v1/projects/{project_id}/outputs"
        expected = api.get(f"{outputs}/case-comparison", params={"format": "json"}, headers=rita).json()
        frequencies = api.get(f"{outputs}/code-document", params={"format": "json", "by": "case"}, headers=rita).json()
        codebook = api.get(f"/api/v1/projects/{project_id}/codebook", headers=rita).json()
    solution_name = next(c["name"] for c in codebook["codes"] if c["id"] == "OPL-EEN-AANSPREEKPUNT")

    # The table shows exactly the API's cells, with the thesis' symbols.
    page.reload()
    page.wait_for_selector("#case-comparison button.cmp-cell")
    shown = _table_in_page(page)
    assert shown["cases"] == expected["cases"] == ["Casus X", "Casus Y"]
    assert shown["cells"] == {row["code_id"]: {case: cell["symbol"] for case, cell in row["cells"].items()
                                               if cell["status"]} for row in expected["rows"]}
    assert shown["cells"]["KP12"] == {"Casus X": "+/-"} and shown["cells"]["KP19"] == {"Casus Y": "- [1]"}
    assert "KP13" not in shown["cells"]  # the rejected suggestion counts nowhere
    legend = page.inner_text("#comparison-legend")
    assert all(expected["labels"][status] in legend for status in expected["symbols"])

    # One click on a cell: the quotations behind it, ready to cite, and the solution that resolves it.
    page.click("#case-comparison button[data-code='KP19'][data-case='Casus Y']")
    page.wait_for_selector("#cell-quotes li.quote")
    cell_api = _api_cell(base, project_id, "KP19", "Casus Y")
    listed = page.eval_on_selector_all("#cell-quotations li.quote", "items => items.map(li => li.dataset.quotation)")
    assert listed == [item["quotation_id"] for item in cell_api]
    quotes = page.inner_text("#cell-quotes")
    assert "“De financiering is verkokerd, met aparte potjes voor wonen en zorg.” (Int Y1)" in quotes
    assert "“Een gezamenlijk budget loste dat op.” (Int Y1)" in quotes
    assert quotes.count("(Int Y1)") == 2 and page.locator("#cell-solutions").count() == 0
    # With the keyboard to the mixed cell of KP12, which the codebook's solution "één aanspreekpunt" addresses.
    page.keyboard.press("k")
    page.wait_for_selector("#case-comparison button.cmp-cell.picked[data-code='KP14']")
    page.keyboard.press("k")
    page.wait_for_selector("#case-comparison button.cmp-cell.picked[data-code='KP12']")
    page.wait_for_selector("#cell-solutions li.quote")
    assert "Eén aanspreekpunt helpt al" in page.inner_text("#cell-solutions")
    assert "(Int X1)" in page.inner_text("#cell-quotes")
    cell_api = _api_cell(base, project_id, "KP12", "Casus X")
    listed = page.eval_on_selector_all("#cell-quotations li.quote", "items => items.map(li => li.dataset.quotation)")
    assert listed == [item["quotation_id"] for item in cell_api]

    # The charts are drawn inline from the SVG, labelled with the codes that occur; nothing in them can run.
    for chart in ("code-frequencies", "knelpunt-solutions"):
        page.wait_for_selector(f"#chart-{chart} svg path")
    svg = page.inner_html("#chart-code-frequencies")
    occurring = [row for row in frequencies["rows"] if row["kind"] == "knelpunt" and row["total"]]
    assert {row["code_id"] for row in occurring} == {"KP03", "KP12", "KP14", "KP19"}
    for row in occurring:
        assert f"{row['number']}. {row['name']}" in svg
    assert "Casus X" in svg and "Casus Y" in svg
    assert solution_name in page.inner_html("#chart-knelpunt-solutions")
    assert page.locator("#analysis script, #analysis foreignObject").count() == 0
    _save_screenshot(page, "analysis.png")

    # A download sends the token: the spreadsheet arrives as an .xlsx (a zip) with the three sheets.
    with page.expect_download() as caught:
        page.click("#download-code-document-xlsx")
    saved = caught.value
    content = Path(saved.path()).read_bytes()
    assert saved.suggested_filename == "lzw-analyse-code-document.xlsx" and content.startswith(b"PK")
    assert load_workbook(io.BytesIO(content)).sheetnames == ["Per transcript", "Per respondent", "Per casus"]

    # A quotation opens in its transcript's document view; back returns to the same cell.
    first = cell_api[0]
    page.click(f"#cell-quotes a[href$='{first['quotation_id']}']")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=first["quotation_id"])
    page.wait_for_selector("#doc .seg.hl.cur")
    assert " ".join(first["text"].split()) in " ".join(page.inner_text("#side").split())
    page.go_back()
    page.wait_for_selector("#case-comparison button.cmp-cell.picked[data-code='KP12']")

    # Someone who is not a member of the project gets nothing.
    page.click("#who button.link")
    page.wait_for_selector("#login-form")
    page.fill("#username", "otto")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("ul.rows, .page p")
    page.goto(f"{base}/review/#/p/{project_id}/analysis")
    page.wait_for_selector("text=Cannot show this")
    assert page.locator("#case-comparison, #chart-code-frequencies, #analysis-downloads").count() == 0


HOSTILE_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"
     onload="window.hit=1">
  <style>body { display: none }</style>
  <script>window.hit = 2</script>
  <defs><clipPath id="c1"><rect width="5" height="5"/></clipPath></defs>
  <g clip-path="url(#c1)" onclick="window.hit=3" style="fill: url(https://example.org/x.svg#p)">
    <path d="M0 0L5 5" /><use xlink:href="#c1"/><use xlink:href="https://example.org/x.svg#a"/>
    <a xlink:href="javascript:window.hit=4"><text>link</text></a>
    <foreignObject><div xmlns="http://www.w3.org/1999/xhtml">html</div></foreignObject>
    <image xlink:href="data:image/png;base64,iVBORw0KGgo="/><image href="https://example.org/track.png"/>
    <set attributeName="onmouseover" to="window.hit=5"/>
  </g>
</svg>"""


@pytest.fixture
def bare_site(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """A live server for the screen's own modules; no data."""
    _require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    prepare_database(settings)
    server = LiveServer(create_app(settings)).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_analysis_view_inline_svg_keeps_only_drawing(bare_site, page) -> None:
    page.goto(f"{bare_site}/review/")
    page.wait_for_selector("#login-form")
    kept = page.evaluate("""async (text) => {
        const { safeSvg } = await import('./js/files.js');
        const svg = document.body.appendChild(safeSvg(text, 'chart-'));
        await new Promise((resolve) => setTimeout(resolve, 100));
        const all = [svg, ...svg.querySelectorAll('*')];
        return {
            tags: [...new Set(all.map((e) => e.localName))].sort(),
            attributes: all.flatMap((e) => [...e.attributes].map(
                (a) => `${e.localName} ${a.name}=${a.value.slice(0, 30)}`)),
            hit: window.hit || null, bodyShown: getComputedStyle(document.body).display !== 'none',
        };
    }""", HOSTILE_SVG)
    assert kept["tags"] == ["clipPath", "defs", "g", "image", "path", "rect", "svg", "use"]
    assert kept["hit"] is None and kept["bodyShown"]
    attributes = "\n".join(kept["attributes"])
    assert "on" not in {name.split()[1][:2] for name in kept["attributes"]}
    assert "example.org" not in attributes and "javascript" not in attributes
    assert "clipPath id=chart-c1" in attributes and "g clip-path=url(#chart-c1)" in attributes
    assert "use xlink:href=#chart-c1" in attributes and "image xlink:href=data:image/png;base64," in attributes
