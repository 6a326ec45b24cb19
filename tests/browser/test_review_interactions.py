"""Per-quotation interactions of the review screen in headless Chromium, each checked through the API:
adjusting a span by dragging its handle and by keyboard, adding a second code, changing the stance,
writing a memo, removing a code, and undoing a decision."""
from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.screen_support import _login, caret_point, open_transcript, show_quotation

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(start, end) of the words (runs of non-space, as the screen snaps) inside [start, end)."""
    return [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", text[start:end])]


def _events(api: httpx.Client, headers: dict, quotation_id: str) -> list[dict]:
    return api.get(f"/api/v1/quotations/{quotation_id}/events", headers=headers).json()


def _state(api: httpx.Client, headers: dict, quotation_id: str) -> dict:
    return api.get(f"/api/v1/quotations/{quotation_id}/review", headers=headers).json()


def _wait_for_events(page, api, headers, quotation_id: str, count: int) -> list[dict]:  # noqa: ANN001
    """Poll the event log until the screen's request has been stored."""
    for _ in range(100):
        events = _events(api, headers, quotation_id)
        if len(events) >= count:
            return events
        page.wait_for_timeout(100)
    raise AssertionError(f"expected {count} events on {quotation_id}, got {len(events)}")


def _multi_word(document: dict, minimum: int) -> list[dict]:
    return [q for q in document["quotations"] if len(_words(document["text"], q["start"], q["end"])) >= minimum]


def test_review_span_by_dragging_a_handle_and_by_keyboard(review_site, page) -> None:
    base, _project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        document = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()
        dragged, keyed = _multi_word(document, 4)[:2]
        text = document["text"]

        # Drag the end handle back onto the end of the second-last word: the span loses its last word.
        open_transcript(page, base, "rita", transcript_id, dragged["id"])
        target = _words(text, dragged["start"], dragged["end"])[-2][1]
        handle = page.locator("#handles .handle.end").bounding_box()
        point = caret_point(page, target)
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        page.mouse.move(point["x"], point["y"], steps=10)
        page.mouse.up()
        page.wait_for_selector("#q-status:text('edited')")
        events = _wait_for_events(page, api, rita, dragged["id"], 1)
        assert [(e["action"], e["payload"]) for e in events] == [("respan", {"start": dragged["start"], "end": target})]
        assert page.inner_text("#q-text") == text[dragged["start"]:target]

        # Keyboard: e, Shift+→ moves the start one word on, ← moves the end one word back, Enter saves.
        show_quotation(page, base, transcript_id, keyed)
        words = _words(text, keyed["start"], keyed["end"])
        page.keyboard.press("e")
        page.wait_for_selector("#preview-text")
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("ArrowLeft")
        assert page.inner_text("#preview-text") == text[words[1][0]:words[-2][1]]
        page.keyboard.press("Enter")
        page.wait_for_selector("#q-status:text('edited')")
        events = _wait_for_events(page, api, rita, keyed["id"], 1)
        assert events[0]["payload"] == {"start": words[1][0], "end": words[-2][1]}
        state = _state(api, rita, keyed["id"])
        assert (state["start"], state["end"]) == (words[1][0], words[-2][1])
        assert state["machine"]["start"] == keyed["start"]  # the suggestion itself is unchanged

        # Escape cancels an adjustment without storing anything.
        page.keyboard.press("e")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Escape")
        page.wait_for_selector("#q-status")
        assert len(_events(api, rita, keyed["id"])) == 1


def test_review_second_code_stance_memo_remove_and_undo(review_site, page) -> None:
    base, _project_id, transcript_id = review_site
    with httpx.Client(base_url=base, timeout=60) as api:
        rita = _login(api, "rita")
        document = api.get(f"/api/v1/transcripts/{transcript_id}/review", headers=rita).json()
        quotation = next(q for q in document["quotations"] if len(q["codes"]) == 1)
        second = next(code for code in ("KP08", "KP15", "KP06") if code not in quotation["codes"])
        open_transcript(page, base, "rita", transcript_id, quotation["id"])

        # + opens the picker; a code found by (part of) its name becomes the second code.
        codebook = api.get(f"/api/v1/projects/{document['transcript']['project_id']}/codebook", headers=rita).json()
        name = next(c["name"] for c in codebook["codes"] if c["id"] == second)
        page.keyboard.press("+")
        page.wait_for_selector("#code-search")
        page.keyboard.type(name)
        page.wait_for_selector(f".picker-option.active[data-code='{second}']")
        page.keyboard.press("Enter")
        page.wait_for_function("(n) => document.querySelectorAll('#q-codes .code-row').length === n", arg=2)
        label = page.locator(f"#margin .mlabel[data-q='{quotation['id']}'] .chip")
        assert label.count() == 2

        # s then 2: stance oplossing.
        page.keyboard.press("s")
        page.wait_for_selector(".stance-option")
        page.keyboard.press("2")
        page.wait_for_selector("#q-stance:text('oplossing')")

        # m opens the memo editor; Ctrl+Enter saves; the memo shows in the panel and as ✉ in the margin.
        memo = "Ook financiering speelt hier mee; navragen bij de casus."
        page.keyboard.press("m")
        page.wait_for_selector("#memo-text")
        page.keyboard.type(memo)
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"ul.memos li:has-text('{memo[:20]}')")
        assert page.locator(f"#margin .mlabel[data-q='{quotation['id']}'] .memo-mark").count() == 1

        # - removes the last code again; u undoes that removal, then the memo, then the stance.
        page.keyboard.press("-")
        page.wait_for_function("(n) => document.querySelectorAll('#q-codes .code-row').length === n", arg=1)
        page.keyboard.press("u")
        page.wait_for_function("(n) => document.querySelectorAll('#q-codes .code-row').length === n", arg=2)
        events = _wait_for_events(page, api, rita, quotation["id"], 5)
        page.keyboard.press("u")  # undoes the memo
        events = _wait_for_events(page, api, rita, quotation["id"], 6)
        page.wait_for_selector("ul.memos", state="detached")
        page.keyboard.press("u")  # undoes the stance
        events = _wait_for_events(page, api, rita, quotation["id"], 7)
        page.wait_for_selector(f"#q-stance:text('{quotation['stance']}')")
        final = _state(api, rita, quotation["id"])

    actions = [(e["action"], e["payload"]) for e in events]
    assert actions[:4] == [("add_code", {"code_id": second}), ("set_stance", {"stance": "oplossing"}),
                           ("comment", {"text": memo}), ("remove_code", {"code_id": second})]
    assert [a for a, _payload in actions[4:]] == ["undo", "undo", "undo"]
    undone = [e["payload"]["event_id"] for e in events[4:]]
    assert undone == [events[3]["id"], events[2]["id"], events[1]["id"]]
    assert all(e["reviewer"] == "rita" for e in events)
    assert final["codes"] == [*quotation["codes"], second] and final["stance"] == quotation["stance"]
    assert final["comments"] == []
