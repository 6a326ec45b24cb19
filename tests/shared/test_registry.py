"""The model registry: promote, roll back, and which version a project's next job uses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.shared.accounts import create_user
from services.shared.codebook import load_codebook
from services.shared.config import get_settings
from services.shared.db import Database
from services.shared.errors import ConflictError, NotFoundError
from services.shared.projects import create_project
from services.shared.registry import active_version, list_versions, promote, rollback


def _version(models: Path, name: str, created: str) -> None:
    (models / name).mkdir(parents=True)
    meta = {"version": name, "created_at": created, "data_snapshot": f"sha256:{name}",
            "evaluation": {"knelpunten": {"micro_f1": 0.5}}}
    (models / name / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


@pytest.fixture
def registry(tmp_path: Path):  # noqa: ANN201
    models = tmp_path / "models"
    for i, name in enumerate(["v1", "v2", "v3"]):
        _version(models, name, f"2026-01-0{i + 1}")
    (models / "ACTIVE").write_text("v1\n", encoding="utf-8")
    database = Database(get_settings(database_url=f"sqlite:///{tmp_path / 'r.db'}", data_dir=tmp_path))
    database.upgrade()
    with database.transaction() as session:
        user = create_user(session, "admin", "correct horse battery staple", is_admin=True)
        codebook = load_codebook(get_settings().codebook_path)
        projects = [create_project(session, name=n, owner=user, codebook=codebook).id for n in ("a", "b")]
    yield database, models, projects
    database.dispose()


def test_registry_project_promotion_overrides_installation_and_file(registry) -> None:  # noqa: ANN001
    database, models, (a, b) = registry
    with database.transaction() as session:
        assert active_version(session, models, a) == "v1"
        promote(session, models, "v2", None, None)
        promote(session, models, "v3", None, a)
        assert active_version(session, models, a) == "v3"
        assert active_version(session, models, b) == "v2"
        rows = {r["version"]: r for r in list_versions(session, models, a)}
        assert rows["v3"]["active"] and not rows["v2"]["active"] and rows["v1"]["data_snapshot"] == "sha256:v1"


def test_registry_rollback_nests_and_refuses_when_nothing_to_undo(registry) -> None:  # noqa: ANN001
    database, models, (a, _) = registry
    with database.transaction() as session:
        promote(session, models, "v2", None, a)
        promote(session, models, "v3", None, a)
        rollback(session, None, a)
        assert active_version(session, models, a) == "v2"
        rollback(session, None, a)
        assert active_version(session, models, a) == "v1"  # back to the installation's version
        with pytest.raises(ConflictError):
            rollback(session, None, a)
        with pytest.raises(NotFoundError):
            promote(session, models, "v9", None, a)
    assert (models / "v3" / "meta.json").is_file()  # nothing is ever deleted
