"""The review screen in a real headless Chromium against a real uvicorn server: log in, open a
transcript the real pipeline processed, decide with the keyboard, and check through the API that
every decision is stored with the reviewer and the time. Saves screenshots as artifacts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.browser.screen_support import (
    _current_id, _drag_select, _free_sentence, _login, _press_and_wait_for_new_current, _save_screenshot, log_in,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_review_screen_keyboard_review_is_stored_with_reviewer_and_time(review_site, page) -> None:
    base, project_id, transcript_id = review_site
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        document = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()
    assert len(document["quotations"]) >= 4, "the shipped model suggested too few quotations to review"
    codes_of = {q["id"]: q["codes"] for q in document["quotations"]}
    starts = {q["id"]: q["start"] for q in document["quotations"]}

    # Log in and open the transcript from the project overview, keyboard only.
    log_in(page, base, "rita")
    page.wait_for_selector("ul.rows li.row.active")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#overview tr.row.active[data-transcript='{transcript_id}']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#doc .seg.hl.cur")
    assert page.locator(".turn.interviewer").count() > 0 and page.locator("#margin .mlabel").count() == len(codes_of)

    page.keyboard.press("?")
    page.wait_for_selector(".dialog.help")
    page.keyboard.press("Escape")
    page.wait_for_selector(".dialog.help", state="detached")

    confirmed = _current_id(page)
    rejected = _press_and_wait_for_new_current(page, "Enter", confirmed)  # confirm moves on to the next open one
    relabelled = _press_and_wait_for_new_current(page, "r", rejected)
    new_code = next(code for code in ("KP10", "KP17", "KP20", "KP05") if code not in codes_of[relabelled])
    page.keyboard.press("c")
    page.wait_for_selector("#code-search")
    page.keyboard.type(str(int(new_code[2:])))  # the picker finds a knelpunt by its number
    page.keyboard.press("Enter")
    page.wait_for_selector("#q-status:text('edited')")
    assert _current_id(page) == relabelled

    sentence = _free_sentence(document, after=starts[relabelled])
    _drag_select(page, *sentence)
    page.keyboard.press("n")
    page.wait_for_selector("#code-search")
    page.keyboard.type("Overlap")
    page.keyboard.press("Enter")
    page.wait_for_function("(before) => (location.hash.split('/')[3] || '') !== before", arg=relabelled)
    created = _current_id(page)
    page.wait_for_selector("#q-status:text('edited')")

    undone = _press_and_wait_for_new_current(page, "a", created)  # confirm the new one, then undo that
    page.keyboard.press("u")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=created)
    page.wait_for_selector("#q-status:text('edited')")
    _save_screenshot(page, "review-document.png")

    page.keyboard.press("Home")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=confirmed)
    assert page.inner_text("#q-status") == "confirmed"

    with httpx.Client(base_url=base, timeout=60) as api:
        queue = api.get(f"/api/v1/projects/{project_id}/review/queue", params={"mode": "uncertainty"}, headers=rita).json()
    page.keyboard.press("q")
    page.wait_for_function("(id) => location.hash.endsWith(id)", arg=queue[0]["quotation_id"])
    page.keyboard.press("q")

    page.keyboard.press("g")
    page.wait_for_selector("#code-table tr.row.active")
    for _ in range(60):  # walk down the codebook to the code the reviewer just confirmed
        if page.get_attribute("#code-table tr.row.active", "data-code") == codes_of[confirmed][0]:
            break
        page.keyboard.press("j")
    page.wait_for_selector(f"#code-quotations a[href$='{confirmed}']")
    _save_screenshot(page, "review-code-manager.png")

    with httpx.Client(base_url=base, timeout=60) as api:
        events = api.get(f"/api/v1/transcripts/{transcript_id}/review/events", headers=rita).json()
        states = {q["id"]: q for q in api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()["quotations"]}
    finished = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert [(e["action"], e["quotation_id"]) for e in events] == [
        ("confirm", confirmed), ("reject", rejected), ("relabel", relabelled), ("create", created),
        ("confirm", created), ("undo", created),
    ]
    for event in events:
        assert event["reviewer"] == "rita"
        assert started <= datetime.fromisoformat(event["created_at"]) <= finished
    assert events[2]["payload"] == {"from": codes_of[relabelled][0], "to": new_code}
    assert events[3]["payload"]["codes"] == ["KP03"]
    assert (events[3]["payload"]["start"], events[3]["payload"]["end"]) == sentence
    assert events[5]["payload"] == {"event_id": events[4]["id"]}
    assert states[confirmed]["status"] == "confirmed" and states[rejected]["status"] == "rejected"
    assert new_code in states[relabelled]["codes"] and codes_of[relabelled][0] not in states[relabelled]["codes"]
    assert states[created]["codes"] == ["KP03"] and states[created]["status"] == "edited"
    assert undone != created
