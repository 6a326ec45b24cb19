"""`qcoder analyse`: the whole pipeline in-process on the embedded defaults (SQLite, no Redis)."""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from tqdm import tqdm

from services.cli.report import write_html_report
from services.shared.accounts import create_user
from services.shared.codebook import load_codebook
from services.shared.config import Settings
from services.shared.errors import InputError
from services.shared.projects import create_project, project_codebook
from services.shared.quotations import list_quotations
from services.shared.tables import ProcessingRun, Project, Transcript, User
from services.shared.uploads import build_transcript, store_transcript
from services.worker.runtime import WorkerRuntime
from services.worker.tasks import run_transcript

RESULT_SCHEMA = "qcoder.analysis/1"
LOCAL_USER = "local-cli"
LOCAL_PROJECT = "Lokale analyses (qcoder analyse)"


def _local_project(session, settings: Settings) -> Project:  # noqa: ANN001
    """The project that command-line analyses are stored in, created on first use."""
    user = session.scalar(select(User).where(User.username == LOCAL_USER))
    if user is None:
        user = create_user(session, LOCAL_USER, secrets.token_urlsafe(24))
    codebook = load_codebook(settings.codebook_path)
    for project in session.scalars(select(Project).where(Project.name == LOCAL_PROJECT, Project.created_by == user.id)):
        if project.codebook.sha256 == codebook.sha256:
            return project
    return create_project(session, name=LOCAL_PROJECT, owner=user, codebook=codebook, pseudonymise=False)


def transcript_result(session, transcript: Transcript) -> dict:  # noqa: ANN001
    """The JSON result of one processed transcript (schema: docs/analysis-json.md)."""
    codebook = project_codebook(transcript.project)
    run = session.get(ProcessingRun, transcript.current_run_id) if transcript.current_run_id else None
    return {
        "id": transcript.id,
        "filename": transcript.filename,
        "respondent_id": transcript.respondent_id,
        "case": transcript.case_name,
        "respondent_role": transcript.respondent_role,
        "status": transcript.status,
        "error": None if transcript.status != "failed" else {"code": transcript.error_code, "message": transcript.error_message},
        "encoding": transcript.detected_encoding,
        "warnings": list(transcript.warnings or []),
        "characters": len(transcript.text),
        "text_sha256": transcript.text_sha256,
        "model_version": run.model_version if run else None,
        "data_snapshot": run.data_snapshot if run else None,
        "segmenter": run.segmenter if run else None,
        "embedder": run.embedder if run else None,
        "stage_seconds": run.stage_seconds if run else {},
        "turns": [
            {"index": t.index, "speaker": t.speaker, "role": t.role, "start": t.start, "end": t.end} for t in transcript.turns
        ],
        "quotations": list_quotations(session, transcript, codebook) if transcript.status == "done" else [],
    }


def analyse_files(files: list[Path], output: Path, settings: Settings, *, show_progress: bool = True) -> list[Path]:
    """Store, process and report each file; returns the paths written."""
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise InputError(f"File not found: {', '.join(missing)}. Check the path(s) and try again.")
    single_file = output.suffix.lower() == ".json"
    runtime = WorkerRuntime(settings)
    runtime.database.upgrade()

    with runtime.database.transaction() as session:
        project = _local_project(session, settings)
        transcript_ids = []
        for path in files:
            transcript = build_transcript(path.read_bytes(), path.name, settings)
            transcript_ids.append(store_transcript(session, project, transcript, None).id)

    bar = tqdm(total=len(transcript_ids) * 100, disable=not show_progress, unit="%", desc="analyse")
    for transcript_id, path in zip(transcript_ids, files):
        done = {"value": 0}

        def progress(stage: str, percent: int, _done=done, _name=path.name) -> None:
            bar.set_description(f"{_name}: {stage}")
            bar.update(max(0, percent - _done["value"]))
            _done["value"] = max(_done["value"], percent)

        run_transcript(runtime, transcript_id, progress=progress)
        bar.update(100 - done["value"])
    bar.close()

    with runtime.database.transaction() as session:
        results = [transcript_result(session, session.get(Transcript, tid)) for tid in transcript_ids]
        codebook = project_codebook(session.get(Project, project.id))
    model = runtime.model()
    header = {
        "schema": RESULT_SCHEMA,
        "generated_at": datetime.now(timezone.utc).isoformat(),
        "model": {"version": model.version, "data_snapshot": model.data_snapshot, "embedder": model.embedder_name},
        "codebook": {"key": codebook.key, "version": codebook.version, "sha256": codebook.sha256},
        "offsets": "Python str indices (Unicode code points) into the stored text: UTF-8 decoded, "
        "BOM removed, line endings normalised to \\n; end is exclusive.",
    }
    written: list[Path] = []
    if single_file:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({**header, "transcripts": results}, ensure_ascii=False, indent=2), encoding="utf-8")
        written += [output, write_html_report(output.with_suffix(".html"), header, results, codebook)]
    else:
        output.mkdir(parents=True, exist_ok=True)
        for result in results:
            target = output / f"{Path(result['filename']).stem}.json"
            target.write_text(json.dumps({**header, "transcripts": [result]}, ensure_ascii=False, indent=2), encoding="utf-8")
            written.append(target)
        written.append(write_html_report(output / "report.html", header, results, codebook))
    for path in written:
        print(f"wrote {path}")
    return written
