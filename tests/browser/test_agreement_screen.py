"""Agreement in the code manager, in headless Chromium: two reviewers decide differently on the
transcript the real pipeline processed; every kappa, alpha, F1 and n the screen shows (per code and
overall) equals the API's figure, for each comparison the selector and the keyboard reach."""
from __future__ import annotations

import httpx
import pytest

from tests.browser.screen_support import _login, _save_screenshot, as_displayed, log_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# What each reviewer does with the model's first quotations, in text order (None: leaves it open).
RITA = ["confirm", "reject", "confirm", "relabel", "confirm", "confirm", "reject", None]
ROB = ["confirm", "confirm", "reject", "confirm", "confirm", "reject", "reject", "confirm"]


def _review(api: httpx.Client, headers: dict, transcript_id: str, actions: list[str | None]) -> None:
    """Decide on the first quotations through the API; a relabel moves the first code to KP10 (or KP11)."""
    quotations = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=headers).json()["quotations"]
    for quotation, action in zip(quotations, actions):
        if action is None:
            continue
        payload = {}
        if action == "relabel":
            payload = {"from": quotation["codes"][0], "to": "KP10" if "KP10" not in quotation["codes"] else "KP11"}
        response = api.post(f"/api/v1/quotations/{quotation['id']}/decisions", headers=headers,
                            json={"action": action, "payload": payload, "based_on_event_id": quotation["last_event_id"]})
        assert response.status_code == 201, response.text


def _shown_figures(page) -> tuple[dict, dict]:  # noqa: ANN001
    """{code: {stat: text}} of the code rows and {stat: text} of the overall row, as displayed."""
    per_code = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#code-table tr.code')].map(
        (tr) => [tr.dataset.code, Object.fromEntries([...tr.querySelectorAll('td[data-stat]')].map(
            (td) => [td.dataset.stat, td.textContent]))]))""")
    overall = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#agreement-overall td[data-stat]')]
        .map((td) => [td.dataset.stat, td.textContent]))""")
    return per_code, overall


def _expect_api_figures(page, api: httpx.Client, headers: dict, project_id: str, first, second) -> dict:  # noqa: ANN001
    """Wait for the comparison to be shown and compare every figure with the API's answer."""
    page.wait_for_selector(f"#code-table[data-comparison='{first}:{second}']")
    body = api.get(f"/api/v1/projects/{project_id}/agreement", params={"first": first, "second": second},
                   headers=headers).json()
    per_code, overall = _shown_figures(page)
    assert set(per_code) == set(body["per_code"])
    for code, row in body["per_code"].items():
        expected = {"kappa": as_displayed(row["kappa"]), "alpha": as_displayed(row["alpha"]),
                    "f1": as_displayed(row["f1"]), "n": str(row["n"])}
        assert per_code[code] == expected, code
    total = body["overall"]
    assert overall == {"kappa": as_displayed(total["kappa"]), "alpha": as_displayed(total["alpha"]),
                       "f1": as_displayed(total["f1"]), "n": str(total["sentences"])}
    note = page.locator("#agreement-note")
    if body["note"]:
        assert note.inner_text() == body["note"]
    else:
        assert note.count() == 0
    return body


def test_agreement_in_the_code_manager_equals_the_api(review_site, page) -> None:
    base, project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        headers = {name: _login(api, name) for name in ("rita", "rob")}
        ids = {name: api.get("/api/v1/auth/me", headers=h).json()["id"] for name, h in headers.items()}

        log_in(page, base, "rita")
        page.goto(f"{base}/review/#/p/{project_id}/codes")
        page.wait_for_selector("#code-table tr.row.active")
        assert "no reviewer has decided" in page.inner_text("#agreement-note")  # nothing reviewed yet
        assert page.locator("#code-table td[data-stat='kappa']").first.inner_text() == "—"

        _review(api, headers["rita"], transcript_id, RITA)
        _review(api, headers["rob"], transcript_id, ROB)
        page.reload()
        # Rita sees the model against her own review first.
        first = _expect_api_figures(page, api, headers["rita"], project_id, "model", ids["rita"])
        assert first["overall"]["sentences"] > 0
        options = page.eval_on_selector_all("#agreement-compare option", "(os) => os.map((o) => [o.value, o.textContent])")
        comparisons = api.get(f"/api/v1/projects/{project_id}/agreement/comparisons", headers=headers["rita"]).json()
        assert [value for value, _text in options] == [f"{c['first']}:{c['second']}" for c in comparisons["comparisons"]]
        assert [value for value, _text in options][-1] == f"{ids['rita']}:{ids['rob']}"
        assert options[-1][1] == "rita vs rob (1 transcript)"

        page.select_option("#agreement-compare", f"{ids['rita']}:{ids['rob']}")
        between = _expect_api_figures(page, api, headers["rita"], project_id, ids["rita"], ids["rob"])
        assert between["overall"]["kappa"] is not None and between["overall"]["exact_match"] < 1.0  # they differ
        _save_screenshot(page, "review-agreement.png")

        page.keyboard.press("a")  # the next comparison, wrapping round to the first
        _expect_api_figures(page, api, headers["rita"], project_id, "model", ids["rita"])
        page.keyboard.press("a")
        _expect_api_figures(page, api, headers["rita"], project_id, "model", ids["rob"])
