"""`qcoder export-qdpx | export-qdc | import-qdpx | output`: REFI-QDA exchange and research outputs from the shell."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from services.shared.config import get_settings
from services.shared.errors import InputError, NotFoundError
from services.shared.outputs import DEFAULT_MAX_GAP, OUTPUTS


def register_output_commands(commands: argparse._SubParsersAction) -> None:
    """Add the exchange and output subcommands to the `qcoder` parser."""
    qdpx = commands.add_parser("export-qdpx", help="export a project as a REFI-QDA project (.qdpx)")
    qdpx.add_argument("project", help="project id")
    qdpx.add_argument("--output", "-o", required=True)
    qdpx.add_argument("--machine", choices=("omit", "separate_user"), default="omit",
                      help="unreviewed machine suggestions: leave out (default) or export under a model user")
    qdpx.add_argument("--min-confidence", type=float, default=0.0)
    qdpx.set_defaults(func=_cmd_export_qdpx)

    qdc = commands.add_parser("export-qdc", help="export a project's codebook as a REFI-QDA codebook (.qdc)")
    qdc.add_argument("project", help="project id")
    qdc.add_argument("--output", "-o", required=True)
    qdc.set_defaults(func=_cmd_export_qdc)

    imported = commands.add_parser("import-qdpx", help="create a project from a .qdpx or .qdc of another QDA program")
    imported.add_argument("file")
    imported.add_argument("--owner", required=True, help="username of the user who becomes the project's admin")
    imported.add_argument("--name", default=None, help="project name (default: the file's project name)")
    imported.add_argument("--no-pseudonymise", action="store_true",
                          help="store texts and memos as they are (only for exports that are anonymised already); "
                               "by default they are pseudonymised like uploads")
    imported.add_argument("--kind-mapping", default=None,
                          help="YAML or JSON file: code name, 'Parent/Child' path or GUID -> "
                               "knelpunt|oplossing|variabele")
    imported.set_defaults(func=_cmd_import)

    output = commands.add_parser("output", help=f"write a research output: {', '.join(OUTPUTS)}")
    output.add_argument("kind", choices=list(OUTPUTS))
    output.add_argument("project", help="project id")
    output.add_argument("--output", "-o", required=True)
    output.add_argument("--format", default=None, help="default: the first format the output comes in")
    output.add_argument("--by", choices=("transcript", "respondent", "case"), default="transcript")
    output.add_argument("--code", default=None, help="quotations: only this code id or knelpunt number")
    output.add_argument("--max-gap", type=int, default=DEFAULT_MAX_GAP,
                        help="cooccurrence: characters between adjacent quotations (-1: overlap only)")
    output.set_defaults(func=_cmd_output)


def _database():  # noqa: ANN202 - a Database
    from services.shared.db import Database

    database = Database(get_settings())
    database.upgrade()
    return database


def _project(session, project_id: str):  # noqa: ANN001, ANN202 - a Project
    from services.shared.tables import Project

    project = session.get(Project, project_id)
    if project is None:
        raise NotFoundError(f"No project with id {project_id!r}; list projects with GET /api/v1/projects.")
    return project


def _cmd_export_qdpx(args: argparse.Namespace) -> int:
    from services.shared.refi import export_qdpx

    with _database().transaction() as session:
        data = export_qdpx(session, _project(session, args.project), machine=args.machine,
                           min_confidence=args.min_confidence)
    Path(args.output).write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
    return 0


def _cmd_export_qdc(args: argparse.Namespace) -> int:
    from services.shared.projects import project_codebook
    from services.shared.refi import export_qdc

    with _database().transaction() as session:
        data = export_qdc(project_codebook(_project(session, args.project)))
    Path(args.output).write_bytes(data)
    print(f"wrote {args.output} ({len(data)} bytes)", file=sys.stderr)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from services.shared.refi import import_qdc, import_qdpx
    from services.shared.tables import User

    mapping = _read_mapping(Path(args.kind_mapping)) if args.kind_mapping else None
    path = Path(args.file)
    importer = import_qdc if path.suffix.lower() == ".qdc" else import_qdpx
    settings = get_settings()
    with _database().transaction() as session:
        owner = session.scalar(select(User).where(User.username == args.owner))
        if owner is None:
            raise NotFoundError(f"No user {args.owner!r}; create one first (qcoder create-admin).")
        report = importer(session, path.read_bytes(), owner=owner, settings=settings, filename=path.name,
                          name=args.name, mapping=mapping, pseudonymise=False if args.no_pseudonymise else None)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    return 0


def _read_mapping(path: Path) -> dict[str, str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is valid YAML
    if not isinstance(data, dict):
        raise InputError(f"{path}: a kind mapping is a mapping of code name -> kind, e.g. 'Overlap: knelpunt'.")
    return {str(key): str(value) for key, value in data.items()}


def _cmd_output(args: argparse.Namespace) -> int:
    from services.shared.outputs.files import render_output

    max_gap = None if args.max_gap is not None and args.max_gap < 0 else args.max_gap
    with _database().transaction() as session:
        result = render_output(session, _project(session, args.project), args.kind, args.format, by=args.by,
                               code=args.code, max_gap=max_gap)
    Path(args.output).write_bytes(result.content)
    print(f"wrote {args.output} ({result.media_type})", file=sys.stderr)
    return 0
