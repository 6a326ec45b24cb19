"""The review screen in a real headless Chromium against a real uvicorn server: log in, open a
transcript the real pipeline processed, decide with the keyboard, and check through the API that
every decision is stored with the reviewer and the time. Saves screenshots as artifacts."""
from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from services.api.app import create_app
from services.shared.config import REPO_ROOT
from tests.api.helpers import ADMIN_PASSWORD, prepare_database
from tests.browser.live_server import LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
README_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
TRANSCRIPT = REPO_ROOT / "labelled_data" / "transcripts" / "int_p1.txt"
WAIT_MS = 15_000


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must provide it.")
        pytest.skip(reason)


@pytest.fixture
def review_site(sqlite_url, redis_url, make_settings):  # noqa: ANN001, ANN201
    """A live server with a reviewer and one transcript processed by the real pipeline in-process."""
    _require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    settings = make_settings(database_url=sqlite_url, redis_url=redis_url)
    _require((settings.models_dir / "ACTIVE").exists(), f"no shipped model ({settings.models_dir / 'ACTIVE'} is missing)")
    prepare_database(settings, ("admin", True), ("rita", False))
    project_id, transcript_id = _store_transcript(settings)
    _process(settings, transcript_id)
    server = LiveServer(create_app(settings)).start()
    try:
        yield server.url, project_id, transcript_id
    finally:
        server.stop()


def _store_transcript(settings) -> tuple[str, str]:  # noqa: ANN001
    """A project with rita as reviewer and one example transcript, stored as an upload stores it."""
    from sqlalchemy import select

    from services.shared.codebook import load_codebook
    from services.shared.db import Database
    from services.shared.projects import Role, create_project, set_member
    from services.shared.tables import User
    from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript

    database = Database(settings)
    with database.transaction() as session:
        admin, rita = (session.scalar(select(User).where(User.username == name)) for name in ("admin", "rita"))
        project = create_project(session, name="LZW studie", owner=admin, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=False)
        set_member(session, project, rita, Role.reviewer)
        built = build_transcript(TRANSCRIPT.read_bytes(), TRANSCRIPT.name, settings, TranscriptMetadata())
        ids = project.id, store_transcript(session, project, built, admin).id
    database.dispose()
    return ids


def _process(settings, transcript_id: str) -> None:  # noqa: ANN001
    """Run the worker's real job function in this process (no worker process needed)."""
    from services.worker.runtime import WorkerRuntime
    from services.worker.tasks import run_transcript

    outcome = run_transcript(WorkerRuntime(settings), transcript_id)
    assert outcome["status"] == "done", outcome


def _login(api: httpx.Client, username: str) -> dict[str, str]:
    """Log in through the API; returns the Authorization header."""
    response = api.post("/api/v1/auth/token", data={"username": username, "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def page():  # noqa: ANN201
    """A fresh page in headless Chromium (Debian's build; Playwright downloads nothing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1480, "height": 940}, locale="nl-NL")
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


def _current_id(page) -> str:  # noqa: ANN001
    return page.evaluate("location.hash.split('/')[3] || ''")


def _press_and_wait_for_new_current(page, key: str, before: str) -> str:  # noqa: ANN001
    page.keyboard.press(key)
    page.wait_for_function("(before) => (location.hash.split('/')[3] || '') !== before", arg=before)
    return _current_id(page)


def _save_screenshot(page, name: str) -> Path:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.evaluate("document.getElementById('toast').className = ''")  # the screen itself, not the last message
    page.wait_for_timeout(350)
    page.screenshot(path=str(path))
    shutil.copyfile(path, README_SCREENSHOTS / name)
    return path


def _free_sentence(document: dict, after: int) -> tuple[int, int]:
    """A respondent sentence after `after` that no quotation touches: text the model did not code."""
    respondent = [(t["start"], t["end"]) for t in document["turns"] if t["role"] == "respondent"]
    taken = [(q["start"], q["end"]) for q in document["quotations"]]
    for start, end in document["sentences"]:
        words = document["text"][start:end].split()
        if start < after or len(words) < 5 or not any(s <= start and end <= e for s, e in respondent):
            continue
        if all(end <= s or start >= e for s, e in taken):
            return start, end
    raise AssertionError("every sentence of the transcript is already quoted; pick a longer transcript")


def _drag_select(page, start: int, end: int) -> None:  # noqa: ANN001
    """Select [start, end) of the transcript with the mouse, as a reviewer would."""
    page.evaluate("""(offset) => {
        const seg = [...document.querySelectorAll('#doc .seg')].find(s => +s.dataset.s <= offset && offset < +s.dataset.e);
        seg.scrollIntoView({block: 'center'});
    }""", start)
    box = page.evaluate("""([start, end]) => {
        const at = (offset) => {
            const segs = [...document.querySelectorAll('#doc .seg')];
            const seg = segs.find(s => +s.dataset.s <= offset && offset < +s.dataset.e)
                || segs.find(s => +s.dataset.e === offset);
            const range = document.createRange();
            range.setStart(seg.firstChild, offset - +seg.dataset.s);
            range.collapse(true);
            const r = range.getClientRects()[0];
            return {x: r.left, y: r.top + r.height / 2};
        };
        return {from: at(start), to: at(end)};
    }""", [start, end])
    page.mouse.move(box["from"]["x"] + 2, box["from"]["y"])
    page.mouse.down()
    page.mouse.move(box["to"]["x"] - 2, box["to"]["y"], steps=8)
    page.mouse.up()


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
    page.goto(f"{base}/review/")
    page.fill("#username", "rita")
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
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
