"""The "Re-run…" action of the document view, in headless Chromium: a researcher picks another shipped
model version in the dialog, the real job runs (RQ's SimpleWorker in this process) while the screen
polls, and the screen then shows the new run with "What changed" open. Errors of the API stay visible;
a reviewer, who may not re-run, sees no button."""
from __future__ import annotations

import httpx
import pytest

from tests.browser.screen_support import _login, as_displayed, open_transcript, other_model_version
from tests.support import run_queued_jobs

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_researcher_reruns_with_another_version_and_sees_what_changed(review_site, site_settings, page) -> None:
    base, project_id, transcript_id = review_site
    version = other_model_version(site_settings)
    with httpx.Client(base_url=base, timeout=60) as api:
        rosa = _login(api, "rosa")  # the project's researcher
        models = api.get(f"/api/v1/projects/{project_id}/models", headers=rosa).json()
        open_transcript(page, base, "rosa", transcript_id)
        page.click("#rerun-button")
        page.wait_for_selector("#rerun-form")

        # Every version is offered with its knelpunt micro-F1; the project's active one is chosen and marked.
        offered = page.eval_on_selector_all(".rerun-option", "(ls) => ls.map((l) => l.dataset.version)")
        assert offered == [v["version"] for v in models["versions"]]
        for v in models["versions"]:
            option = page.locator(f".rerun-option[data-version='{v['version']}']")
            assert as_displayed(v["scores"]["knelpunt_micro_f1"]) in option.inner_text()
            assert option.locator("input").is_checked() == (v["version"] == models["active"])
            assert ("active" in option.locator(".status-chip").all_inner_texts()) == (v["version"] == models["active"])

        page.check(f".rerun-option[data-version='{version}'] input")
        page.click("#rerun-submit")
        page.wait_for_selector("#rerun-status")
        assert "queued" in page.inner_text("#rerun-status")
        run_queued_jobs(site_settings)

        # The screen notices the job is done, reloads the document and opens the comparison.
        page.wait_for_selector("#changes:not([hidden]) #changes-summary", timeout=60_000)
        runs = api.get(f"/api/v1/transcripts/{transcript_id}/runs", headers=rosa).json()
        assert len(runs) == 2
        assert [r["model_version"] for r in runs if r["current"]] == [version]
        comparison = api.get(f"/api/v1/transcripts/{transcript_id}/runs/compare", headers=rosa).json()
        summary = comparison["summary"]
        assert page.inner_text("#changes-button").startswith(
            f"What changed ({summary['added'] + summary['removed'] + summary['changed']})")
        assert version in page.inner_text("#changes")
        assert page.locator("#rerun-button").is_visible()  # the rebuilt toolbar offers the action again


def test_a_rerun_the_api_refuses_shows_its_message(review_site, site_settings, page) -> None:
    base, _project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        rosa = _login(api, "rosa")
        open_transcript(page, base, "rosa", transcript_id)
        # Someone else re-runs the transcript after the page loaded: the job is still queued.
        first = api.post(f"/api/v1/transcripts/{transcript_id}/rerun", json={"model_version": None}, headers=rosa)
        assert first.status_code == 202, first.text
        refused = api.post(f"/api/v1/transcripts/{transcript_id}/rerun", json={"model_version": None}, headers=rosa)
        assert refused.status_code == 409, refused.text

        page.click("#rerun-button")
        page.click("#rerun-submit")
        page.wait_for_function("() => document.getElementById('rerun-error').textContent !== ''")
        assert refused.json()["message"] in page.inner_text("#rerun-error")
        assert page.locator("#rerun-form").is_visible()  # the dialog stays open with the message
        assert page.locator("#rerun-status").count() == 0
        page.keyboard.press("Escape")
        assert page.locator("#rerun-form").count() == 0


def test_a_reviewer_sees_no_rerun_button(review_site, page) -> None:
    base, _project_id, transcript_id = review_site
    open_transcript(page, base, "rita", transcript_id)
    page.wait_for_selector("#rerun-slot", state="attached")  # the toolbar is built
    assert page.locator("#rerun-button").count() == 0
    with httpx.Client(base_url=base, timeout=60) as api:  # and the API agrees: a reviewer may not re-run
        refused = api.post(f"/api/v1/transcripts/{transcript_id}/rerun", json={"model_version": None},
                           headers=_login(api, "rita"))
        assert refused.status_code in (403, 404), refused.text
