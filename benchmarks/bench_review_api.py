"""Latency of the API behind the review screen under concurrent reviewers.

Starts a real uvicorn server (a separate process) on 127.0.0.1 against a fresh database, stores a
~10,000-word Dutch interview (built from the respondent and interviewer turns of
labelled_data/transcripts) with ~300 machine quotations, and lets N reviewers (threads, one
keep-alive connection each) load the document view and post decisions the way the screen does:
each reviewer starts at a different place in the transcript, decides on the states it loaded,
and on a 409 reloads that quotation and applies its decision again. The number of requests is
bounded: every reviewer makes --loads document loads and --decisions decisions.
Prints median and p95 per request kind; it is a measurement, not a timed test.
Run: .venv/bin/python benchmarks/bench_review_api.py [--reviewers 20] [--workers 1] [--think-ms 0]
     [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_review]
"""
from __future__ import annotations

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from services.shared.config import Settings, get_settings  # noqa: E402
from services.shared.db import Database  # noqa: E402

PASSWORD = "benchmark password 123"
TRANSCRIPTS_DIR = REPO_ROOT / "labelled_data" / "transcripts"
SNAPSHOT = "sha256:" + "0" * 64
STARTUP_TIMEOUT_SECONDS = 60


def app_from_environment():  # noqa: ANN201
    """uvicorn --factory entry point: the API built from QCODER_* environment variables."""
    from services.api.app import create_app

    return create_app(get_settings())


def interview_text(words: int) -> str:
    """A Dutch interview of about `words` words, cycling the turns of the example transcripts."""
    from services.shared.ingest import parse_turns

    pairs: list[str] = []
    for path in sorted(TRANSCRIPTS_DIR.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        for turn in parse_turns(text).turns:
            label = "I" if turn.role == "interviewer" else "R"
            pairs.append(f"{label}: {' '.join(text[turn.start:turn.end].split())}")
    if not pairs:
        raise SystemExit(f"No example transcripts in {TRANSCRIPTS_DIR}; the benchmark builds its text from them.")
    lines = ["---", "respondent: Int B1", "casus: Gemeente B", "rol: beleidsmedewerker", "---"]
    count, index = 0, 0
    while count < words:
        line = pairs[index % len(pairs)]
        lines.append(line)
        count += len(line.split()) - 1
        index += 1
    return "\n\n".join(lines) + "\n"


def seed(settings: Settings, reviewers: int, words: int, quotations: int) -> tuple[str, str, int, int]:
    """Users, a project, one processed transcript; returns project id, transcript id, words, quotations."""
    from services.shared.accounts import create_user
    from services.shared.codebook import load_codebook
    from services.shared.projects import Role, create_project, set_member
    from services.shared.tables import ProcessingRun, Quotation, Sentence, Suggestion
    from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript

    database = Database(settings)
    database.upgrade()
    rng = random.Random(20)
    codebook = load_codebook(settings.codebook_path)
    codes = [c.id for c in (*codebook.knelpunten(), *codebook.solutions())]
    with database.transaction() as session:
        owner = create_user(session, "owner", PASSWORD, is_admin=True)
        project = create_project(session, name="Benchmark", owner=owner, codebook=codebook, pseudonymise=False)
        for number in range(reviewers):
            set_member(session, project, create_user(session, f"reviewer{number:02d}", PASSWORD), Role.reviewer)
        text = interview_text(words)
        transcript = store_transcript(
            session, project, build_transcript(text.encode("utf-8"), "bench.txt", settings, TranscriptMetadata()), owner
        )
        run = ProcessingRun(transcript_id=transcript.id, model_version="bench", data_snapshot=SNAPSHOT,
                            codebook_sha256=codebook.sha256, embedder="bench", segmenter="rules")
        session.add(run)
        session.flush()
        transcript.current_run_id, transcript.status = run.id, "done"
        sentences = []
        for turn in transcript.turns:
            for match in re.finditer(r"[^.!?]+[.!?]+", text[turn.start:turn.end]):
                lead = len(match.group(0)) - len(match.group(0).lstrip())
                sentences.append((turn.start + match.start() + lead, turn.start + match.end(), turn))
        for index, (start, end, turn) in enumerate(sentences):
            session.add(Sentence(run_id=run.id, turn_index=turn.index, index=index, start=start, end=end))
        respondent = [s for s in sentences if s[2].role == "respondent"]
        step = max(1, len(respondent) // quotations)
        chosen = respondent[::step][:quotations]
        for start, end, turn in chosen:
            quotation = Quotation(transcript_id=transcript.id, run_id=run.id, origin="model", start=start, end=end,
                                  turn_index=turn.index, speaker=turn.speaker, stance="knelpunt", stance_score=0.7)
            quotation.suggestions = [
                Suggestion(code_id=c, code_kind=codebook.code(c).kind, score=round(rng.uniform(0.2, 0.98), 4),
                           model_version="bench", data_snapshot=SNAPSHOT)
                for c in rng.sample(codes, rng.choice((1, 1, 2)))
            ]
            session.add(quotation)
        ids = (project.id, transcript.id, len(text.split()), len(chosen))
    database.dispose()
    return ids


@dataclass
class Timings:
    """Latencies in milliseconds per request kind, and counts of 409 answers."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, milliseconds: float) -> None:
        """Record one request."""
        with self.lock:
            self.samples.setdefault(kind, []).append(milliseconds)


def timed(timings: Timings, kind: str, call) -> httpx.Response:  # noqa: ANN001
    """Run one request and record how long it took."""
    started = time.perf_counter()
    response = call()
    timings.add(kind, (time.perf_counter() - started) * 1000)
    return response


def review_session(base: str, token: str, transcript_id: str, offset: int, loads: int, decisions: int,
                   timings: Timings, start_gate: threading.Barrier, think_seconds: float = 0.0) -> None:
    """One reviewer: load the document, decide on the next quotations, reload, and so on."""
    headers = {"Authorization": f"Bearer {token}"}
    actions = (("confirm", {}), ("confirm", {}), ("reject", {}), ("comment", {"text": "benchmark memo"}))
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        start_gate.wait()
        done = 0
        per_load = -(-decisions // loads)
        for round_number in range(loads):
            response = timed(timings, "load", lambda: client.get(f"/api/v1/transcripts/{transcript_id}/review"))
            if response.status_code != 200:
                timings.errors.append(f"load {response.status_code}: {response.text[:200]}")
                return
            quotations = response.json()["quotations"]
            for step in range(min(per_load, decisions - done)):
                quotation = quotations[(offset + done) % len(quotations)]
                action, payload = actions[(offset + step + round_number) % len(actions)]
                body = {"action": action, "payload": payload, "based_on_event_id": quotation["last_event_id"]}
                url = f"/api/v1/quotations/{quotation['id']}/decisions"
                time.sleep(think_seconds)  # reading the quotation before deciding
                answer = timed(timings, "decision", lambda: client.post(url, json=body))
                if answer.status_code == 409:  # as the screen does: reload that quotation and apply again
                    with timings.lock:
                        timings.conflicts += 1
                    fresh = timed(timings, "reload quotation", lambda: client.get(f"/api/v1/quotations/{quotation['id']}/review"))
                    body["based_on_event_id"] = fresh.json()["last_event_id"]
                    answer = timed(timings, "decision (after 409)", lambda: client.post(url, json=body))
                if answer.status_code != 201:
                    timings.errors.append(f"decision {answer.status_code}: {answer.text[:200]}")
                done += 1


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(settings: Settings, workers: int) -> tuple[subprocess.Popen, str]:
    """uvicorn in its own process, so the load generator does not share its interpreter."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "QCODER_DATABASE_URL": settings.database_url,
           "QCODER_REDIS_URL": settings.redis_url, "QCODER_DATA_DIR": str(settings.data_dir)}
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench_review_api:app_from_environment",
               "--app-dir", str(Path(__file__).resolve().parent), "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    server = subprocess.Popen(command, env=env, cwd=REPO_ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"uvicorn exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"uvicorn did not answer on {base} within {STARTUP_TIMEOUT_SECONDS} s")


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def report(title: str, timings: Timings) -> None:
    """Print median and p95 per request kind."""
    print(f"\n{title}")
    print(f"  {'request':<24}{'n':>6}{'median ms':>12}{'p95 ms':>10}{'max ms':>10}")
    for kind, values in timings.samples.items():
        print(f"  {kind:<24}{len(values):>6}{statistics.median(values):>12.1f}{percentile(values, 0.95):>10.1f}"
              f"{max(values):>10.1f}")
    if timings.conflicts:
        print(f"  409 conflicts (reloaded and applied again): {timings.conflicts}")
    if timings.errors:
        print(f"  ERRORS ({len(timings.errors)}): {timings.errors[:3]}")


def main() -> None:
    """Parse arguments, seed, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--loads", type=int, default=5, help="document loads per reviewer")
    parser.add_argument("--decisions", type=int, default=30, help="decisions per reviewer")
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--quotations", type=int, default=300)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--think-ms", type=int, default=0,
                        help="pause before each decision; 0 (default) sends back to back, the worst case")
    parser.add_argument("--database-url", default=None, help="default: a new SQLite file in a temporary folder")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qcoder-bench-") as folder:
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        settings = get_settings(database_url=database_url, redis_url=args.redis_url, data_dir=Path(folder) / "var")
        started = time.perf_counter()
        project_id, transcript_id, words, quotations = seed(settings, args.reviewers, args.words, args.quotations)
        print(f"seeded {words} words, {quotations} quotations, {args.reviewers} reviewers in "
              f"{time.perf_counter() - started:.1f} s ({database_url.split(':')[0]})")
        server, base = start_server(settings, args.workers)
        try:
            tokens = []
            with httpx.Client(base_url=base, timeout=60) as client:
                for number in range(args.reviewers):
                    response = client.post("/api/v1/auth/token", data={"username": f"reviewer{number:02d}", "password": PASSWORD})
                    tokens.append(response.json()["access_token"])
                size = len(client.get(f"/api/v1/transcripts/{transcript_id}/review",
                                      headers={"Authorization": f"Bearer {tokens[0]}"}).content)
            print(f"document view payload: {size / 1024:.0f} KiB; uvicorn workers: {args.workers}")

            alone = Timings()
            review_session(base, tokens[0], transcript_id, 0, 5, 20, alone, threading.Barrier(1))
            report("1 reviewer alone (5 loads, 20 decisions)", alone)

            crowd = Timings()
            gate = threading.Barrier(args.reviewers)
            spacing = max(1, quotations // args.reviewers)
            threads = [
                threading.Thread(target=review_session, args=(base, token, transcript_id, 20 + i * spacing, args.loads,
                                                                args.decisions, crowd, gate, args.think_ms / 1000))
                for i, token in enumerate(tokens)
            ]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            total = sum(len(v) for v in crowd.samples.values())
            report(f"{args.reviewers} concurrent reviewers ({args.loads} loads + {args.decisions} decisions each, "
                   f"{args.think_ms} ms think time): "
                   f"{total} requests in {elapsed:.1f} s, {total / elapsed:.0f} requests/s", crowd)
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
