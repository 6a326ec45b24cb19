"""The "What changed" panel, in headless Chromium: the processed transcript is re-run through the API
with the other shipped model version (the real job, run by RQ's SimpleWorker in this process); the
panel lists what the API's comparison lists, and each entry leads to its place in the document."""
from __future__ import annotations

import httpx
import pytest

from tests.browser.screen_support import _login, _save_screenshot, open_transcript, other_model_version
from tests.support import run_queued_jobs

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_changes_panel_lists_the_differences_and_leads_to_them(review_site, site_settings, page) -> None:
    base, _project_id, transcript_id = review_site
    version = other_model_version(site_settings)
    with httpx.Client(base_url=base, timeout=60) as api:
        admin, rita = _login(api, "admin"), _login(api, "rita")
        url = f"/api/v1/transcripts/{transcript_id}"
        open_transcript(page, base, "rita", transcript_id)
        assert page.locator("#changes-button").count() == 0  # one run: nothing to compare
        page.keyboard.press("w")
        assert page.locator("#changes").is_hidden()

        started = api.post(f"{url}/rerun", json={"model_version": version}, headers=admin)
        assert started.status_code == 202, started.text
        run_queued_jobs(site_settings)
        comparison = api.get(f"{url}/runs/compare", headers=rita).json()
        assert comparison["other"]["model_version"] == version and comparison["other"]["current"] is True
        assert comparison["changes"], "the two shipped versions suggest exactly the same quotations"

        page.reload()
        page.wait_for_selector("#changes-button")
        summary = comparison["summary"]
        assert page.inner_text("#changes-button").startswith(
            f"What changed ({summary['added'] + summary['removed'] + summary['changed']})")
        page.keyboard.press("w")
        page.wait_for_selector("#changes-list li.change")
        shown = page.eval_on_selector_all("#changes-list > li.change", "(lis) => lis.map((li) => [li.dataset.kind, li.dataset.quotation])")
        assert shown == [[i["kind"], (i["other"] or i["base"])["id"]] for i in comparison["changes"]]
        assert page.inner_text("#changes-summary") == (
            f"{summary['added']} added · {summary['removed']} removed · {summary['changed']} changed · "
            f"{summary['unchanged']} unchanged")
        assert comparison["base"]["model_version"] in page.inner_text("#changes")

        # An entry of the new run selects its quotation; a removed one flashes where it was.
        current = [i for i in comparison["changes"] if i["other"]]
        if current:
            index = comparison["changes"].index(current[-1])
            page.locator("#changes-list > li.change").nth(index).click()
            page.wait_for_function("(id) => location.hash.endsWith(id)", arg=current[-1]["other"]["id"])
            assert page.locator("#doc .seg.hl.cur").count() > 0
        removed = [i for i in comparison["changes"] if i["kind"] == "removed"]
        if removed:
            page.locator("#changes-list > li.change").nth(comparison["changes"].index(removed[0])).click()
            page.wait_for_selector("#doc .seg.flash")
            flashed = page.eval_on_selector_all("#doc .seg.flash", "(segs) => [+segs[0].dataset.s, +segs.at(-1).dataset.e]")
            assert flashed[0] < removed[0]["base"]["end"] and flashed[1] > removed[0]["base"]["start"]

        # The keyboard walks the list: ] to the next entry, [ back.
        page.keyboard.press("Home")
        page.keyboard.press("]")
        page.wait_for_selector("#changes-list > li.change.active")
        first_active = page.eval_on_selector("#changes-list > li.change.active", "(li) => li.dataset.quotation")
        page.keyboard.press("]")
        if len(comparison["changes"]) > 1:
            page.wait_for_function("(before) => document.querySelector('#changes-list > li.change.active').dataset.quotation !== before",
                                   arg=first_active)
        _save_screenshot(page, "review-changes.png")
        page.keyboard.press("w")
        assert page.locator("#changes").is_hidden()
