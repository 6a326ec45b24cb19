"""The `qcoder` command: analyse, predict, serve, worker, requeue, train and account set-up."""
from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from services.cli.learning import register_learning_commands
from services.cli.outputs import register_output_commands
from services.shared.config import get_settings
from services.shared.errors import QcoderError

log = logging.getLogger("qcoder")


def _cmd_analyse(args: argparse.Namespace) -> int:
    from services.cli.analyse import analyse_files

    analyse_files([Path(p) for p in args.files], Path(args.output), get_settings(), show_progress=not args.quiet)
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from services.cli.predict import predict_file

    count = predict_file(Path(args.input), Path(args.output), get_settings(), model_version=args.model_version)
    print(f"wrote {count} predictions to {args.output}", file=sys.stderr)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.api.app import create_app
    from services.shared.db import Database

    settings = get_settings()
    Database(settings).upgrade()
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
    return 0


def _cmd_worker(args: argparse.Namespace) -> int:
    from services.shared.db import Database
    from services.worker.main import run_worker

    settings = get_settings()
    Database(settings).upgrade()
    run_worker(settings, burst=args.burst, name=args.name)
    return 0


def _cmd_requeue(args: argparse.Namespace) -> int:
    from services.shared.db import Database
    from services.shared.queue import make_redis
    from services.shared.recovery import sweep

    settings = get_settings()
    database, redis = Database(settings), make_redis(settings)
    try:
        requeued = sweep(database, redis, settings, grace_seconds=args.grace_seconds)
    finally:
        database.dispose()
        redis.close()
    for transcript_id in requeued:
        print(transcript_id)
    print(f"queued {len(requeued)} stranded transcript(s) again", file=sys.stderr)
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from services.shared.accounts import create_user
    from services.shared.db import Database

    password = os.environ.get("QCODER_ADMIN_PASSWORD") or (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Password: ")
    )
    database = Database(get_settings())
    database.upgrade()
    with database.transaction() as session:
        user = create_user(session, args.username, password, is_admin=True)
        print(f"created site admin '{user.username}' (id {user.id})")
    return 0


def _cmd_db_upgrade(_args: argparse.Namespace) -> int:
    from services.shared.db import Database

    Database(get_settings()).upgrade()
    print("database schema is up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `qcoder` command."""
    parser = argparse.ArgumentParser(prog="qcoder", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    commands = parser.add_subparsers(dest="command", required=True)

    analyse = commands.add_parser("analyse", help="code transcripts in-process (SQLite, no Redis) and write JSON + HTML")
    analyse.add_argument("files", nargs="+", help=".txt or .docx transcripts")
    analyse.add_argument("--output", "-o", required=True, help="a .json file, or a folder (one JSON per input)")
    analyse.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    analyse.set_defaults(func=_cmd_analyse)

    predict = commands.add_parser("predict", help='classify JSONL lines of {"id","text"} into knelpunt codes')
    predict.add_argument("--input", "-i", required=True)
    predict.add_argument("--output", "-o", required=True)
    predict.add_argument("--model-version", default=None, help="default: models/ACTIVE")
    predict.set_defaults(func=_cmd_predict)

    serve = commands.add_parser("serve", help="start the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=_cmd_serve)

    worker = commands.add_parser("worker", help="start a worker that processes queued transcripts")
    worker.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    worker.add_argument("--name", default=None)
    worker.set_defaults(func=_cmd_worker)

    requeue = commands.add_parser(
        "requeue", help="queue transcripts that wait for processing without a live job (the recovery sweep)")
    requeue.add_argument("--grace-seconds", type=int, default=None,
                         help="leave transcripts changed this recently alone (default: QCODER_RECOVERY_GRACE_SECONDS)")
    requeue.set_defaults(func=_cmd_requeue)

    admin = commands.add_parser("create-admin", help="create the first site administrator")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=_cmd_create_admin)

    commands.add_parser("train", help="train a model version from a labelled-data snapshot (qcoder train --help)")

    register_output_commands(commands)  # export-qdpx, export-qdc, import-qdpx, output
    register_learning_commands(commands)  # retrain, models, promote, rollback

    upgrade = commands.add_parser("db-upgrade", help="create or migrate the database schema")
    upgrade.set_defaults(func=_cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:
        # Training has its own option parser; hand everything after "train" to it.
        from services.worker.train import main as train_main

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return train_main(argv[1:]) or 0
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return args.func(args)
    except QcoderError as exc:
        print(f"error {exc.code}: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
