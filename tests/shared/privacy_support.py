"""Helpers for the privacy tests: a migrated database with a user and a project, gold names."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from services.shared.accounts import create_user
from services.shared.codebook import load_codebook
from services.shared.config import REPO_ROOT, Settings
from services.shared.db import Database
from services.shared.projects import create_project
from services.shared.tables import User

EXAMPLES = REPO_ROOT / "labelled_data" / "transcripts"
PASSWORD = "correct horse battery staple"


@dataclass
class World:
    """A database with one user owning one project."""

    database: Database
    settings: Settings
    user_id: int
    project_id: str

    def user(self, session) -> User:  # noqa: ANN001
        """The owner, loaded in `session`."""
        return session.get(User, self.user_id)


def make_world(settings: Settings, *, pseudonymise: bool = True, username: str = "owner") -> World:
    """Migrate the settings' database and create a user with a project."""
    database = Database(settings)
    database.upgrade()
    with database.transaction() as session:
        user = session.scalar(select(User).where(User.username == username)) or create_user(session, username, PASSWORD)
        project = create_project(session, name="privacy", owner=user, codebook=load_codebook(settings.codebook_path),
                                 pseudonymise=pseudonymise)
        return World(database, settings, user.id, project.id)


def gold_names(path: Path) -> list[dict]:
    """The gold name annotations of an example transcript."""
    return json.loads(path.with_suffix("").with_suffix(".gold.json").read_text(encoding="utf-8"))["names"]


def example_paths() -> list[Path]:
    """The four example transcripts."""
    return sorted(EXAMPLES.glob("*.txt"))


def contains_word(text: str, word: str) -> bool:
    """Whether `word` occurs in `text` as a whole word."""
    return re.search(r"(?<![\w@.])" + re.escape(word) + r"(?![\w@])", text) is not None


def add_analysis(session, transcript, *, model_id: str = "test-embedder") -> None:  # noqa: ANN001
    """Store what a worker would: a run, one sentence and quotation per respondent sentence,
    a suggestion each, and cached embeddings of every sentence and every turn (the questions)."""
    import hashlib
    import re as regex

    import numpy as np

    from services.shared.tables import EmbeddingCacheEntry, ProcessingRun, Quotation, Sentence, Suggestion

    run = ProcessingRun(transcript_id=transcript.id, model_version="test", data_snapshot="sha256:test",
                        codebook_sha256="0" * 64, embedder=model_id, segmenter="rules")
    session.add(run)
    session.flush()
    texts = []
    for turn in transcript.turns:
        texts.append(transcript.text[turn.start:turn.end])
        if turn.role != "respondent":
            continue
        for index, match in enumerate(regex.finditer(r"[^.?!]+[.?!]?", transcript.text[turn.start:turn.end])):
            start = turn.start + match.start() + (len(match.group()) - len(match.group().lstrip()))
            end = turn.start + match.end()
            session.add(Sentence(run_id=run.id, turn_index=turn.index, index=index, start=start, end=end))
            quotation = Quotation(transcript_id=transcript.id, run_id=run.id, origin="model", start=start, end=end,
                                  turn_index=turn.index, speaker=turn.speaker, stance="knelpunt", stance_score=0.9)
            quotation.suggestions = [Suggestion(code_id="KP03", code_kind="knelpunt", score=0.8, model_version="test",
                                                data_snapshot="sha256:test")]
            session.add(quotation)
            texts.append(transcript.text[start:end])
    vector = np.ones(4, dtype=np.float32)
    for text_value in set(texts):
        digest = hashlib.sha256(text_value.encode("utf-8")).hexdigest()
        if session.get(EmbeddingCacheEntry, (model_id, digest)) is None:
            session.add(EmbeddingCacheEntry(model_id=model_id, text_sha256=digest, dim=4, vector=vector.tobytes()))
    transcript.status = "done"
    transcript.current_run_id = run.id
    session.flush()
