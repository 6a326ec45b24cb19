"""What the review-screen browser tests share: Debian's Chromium through Playwright, a live server on a
transcript the real pipeline processed (once per session, copied per test), and helpers that drive
the screen as a reviewer would (keyboard, mouse selection, handle drags) or read it back."""
from __future__ import annotations

import os
import shutil
import sqlite3
from contextlib import closing
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import httpx
import pytest

from services.api.app import create_app
from services.shared.config import REPO_ROOT, Settings, get_settings
from services.worker.model_store import read_active_version
from tests.api.helpers import ADMIN_PASSWORD, prepare_database
from tests.browser.live_server import LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO_ROOT / "test-artifacts"
README_SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
TRANSCRIPT = REPO_ROOT / "labelled_data" / "transcripts" / "int_p1.txt"
WAIT_MS = 15_000
# Users of the processed project: rita and rob review, rosa reads.
USERS = (("admin", True), ("rita", False), ("rob", False), ("rosa", False))
ROLES = {"rita": "reviewer", "rob": "reviewer", "rosa": "researcher"}

RECOGNISER = "rules"


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must provide it.")
        pytest.skip(reason)


def _store_transcript(settings: Settings) -> tuple[str, str]:
    """A project with its members and one example transcript, stored as an upload stores it."""
    from sqlalchemy import select

    from services.shared.codebook import load_codebook
    from services.shared.db import Database
    from services.shared.privacy import project_pseudonymiser
    from services.shared.projects import Role, create_project, set_member
    from services.shared.tables import User
    from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript

    database = Database(settings)
    with database.transaction() as session:
        users = {name: session.scalar(select(User).where(User.username == name)) for name, _admin in USERS}
        project = create_project(session, name="LZW studie", owner=users["admin"],
                                 codebook=load_codebook(settings.codebook_path), pseudonymise=True)
        for name, role in ROLES.items():
            set_member(session, project, users[name], Role(role))
        # Pseudonymised as every upload is by default, so the screen (and its screenshots) show placeholders.
        built = build_transcript(TRANSCRIPT.read_bytes(), TRANSCRIPT.name, settings, TranscriptMetadata(),
                                 pseudonymiser=project_pseudonymiser(session, project, settings))
        ids = project.id, store_transcript(session, project, built, users["admin"]).id
    database.dispose()
    return ids


def _process(settings: Settings, transcript_id: str) -> None:
    """Run the worker's real job function in this process (no worker process needed)."""
    from services.worker.runtime import WorkerRuntime
    from services.worker.tasks import run_transcript

    runtime = WorkerRuntime(settings)
    outcome = run_transcript(runtime, transcript_id)
    runtime.database.dispose()
    assert outcome["status"] == "done", outcome


@pytest.fixture(scope="session")
def processed_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A SQLite database with the users, the project and int_p1 processed by the shipped model, built once."""
    _require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("processed")
    # The rule recogniser: deduce's tables would cost every live server a second or more of loading.
    settings = get_settings(database_url=f"sqlite:///{folder / 'template.db'}", data_dir=folder / "var",
                            pseudonymise_recogniser=RECOGNISER)
    _require((settings.models_dir / "ACTIVE").exists(), f"no shipped model ({settings.models_dir / 'ACTIVE'} is missing)")
    prepare_database(settings, *USERS)
    project_id, transcript_id = _store_transcript(settings)
    _process(settings, transcript_id)
    return folder / "template.db", project_id, transcript_id


@pytest.fixture
def site_settings(processed_template, sqlite_url: str, redis_url: str, make_settings) -> Settings:  # noqa: ANN001
    """Settings on a private copy of the processed database."""
    template, _project_id, _transcript_id = processed_template
    # SQLite's backup API copies committed pages whatever the journal mode (a file copy could miss a WAL).
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as target:
        source.backup(target)
    return make_settings(database_url=sqlite_url, redis_url=redis_url, pseudonymise_recogniser=RECOGNISER)


@pytest.fixture
def review_site(processed_template, site_settings: Settings):  # noqa: ANN001, ANN201
    """A live server on the processed project: (base url, project id, transcript id)."""
    _template, project_id, transcript_id = processed_template
    server = LiveServer(create_app(site_settings)).start()
    try:
        yield server.url, project_id, transcript_id
    finally:
        server.stop()


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


def log_in(page, base: str, username: str) -> None:  # noqa: ANN001
    """Log in on the screen's form and wait for the project list."""
    page.goto(f"{base}/review/")
    page.fill("#username", username)
    page.fill("#password", ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("ul.rows li.row")


def open_transcript(page, base: str, username: str, transcript_id: str, quotation_id: str = "") -> None:  # noqa: ANN001
    """Log in and open a transcript (at one quotation) in the document view."""
    log_in(page, base, username)
    page.goto(f"{base}/review/#/t/{transcript_id}/{quotation_id}")
    page.wait_for_selector("#doc .seg.hl.cur")
    if quotation_id:
        page.wait_for_function("(id) => location.hash.endsWith(id)", arg=quotation_id)


def show_quotation(page, base: str, transcript_id: str, quotation: dict) -> None:  # noqa: ANN001
    """Navigate the open screen to a quotation and wait until the panel shows it (the view reloads)."""
    page.goto(f"{base}/review/#/t/{transcript_id}/{quotation['id']}")
    page.wait_for_function("(text) => { const q = document.getElementById('q-text'); return q && q.textContent === text; }",
                           arg=quotation["text"] if len(quotation["text"]) <= 700 else quotation["text"][:700] + "…")


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


def as_displayed(value: float | None) -> str:
    """A figure as the screen prints it: JavaScript's toFixed(2) (ties away from zero), or a dash."""
    if value is None:
        return "—"
    return str(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


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


CARET_AT = """(offset) => {
    const segs = [...document.querySelectorAll('#doc .seg')];
    const seg = segs.find(s => +s.dataset.s <= offset && offset < +s.dataset.e)
        || segs.find(s => +s.dataset.e === offset);
    const range = document.createRange();
    range.setStart(seg.firstChild, offset - +seg.dataset.s);
    range.collapse(true);
    const r = range.getClientRects()[0];
    return {x: r.left, y: r.top + r.height / 2};
}"""


def _drag_select(page, start: int, end: int) -> None:  # noqa: ANN001
    """Select [start, end) of the transcript with the mouse, as a reviewer would."""
    page.evaluate("""(offset) => {
        const seg = [...document.querySelectorAll('#doc .seg')].find(s => +s.dataset.s <= offset && offset < +s.dataset.e);
        seg.scrollIntoView({block: 'center'});
    }""", start)
    begin, finish = page.evaluate(CARET_AT, start), page.evaluate(CARET_AT, end)
    page.mouse.move(begin["x"] + 2, begin["y"])
    page.mouse.down()
    page.mouse.move(finish["x"] - 2, finish["y"], steps=8)
    page.mouse.up()


def caret_point(page, offset: int) -> dict:  # noqa: ANN001
    """The screen position {x, y} of the caret before `offset` in the document."""
    return page.evaluate(CARET_AT, offset)


def other_model_version(settings) -> str:  # noqa: ANN001
    """A shipped model version other than the active one."""
    active = read_active_version(settings.models_dir)
    versions = sorted(p.name for p in settings.models_dir.iterdir() if (p / "meta.json").is_file() and p.name != active)
    if not versions:
        pytest.skip("only one model version is shipped; a re-run would compare a model with itself")
    return versions[0]
