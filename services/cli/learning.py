"""`qcoder retrain | models | promote | rollback`: the learning loop from the shell."""
from __future__ import annotations

import argparse
import json
import sys

from services.shared.config import get_settings
from services.shared.errors import NotFoundError


def register_learning_commands(commands: argparse._SubParsersAction) -> None:
    """Add the learning-loop subcommands to the `qcoder` parser."""
    retrain = commands.add_parser("retrain", help="snapshot a project's reviews and train a new model version")
    retrain.add_argument("project", help="project id")
    retrain.add_argument("--base-snapshot", default="base-v1", help="labelled_data/ snapshot to include ('' for none)")
    retrain.add_argument("--mapping", default=None, help="code mapping file (YAML/JSON) for the base snapshot")
    retrain.add_argument("--queue", action="store_true", help="enqueue for a worker instead of training here")
    retrain.set_defaults(func=_cmd_retrain)

    models = commands.add_parser("models", help="list model versions, their data snapshot, scores and trainer")
    models.add_argument("--project", default=None)
    models.set_defaults(func=_cmd_models)

    promote = commands.add_parser("promote", help="make a model version active (for a project or everywhere)")
    promote.add_argument("version")
    promote.add_argument("--project", default=None)
    promote.set_defaults(func=_cmd_promote)

    rollback = commands.add_parser("rollback", help="undo the latest promotion (for a project or everywhere)")
    rollback.add_argument("--project", default=None)
    rollback.set_defaults(func=_cmd_rollback)


def _database(settings):  # noqa: ANN001, ANN202
    from services.shared.db import Database

    database = Database(settings)
    database.upgrade()
    return database


def _cmd_retrain(args: argparse.Namespace) -> int:
    from services.shared.snapshots import load_code_mapping
    from services.shared.tables import Project, TrainingRun

    settings = get_settings()
    database = _database(settings)
    request = {"base_snapshot": args.base_snapshot or None, "projects": [],
               "mappings": {"base": load_code_mapping(args.mapping)} if args.mapping else {}}
    with database.transaction() as session:
        if session.get(Project, args.project) is None:
            raise NotFoundError(f"No project {args.project}.", project_id=args.project)
        run = TrainingRun(project_id=args.project, status="queued", comparison={"request": request})
        session.add(run)
        session.flush()
        run_id = run.id
    if args.queue:
        from services.shared.queue import enqueue_training, make_redis

        print(json.dumps({"training_run_id": run_id, "job_id": enqueue_training(settings, make_redis(settings), run_id)}))
        return 0
    from services.worker.retrain import run_training
    from services.worker.runtime import WorkerRuntime, set_runtime

    runtime = WorkerRuntime(settings)
    set_runtime(runtime)
    from services.worker.embed import build_embedder

    result = run_training(runtime.database, settings, run_id, lambda name: build_embedder(
        name, sentence_transformer_path=settings.sentence_transformer_path))
    print(json.dumps(result, indent=2))
    return 0 if result["status"] == "done" else 1


def _cmd_models(args: argparse.Namespace) -> int:
    from services.shared.registry import active_version, list_versions

    settings = get_settings()
    with _database(settings).sessions() as session:
        print(json.dumps({"active": active_version(session, settings.models_dir, args.project),
                          "versions": list_versions(session, settings.models_dir, args.project)}, indent=2))
    return 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from services.shared.registry import active_version, promote

    settings = get_settings()
    with _database(settings).transaction() as session:
        promote(session, settings.models_dir, args.version, None, args.project)
        print(f"active for {args.project or 'the installation'}: {active_version(session, settings.models_dir, args.project)}")
    return 0


def _cmd_rollback(args: argparse.Namespace) -> int:
    from services.shared.registry import active_version, rollback

    settings = get_settings()
    with _database(settings).transaction() as session:
        rollback(session, None, args.project)
        print(f"active for {args.project or 'the installation'}: {active_version(session, settings.models_dir, args.project)}",
              file=sys.stdout)
    return 0
