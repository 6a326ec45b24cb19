"""Real processes for fault, hostile-input and load tests: the API under uvicorn and a private redis-server.

Everything listens on 127.0.0.1 only, on free ports, and is killed by the test that started it.
A test that stops or restarts Redis starts its own redis-server here; it never touches port 6379.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from services.shared.config import REPO_ROOT, Settings
from tests.support import settings_env
from tests.support import wait_for as wait_until  # noqa: F401 - the fault tests import it from here

EXTRA_SETTINGS = (
    "pseudonymise_recogniser", "environment", "max_upload_bytes", "max_transcript_chars", "job_retries",
    "login_max_failures_per_user", "login_max_failures_per_client",
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(settings: Settings) -> dict[str, str]:
    """Environment for a child process (API, worker) that must use exactly these settings."""
    env = settings_env(settings)
    for name in EXTRA_SETTINGS:
        env[f"QCODER_{name.upper()}"] = str(getattr(settings, name))
    env["QCODER_JOB_RETRY_INTERVALS_SECONDS"] = "[" + ",".join(str(i) for i in settings.job_retry_intervals_seconds) + "]"
    if settings.pseudonym_key_secret is not None:
        env["QCODER_PSEUDONYM_KEY_SECRET"] = settings.pseudonym_key_secret.get_secret_value()
    return env


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a running process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_peak_rss_mb(pid: int) -> float:
    """The sum of peak resident memory of a process and its children (a worker forks job processes)."""
    total = peak_rss_mb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            try:
                total += tree_peak_rss_mb(int(child))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return total


class RedisServer:
    """A private redis-server with an append-only file, so a restart keeps the queue (as in production)."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed; install the redis-server package")
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server on the same port and data folder and wait until it answers."""
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.folder),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.process.log_file = log
        wait_until(self._answers, timeout=20, message=f"redis-server on port {self.port}")

    def stop(self, *, hard: bool = False) -> None:
        """Stop the server: SIGKILL when `hard` (a crash), SIGTERM otherwise."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
        self.process.wait(timeout=30)
        self.process.log_file.close()
        self.process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class ApiServer:
    """`qcoder serve` in a child process, on a free port."""

    def __init__(self, settings: Settings, log_dir: Path) -> None:
        self.settings = settings
        self.log_dir = log_dir
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:
        """Start the API and wait until /health answers."""
        self.starts += 1
        log = open(self.log_dir / f"api-{self.port}-{self.starts}.log", "wb")  # noqa: SIM115 - closed on stop
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli.main", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=child_env(self.settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO_ROOT,
        )
        self.process.log_file = log
        wait_until(self.healthy, timeout=timeout, message="the API to answer /health")

    def healthy(self) -> bool:
        """Whether /health answers (whatever it reports)."""
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the API exited with {self.process.returncode}; see {self.log_dir}")
        try:
            return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL the API, as a crash or an OOM kill would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        self.process.log_file.close()
        self.process = None
