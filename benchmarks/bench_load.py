"""Load: 200 uploads and 20 concurrent reviewers against one API and two workers, all on loopback.

Starts a private redis-server, `qcoder serve` and two `qcoder worker` processes on a temporary
SQLite database (or --database-url), uploads the transcripts (the four example interviews, each copy
made unique), and once the first are processed runs 20 reviewer threads that read the review queue,
open a quotation and record a decision, while processing goes on; once all are processed it times
the queue on the whole project ("queue, all done"). Prints throughput, p50/p95
latencies per request kind, errors (target: zero; 409 conflicts between reviewers are counted
apart, they are the API working as designed) and the peak memory of the API and the workers.

Run: .venv/bin/python benchmarks/bench_load.py [--transcripts 200] [--reviewers 20] [--decisions 25]
Needs redis-server and a model version in models/ (or QCODER_MODELS_DIR).
"""
from __future__ import annotations

import argparse
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

# The process helpers live with the tests (tests/faults/servers.py); make the checkout importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.shared.config import REPO_ROOT, get_settings  # noqa: E402
from tests.api.helpers import ADMIN_PASSWORD, prepare_database  # noqa: E402
from tests.faults.servers import ApiServer, RedisServer, peak_rss_mb, tree_peak_rss_mb, wait_until  # noqa: E402
from tests.support import WorkerProcesses  # noqa: E402

EXAMPLES = sorted((REPO_ROOT / "labelled_data" / "transcripts").glob("*.txt"))


class Recorder:
    """Latencies and outcomes per request kind, from many threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.conflicts = 0
        self.error_samples: list[str] = []

    def call(self, kind: str, send) -> httpx.Response | None:  # noqa: ANN001
        """Time one request; 5xx and transport failures count as errors."""
        started = time.perf_counter()
        try:
            response = send()
        except httpx.HTTPError as exc:
            self._error(kind, repr(exc))
            return None
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latencies[kind].append(elapsed)
            if response.status_code == 409:
                self.conflicts += 1
        if response.status_code >= 500 or response.status_code in (401, 403, 404, 422):
            self._error(kind, f"{response.status_code} {response.text[:200]}")
        return response

    def _error(self, kind: str, sample: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.error_samples) < 5:
                self.error_samples.append(f"{kind}: {sample}")


class MemoryWatch:
    """Polls the summed resident memory of the workers (their job processes come and go)."""

    def __init__(self, pids) -> None:  # noqa: ANN001
        self.pids = pids
        self.peak = 0.0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            total = 0.0
            for pid in self.pids():
                try:
                    total += tree_peak_rss_mb(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
            self.peak = max(self.peak, total)
            time.sleep(0.5)


def transcript(number: int) -> bytes:
    """An example interview made unique (a differing first question), so no cache makes it free."""
    text = EXAMPLES[number % len(EXAMPLES)].read_text(encoding="utf-8")
    return text.replace("\nI: ", f"\nI: (gesprek {number}) ", 1).encode("utf-8")


def percentile(values: list[float], share: float) -> float:
    """The share-th percentile (0..1) of values, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    """Run the load test once and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--transcripts", type=int, default=200)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=25, help="decisions per reviewer")
    parser.add_argument("--uploaders", type=int, default=4, help="concurrent upload clients")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--recogniser", choices=["deduce", "rules"], default="deduce")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before giving up on processing")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        redis = RedisServer(folder / "redis")
        redis.start()
        settings = get_settings(
            database_url=args.database_url or f"sqlite:///{folder / 'load.db'}", data_dir=folder / "var",
            redis_url=redis.url, queue_name=f"load-{secrets.token_hex(4)}", pseudonymise_recogniser=args.recogniser,
            pseudonym_key_secret=secrets.token_urlsafe(48), login_max_failures_per_client=10_000,
        )
        reviewers = [f"reviewer{i}" for i in range(args.reviewers)]
        prepare_database(settings, ("owner", False), *((name, False) for name in reviewers))
        api, workers = ApiServer(settings, folder), WorkerProcesses(folder)
        recorder = Recorder()
        try:
            api.start()
            for _ in range(2):
                workers.start(settings)
            watch = MemoryWatch(lambda: [p.pid for p in workers.processes])
            report = run(args, api, reviewers, recorder)
            watch.running = False
            report["api peak memory (MB)"] = peak_rss_mb(api.process.pid)
            report["workers peak memory, both (MB)"] = watch.peak
        finally:
            crashed = api.process is None or api.process.poll() is not None
            workers.stop_all()
            api.kill()
            redis.stop(hard=True)
            if crashed or sum(recorder.errors.values()):
                print_server_errors(folder)
                kept = Path(tempfile.gettempdir()) / "qcoder-bench-load-logs"
                kept.mkdir(exist_ok=True)
                for log in folder.glob("*.log"):
                    (kept / log.name).write_bytes(log.read_bytes())
                print(f"server logs kept in {kept}")
    print_report(args, report, recorder)


def print_server_errors(folder: Path) -> None:
    """The last exception in the API's log, so that an error can be followed up."""
    for log in sorted(folder.glob("api-*.log")):
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith("Traceback")]
        if starts:
            end = next((i for i in range(starts[-1] + 1, len(lines)) if lines[i].startswith("INFO:")), len(lines))
            ours = [line for line in lines[starts[-1]:end] if "/services/" in line or not line.startswith("  ")]
            print(f"last server exception in {log.name} (qcoder frames only):")
            print("\n".join(ours[-30:]))


def run(args: argparse.Namespace, api: ApiServer, reviewers: list[str], recorder: Recorder) -> dict:
    """Upload, process and review; returns the throughput figures."""
    client = httpx.Client(base_url=api.url, timeout=120)
    tokens = {}
    for name in ["owner", *reviewers]:
        response = client.post("/api/v1/auth/token", data={"username": name, "password": ADMIN_PASSWORD})
        tokens[name] = {"Authorization": f"Bearer {response.json()['access_token']}"}
    project = client.post("/api/v1/projects", json={"name": "load", "pseudonymise": True}, headers=tokens["owner"]).json()
    for name in reviewers:
        client.put(f"/api/v1/projects/{project['id']}/members", json={"username": name, "role": "reviewer"},
                   headers=tokens["owner"])

    started = time.perf_counter()

    def upload(number: int) -> None:
        with httpx.Client(base_url=api.url, timeout=300) as own:
            recorder.call("upload", lambda: own.post(
                f"/api/v1/projects/{project['id']}/transcripts", headers=tokens["owner"],
                files=[("files", (f"interview-{number}.txt", transcript(number), "text/plain"))]))

    uploads = ThreadPoolExecutor(args.uploaders)
    for number in range(args.transcripts):
        uploads.submit(upload, number)

    def done_count() -> int:
        # A fresh connection per poll: a kept-alive one may be closed by the server just as it is reused.
        listed = recorder.call("status", lambda: httpx.get(f"{api.url}/api/v1/projects/{project['id']}/transcripts",
                                                           headers=tokens["owner"], timeout=120))
        if listed is None or listed.status_code != 200:
            return -1
        return sum(1 for t in listed.json() if t["status"] in ("done", "failed"))

    wait_until(lambda: done_count() >= min(20, args.transcripts), timeout=args.timeout, interval=1,
               message="the first transcripts to be processed")
    review_started = time.perf_counter()
    threads = [threading.Thread(target=review, args=(api.url, project["id"], tokens[name], args.decisions, recorder))
               for name in reviewers]
    for thread in threads:
        thread.start()
    uploads.shutdown(wait=True)
    uploaded = time.perf_counter() - started
    for thread in threads:
        thread.join()
    reviewed = time.perf_counter() - review_started
    stored = len(client.get(f"/api/v1/projects/{project['id']}/transcripts", headers=tokens["owner"]).json())
    wait_until(lambda: done_count() >= stored, timeout=args.timeout, interval=2,
               message="every stored transcript to be processed")
    processed = time.perf_counter() - started
    listed = client.get(f"/api/v1/projects/{project['id']}/transcripts", headers=tokens["owner"]).json()
    # The queue once every transcript is processed: the largest project the reviewers would see.
    for mode in ("document", "uncertainty") * 10:
        recorder.call("queue, all done", lambda: client.get(
            f"/api/v1/projects/{project['id']}/review/queue", headers=tokens[reviewers[0]],
            params={"limit": 50, "mode": mode}))
    quotations = sum(1 for _ in client.get(f"/api/v1/projects/{project['id']}/review/queue",
                                          headers=tokens[reviewers[0]], params={"include_reviewed": True}).json())
    client.close()
    review_requests = sum(len(recorder.latencies[k]) for k in ("queue", "quotation", "decision"))
    return {
        "uploads per second": args.transcripts / uploaded,
        "transcripts stored": stored,
        "transcripts processed per minute (2 workers)": 60 * stored / processed,
        "failed transcripts": sum(1 for t in listed if t["status"] == "failed"),
        "review requests per second": review_requests / reviewed,
        "quotations in the project at the end": quotations,
    }


def review(base_url: str, project_id: str, headers: dict, decisions: int, recorder: Recorder) -> None:
    """One reviewer: take the queue, open a quotation, confirm it (or memo it), `decisions` times."""
    rng = random.Random(headers["Authorization"])
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        for _ in range(decisions):
            queue = recorder.call("queue", lambda: client.get(f"/api/v1/projects/{project_id}/review/queue",
                                                               params={"limit": 50, "include_reviewed": True}))
            items = queue.json() if queue is not None and queue.status_code == 200 else []
            if not items:
                time.sleep(1)
                continue
            quotation_id = rng.choice(items)["quotation_id"]
            state = recorder.call("quotation", lambda: client.get(f"/api/v1/quotations/{quotation_id}/review"))
            if state is None or state.status_code != 200:
                continue
            action = rng.choice([{"action": "confirm", "payload": {}},
                                 {"action": "comment", "payload": {"text": "gezien tijdens de belastingtest"}}])
            recorder.call("decision", lambda: client.post(
                f"/api/v1/quotations/{quotation_id}/decisions",
                json={**action, "based_on_event_id": state.json()["last_event_id"]}))


def print_report(args: argparse.Namespace, report: dict, recorder: Recorder) -> None:
    """Print the figures as a small table."""
    print(f"load: {args.transcripts} transcripts, {args.reviewers} reviewers x {args.decisions} decisions, "
          f"1 API + 2 workers, recogniser {args.recogniser}")
    for name, value in report.items():
        print(f"  {name:<46} {value:10.1f}")
    print(f"  {'request kind':<16} {'count':>6} {'p50 ms':>9} {'p95 ms':>9} {'errors':>7}")
    for kind in ("upload", "queue", "quotation", "decision", "status", "queue, all done"):
        values = recorder.latencies[kind]
        print(f"  {kind:<16} {len(values):>6} {percentile(values, 0.5):>9.0f} {percentile(values, 0.95):>9.0f} "
              f"{recorder.errors[kind]:>7}")
    print(f"  errors (target 0): {sum(recorder.errors.values())}; conflicts between reviewers (409): "
          f"{recorder.conflicts}")
    for sample in recorder.error_samples:
        print(f"    {sample}")
    if sum(recorder.errors.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
