"""Finding one's way on the review screen in headless Chromium, compared with the API: keyboard
navigation and the uncertainty queue, the code picker's categories and search, filtering by code,
the code manager's counts and quotation list with respondent ids, progress and the project overview."""
from __future__ import annotations

import unicodedata

import httpx
import pytest

from tests.browser.screen_support import _login, _press_and_wait_for_new_current, log_in, open_transcript

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)).lower()


def _labels(page) -> int:  # noqa: ANN001
    return page.locator("#margin .mlabel").count()


def test_review_keyboard_navigation_picker_filter_and_queue(review_site, page) -> None:
    base, project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        document = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()
        codebook = api.get(f"/api/v1/projects/{project_id}/codebook", headers=rita).json()
        queue = api.get(f"/api/v1/projects/{project_id}/review/queue", params={"mode": "uncertainty"},
                        headers=rita).json()
    ordered = [q["id"] for q in sorted(document["quotations"], key=lambda q: (q["start"], q["end"]))]
    open_transcript(page, base, "rita", transcript_id, ordered[0])

    # j / k / End walk the quotations in document order.
    assert _press_and_wait_for_new_current(page, "j", ordered[0]) == ordered[1]
    assert _press_and_wait_for_new_current(page, "k", ordered[1]) == ordered[0]
    assert _press_and_wait_for_new_current(page, "End", ordered[0]) == ordered[-1]
    page.keyboard.press("Home")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=ordered[0])

    # c: the picker groups the knelpunten by category A-E, then the oplossingsrichtingen; search narrows it.
    page.keyboard.press("c")
    page.wait_for_selector("#code-search")
    groups = page.eval_on_selector_all(".picker-group", "(gs) => gs.map((g) => g.textContent)")
    assert groups == [f"{c['id']} · {c['name']}" for c in codebook["categories"]] + ["Oplossingsrichtingen"]
    assert [g[0] for g in groups[:-1]] == ["A", "B", "C", "D", "E"]
    current_codes = next(q for q in document["quotations"] if q["id"] == ordered[0])["codes"]
    offered = page.eval_on_selector_all(".picker-option", "(os) => os.map((o) => o.dataset.code)")
    coded = [c["id"] for c in codebook["codes"] if c["kind"] in ("knelpunt", "oplossing") and c["id"] not in current_codes]
    assert sorted(offered) == sorted(coded)
    # Search for (part of) the name of a knelpunt the picker offers: which codes the model gave the
    # first quotation (and so which are left out) depends on the shipped model.
    by_id = {c["id"]: c for c in codebook["codes"]}
    categories = {c["id"]: f"{c['id']} · {c['name']}" for c in codebook["categories"]}
    needle = _fold(next(by_id[code]["name"] for code in offered if by_id[code]["kind"] == "knelpunt"))[:8]

    def searched(code: str) -> str:
        return _fold(f"{code} {by_id[code].get('number') or ''} {by_id[code]['name']} "
                     f"{categories.get(by_id[code].get('category'), 'Oplossingsrichtingen')}")

    expected = [code for code in offered if needle in searched(code)]
    page.keyboard.type(needle)
    page.wait_for_function("(n) => document.querySelectorAll('.picker-option').length === n", arg=len(expected))
    found = page.eval_on_selector_all(".picker-option", "(os) => os.map((o) => o.dataset.code)")
    assert found == expected and len(found) < len(offered)
    page.keyboard.press("Escape")
    page.wait_for_selector("#code-search", state="detached")

    # f filters the document by the current quotation's first code; f again clears the filter.
    code = current_codes[0]
    with_code = [q for q in document["quotations"] if code in q["codes"] or code in q["rejected_codes"]]
    page.keyboard.press("f")
    page.wait_for_selector(".filter-chip")
    assert _labels(page) == len(with_code) < len(document["quotations"])
    if len(with_code) > 1:
        following = sorted(with_code, key=lambda q: (q["start"], q["end"]))[1]["id"]
        assert _press_and_wait_for_new_current(page, "j", ordered[0]) == following  # j stays inside the filter
    page.keyboard.press("f")
    page.wait_for_selector(".filter-chip", state="detached")
    assert _labels(page) == len(document["quotations"])

    # q: lowest confidence first across the project; confirming moves on to the next one of that queue.
    page.keyboard.press("q")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=queue[0]["quotation_id"])
    assert "lowest confidence" in page.inner_text("#queue-mode")
    page.keyboard.press("a")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=queue[1]["quotation_id"])
    page.keyboard.press("q")
    page.wait_for_function("() => document.getElementById('queue-mode').textContent.includes('document order')")


def test_review_code_manager_progress_and_overview_match_the_api(review_site, page) -> None:
    base, project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        quotations = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()["quotations"]
        for quotation, action in zip(quotations, ("confirm", "confirm", "reject")):
            response = api.post(f"/api/v1/quotations/{quotation['id']}/decisions", headers=rita,
                                json={"action": action, "payload": {}, "based_on_event_id": None})
            assert response.status_code == 201, response.text
        progress = api.get(f"/api/v1/projects/{project_id}/review/progress", headers=rita).json()
        counts = api.get(f"/api/v1/projects/{project_id}/review/codes", headers=rita).json()
        code = quotations[0]["codes"][0]
        listed = api.get(f"/api/v1/projects/{project_id}/review/codes/{code}/quotations",
                         params={"include_rejected": True}, headers=rita).json()

    # The project overview: each transcript's review status and progress.
    log_in(page, base, "rita")
    page.keyboard.press("Enter")
    page.wait_for_selector("#overview tr.row")
    row = next(r for r in progress if r["transcript_id"] == transcript_id)
    shown = page.locator(f"#overview tr[data-transcript='{transcript_id}']")
    assert row["review_status"] == "in_review" and shown.locator(".status-chip").inner_text() == "in review"
    assert shown.locator(".progress-text").inner_text() == f"{row['progress']['reviewed']} / {row['progress']['total']} reviewed"

    # The document's progress, then the code manager (g) with the API's counts for every code.
    page.keyboard.press("Enter")
    page.wait_for_selector("#doc .seg.hl.cur")
    assert page.inner_text("#doc-progress .progress-text") == f"3 / {row['progress']['total']} reviewed"
    page.keyboard.press("g")
    page.wait_for_selector("#code-table tr.row.active")
    table = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#code-table tr.code')].map(
        (tr) => [tr.dataset.code, [...tr.querySelectorAll('td.num:not(.agr)')].map((td) => +td.textContent)]))""")
    assert table == {c["id"]: [c["suggested"], c["open"], c["confirmed"], c["rejected"], c["respondents"]] for c in counts}

    # One code's quotations, quoted with the respondent id; Enter filters the document by that code.
    page.goto(f"{base}/review/#/p/{project_id}/codes/{code}")
    page.wait_for_selector(f"#code-table tr.row.active[data-code='{code}']")
    page.wait_for_selector(f"#code-quotations a[href$='{quotations[0]['id']}']")
    cites = page.eval_on_selector_all("#code-quotations li.quote .cite", "(cs) => cs.map((c) => c.textContent)")
    assert cites == [f" ({q['respondent_id'] or q['filename']})" for q in listed] and listed[0]["respondent_id"]
    outcomes = page.eval_on_selector_all("#code-quotations li.quote .badge", "(bs) => bs.map((b) => b.textContent)")
    assert outcomes == [q["outcome"] for q in listed]
    page.keyboard.press("Enter")
    page.wait_for_selector(".filter-chip")
    assert _labels(page) == len([q for q in listed if q["transcript_id"] == transcript_id])
    page.keyboard.press("o")
    page.wait_for_selector("#overview tr.row")
