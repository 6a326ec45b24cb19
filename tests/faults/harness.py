"""A small qcoder installation for fault tests: private Redis, the API as a process, supervised workers,
and clients that behave like careful users (retry what was not acknowledged, never twice)."""
from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from services.shared.config import Settings
from services.shared.db import Database
from services.shared.queue import make_redis
from services.shared.tables import ProcessingRun, Quotation, ReviewEvent, Transcript
from tests.api.helpers import ADMIN_PASSWORD, prepare_database
from tests.faults.servers import ApiServer, RedisServer, wait_until
from tests.support import WorkerProcesses

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Errors after which a careful client tries again: the server may or may not have acted.
RETRYABLE = (httpx.TransportError,)


def interview(number: int) -> bytes:
    """A short interview that gives the model something to code; every one differs."""
    return (f"I: Hoe verloopt de samenwerking rond langer zelfstandig wonen, gesprek {number}?\n"
            "R: We zitten met de corporaties en de zorgaanbieders aan heel veel verschillende tafels. "
            "Er is een regionaal overleg en een lokaal overleg, en daar wordt vaak hetzelfde besproken.\n"
            "I: En binnen de gemeente?\n"
            "R: Intern is dat lastig. De afdeling wonen en de afdeling zorg weten niet van elkaar waar ze mee "
            f"bezig zijn. Bestuurlijk commitment is er nauwelijks, zeker niet in ronde {number}.\n").encode()


class FaultCluster:
    """API + N supervised workers + private Redis on one database; everything is killed by stop()."""

    def __init__(self, settings: Settings, folder: Path, redis: RedisServer, *, workers: int = 2) -> None:
        self.settings = settings
        self.folder = folder
        self.redis = redis
        self.api = ApiServer(settings, folder)
        self.workers = WorkerProcesses(folder)
        self.worker_count = workers
        self._supervising = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.worker_restarts = 0
        self.database = Database(settings)
        self.headers: dict[str, dict[str, str]] = {}

    def start(self) -> None:
        """Create users, start the API and the workers (restarted when they exit, as a supervisor would)."""
        prepare_database(self.settings, ("owner", False), ("reviewer", False))
        self.api.start()
        for name in ("owner", "reviewer"):
            self.headers[name] = self.login(name)
        for _ in range(self.worker_count):
            self.workers.start(self.settings)
        self._supervising.set()
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        while self._supervising.is_set():
            for index, process in enumerate(list(self.workers.processes)):
                if process.poll() is not None and process in self.workers.processes:
                    self.workers.processes.remove(process)
                    process.log_file.close()
                    self.workers.start(self.settings, name=f"restarted-{index}-{self.worker_restarts}")
                    self.worker_restarts += 1
            time.sleep(0.5)

    def stop(self) -> None:
        """Kill everything this cluster started."""
        self._supervising.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=5)
        self.workers.stop_all()
        self.api.kill()
        self.database.dispose()

    def login(self, username: str) -> dict[str, str]:
        """Log in through the API."""
        response = httpx.post(f"{self.api.url}/api/v1/auth/token", data={"username": username, "password": ADMIN_PASSWORD},
                              timeout=30)
        response.raise_for_status()
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    def request(self, method: str, path: str, user: str = "owner", **kwargs) -> httpx.Response:  # noqa: ANN003
        """One request to the API as `user`."""
        return httpx.request(method, f"{self.api.url}{path}", headers=self.headers[user], timeout=60, **kwargs)

    def new_project(self) -> str:
        """A project without pseudonymisation (names are not the subject here), with the reviewer in it."""
        project = self.request("POST", "/api/v1/projects", json={"name": "faults", "pseudonymise": False}).json()
        self.request("PUT", f"/api/v1/projects/{project['id']}/members", json={"username": "reviewer", "role": "reviewer"})
        return project["id"]

    def upload(self, project_id: str, number: int) -> tuple[list[str], str]:
        """Upload one interview once; returns (transcript ids the server acknowledged, outcome)."""
        try:
            response = self.request("POST", f"/api/v1/projects/{project_id}/transcripts",
                                    files=[("files", (f"interview-{number}.txt", interview(number), "text/plain"))])
        except RETRYABLE:
            return [], "no answer"
        if response.status_code == 202:
            return [t["id"] for t in response.json()], "queued"
        if response.status_code == 503 and response.json().get("code") == "E900":
            return UUID.findall(response.json()["message"]), "stored, queue unreachable"  # the API says so
        return [], f"refused {response.status_code}"

    def upload_until_acknowledged(self, project_id: str, number: int, timeout: float = 90) -> list[str]:
        """Upload like a user who retries until the server answers (a retry may create a duplicate)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids, _outcome = self.upload(project_id, number)
            if ids:
                return ids
            time.sleep(0.5)
        raise AssertionError(f"upload {number} was never acknowledged")

    def upload_many(self, project_id: str, numbers: range) -> list[str]:
        """Upload interviews `numbers` one by one, each retried until acknowledged; the acknowledged ids."""
        return [tid for n in numbers for tid in self.upload_until_acknowledged(project_id, n)]

    def reviewed_project(self, uploads: int, memo: str) -> tuple[str, list[str], list[str], list[tuple[str, str]]]:
        """A project whose first `uploads` interviews are processed and one quotation has `memo`:
        (project id, acknowledged transcript ids, quotation ids, [(quotation id, memo)])."""
        project_id = self.new_project()
        acknowledged = self.upload_many(project_id, range(uploads))
        self.wait_until_processed(project_id, timeout=120)
        quotations = self.quotation_ids(project_id)
        assert quotations, "the model coded nothing; the fault cannot be observed on review decisions"
        memos = [(quotations[0], memo)]
        self.comment_until_recorded(*memos[0])
        return project_id, acknowledged, quotations, memos

    def wait_for_a_running_job(self, project_id: str) -> None:
        """Return once a transcript of the project is being processed (the moment to inject a fault)."""
        wait_until(lambda: self.statuses(project_id)["processing"], timeout=60, interval=0.05,
                   message="a job to be running")

    def swept(self) -> set[str]:
        """Transcript ids the recovery sweep queued again, by itself (API startup or a worker), read from the logs."""
        found: set[str] = set()
        for log in self.folder.glob("*.log"):
            for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
                if "stranded transcript(s) again:" in line:
                    found.update(UUID.findall(line.split("again:", 1)[1]))
        return found

    def statuses(self, project_id: str) -> Counter:
        """How many of the project's transcripts are in each status."""
        with self.database.transaction() as session:
            rows = session.scalars(select(Transcript.status).where(Transcript.project_id == project_id))
            return Counter(rows)

    def wait_until_processed(self, project_id: str, timeout: float) -> None:
        """Wait until no transcript of the project is queued or processing.

        Nothing is requeued by hand here: stranded transcripts must be found by the workers' own
        periodic recovery sweep, as in production.
        """

        def settled() -> bool:
            counts = self.statuses(project_id)
            return counts and not (counts["queued"] or counts["processing"])

        try:
            wait_until(settled, timeout=timeout, interval=1, message="every transcript to be processed")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; still waiting: {self._stuck(project_id)}") from exc

    def _stuck(self, project_id: str) -> list[tuple]:
        from rq.job import Job

        redis = make_redis(self.settings)
        stuck = []
        with self.database.transaction() as session:
            for t in session.scalars(select(Transcript).where(Transcript.project_id == project_id,
                                                              Transcript.status.in_(("queued", "processing")))):
                try:
                    job_status = Job.fetch(t.job_id, connection=redis).get_status() if t.job_id else None
                except Exception as error:  # noqa: BLE001 - diagnostics only
                    job_status = repr(error)
                stuck.append((t.id, t.status, t.attempts, t.job_id, job_status))
        redis.close()
        return stuck

    def assert_processed_exactly_once(self, project_id: str, acknowledged: list[str]) -> None:
        """Every acknowledged transcript is done, with exactly one run, and all its quotations from that run."""
        with self.database.transaction() as session:
            stored = {t.id: t for t in session.scalars(select(Transcript).where(Transcript.project_id == project_id))}
            missing = [tid for tid in acknowledged if tid not in stored]
            assert not missing, f"acknowledged uploads missing from the database: {missing}"
            for transcript in stored.values():
                assert transcript.status == "done", (transcript.id, transcript.status, transcript.error_message)
                runs = session.scalar(select(func.count()).select_from(ProcessingRun)
                                      .where(ProcessingRun.transcript_id == transcript.id))
                assert runs == 1, f"transcript {transcript.id} has {runs} processing runs"
                run_ids = set(session.scalars(select(Quotation.run_id).where(
                    Quotation.transcript_id == transcript.id, Quotation.origin == "model")))
                assert run_ids <= {transcript.current_run_id}, run_ids

    def quotation_ids(self, project_id: str) -> list[str]:
        """Model quotations of the project's processed transcripts."""
        with self.database.transaction() as session:
            return list(session.scalars(
                select(Quotation.id).join(Transcript, Transcript.id == Quotation.transcript_id)
                .where(Transcript.project_id == project_id).order_by(Quotation.id)))

    def comment_until_recorded(self, quotation_id: str, memo: str, timeout: float = 120) -> int:
        """Record a memo like a careful reviewer: retry until it is there, and never record it twice."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                events = self.request("GET", f"/api/v1/quotations/{quotation_id}/events", user="reviewer")
                if events.status_code != 200:
                    time.sleep(0.5)
                    continue
                mine = [e for e in events.json() if e["payload"].get("text") == memo]
                if mine:
                    return mine[0]["id"]
                latest = max((e["id"] for e in events.json()), default=None)
                decided = self.request("POST", f"/api/v1/quotations/{quotation_id}/decisions", user="reviewer",
                                       json={"action": "comment", "payload": {"text": memo}, "based_on_event_id": latest})
                if decided.status_code == 201:
                    return decided.json()["event"]["id"]
                last = f"{decided.status_code} {decided.text[:300]}"
            except RETRYABLE as exc:
                last = repr(exc)
            time.sleep(0.5)
        raise AssertionError(f"memo {memo!r} was never recorded; last answer: {last}")

    def assert_memos_recorded_once(self, memos: list[tuple[str, str]]) -> None:
        """Every memo (quotation id, text) is in the event log exactly once."""
        with self.database.transaction() as session:
            texts = Counter((e.quotation_id, (e.payload or {}).get("text"))
                            for e in session.scalars(select(ReviewEvent).where(ReviewEvent.action == "comment")))
        for memo in memos:
            assert texts[memo] == 1, f"review decision {memo} recorded {texts[memo]} times"
