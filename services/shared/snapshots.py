"""Reviewed quotations -> labelled-data examples -> an immutable snapshot for retraining.

Each reviewed quotation of a project (confirmed, edited, rejected, or made by a reviewer) becomes
one example whose source records the project, transcript, quotation, reviewers and the decision
event it reflects. A rejected code is negative evidence: the example does not carry that code
(and lists it under source.rejected_codes); a quotation rejected as a whole becomes an example
with no code at all. Examples of earlier projects or of the base labelled data enter a new
project's codebook through a code mapping (source code id -> target code id); unmapped codes drop.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.errors import InputError
from services.shared.labelled_data import Example, Snapshot, Source, load_snapshot, snapshot_from_examples
from services.shared.labelled_record import REVIEW_CASE
from services.shared.projects import project_codebook
from services.shared.review_queue import project_items
from services.shared.tables import Project, Transcript

log = logging.getLogger(__name__)

# Review examples have case REVIEW_CASE ("review"). train.py never makes it a fold of its case
# cross-validation: with at least two thesis cases review examples only train there (the retrain job
# scores them per held-out transcript); without them (a follow-up project trained from its reviews)
# train.py groups them by respondent or transcript.
REVIEW_KIND = "review"
_SPACE = re.compile(r"\s+")


@dataclass
class ReviewExamples:
    """The examples of one project's reviewed quotations, and what could not be used."""

    project_id: str
    examples: list[Example]
    skipped: list[dict] = field(default_factory=list)  # {quotation_id, reason}
    dropped_codes: dict[str, int] = field(default_factory=dict)  # source code id -> times unmapped


def _code_labels(codes: Sequence[str], source: Codebook, target: Codebook,
                 mapping: Mapping[str, str] | None, dropped: dict[str, int]) -> tuple[list[int], list[str]]:
    """Knelpunt numbers and solution ids of `target` for codes of `source`; unmapped codes are counted."""
    target_ids = {c.id: c for c in target.codes}
    numbers: list[int] = []
    solutions: list[str] = []
    for code_id in codes:
        mapped = mapping.get(code_id) if mapping is not None else code_id
        if mapped is None or mapped not in target_ids:
            dropped[code_id] = dropped.get(code_id, 0) + 1
            continue
        code = target_ids[mapped]
        if code.kind == "knelpunt" and code.number not in numbers:
            numbers.append(code.number)
        elif code.kind == "oplossing" and code.id not in solutions:
            solutions.append(code.id)
    del source  # the mapping is by code id; the source codebook only documents where ids come from
    return sorted(numbers), solutions


def _stance(stance: str | None, numbers: list[int], solutions: list[str]) -> str:
    """A stance the labelled-data rules accept: a knelpunt stance needs a knelpunt."""
    if stance == "knelpunt" and not numbers:
        return "oplossing" if solutions else "neutraal"
    if stance is None:
        return "knelpunt" if numbers else ("oplossing" if solutions else "neutraal")
    return stance


def _question_before(transcript: Transcript, start: int) -> str | None:
    """The interviewer's last turn before a quotation, as training context."""
    before = [t for t in transcript.turns if t.role == "interviewer" and t.end <= start]
    if not before:
        return None
    return _SPACE.sub(" ", transcript.text[before[-1].start:before[-1].end]).strip() or None


def review_examples(session: Session, project: Project, *, target: Codebook | None = None,
                    mapping: Mapping[str, str] | None = None) -> ReviewExamples:
    """Every reviewed quotation of the project (everyone's decisions folded) as a labelled example."""
    source_codebook = project_codebook(project)
    target = target or source_codebook
    result = ReviewExamples(project_id=project.id, examples=[])
    for group in project_items(session, project.id, None):
        transcript = group.transcript
        for item in group.items:
            state = item.state
            if not item.reviewed or (item.quotation.origin == "reviewer" and not state.created):
                continue
            text = _SPACE.sub(" ", transcript.text[state.start:state.end]).strip()
            if not text:
                result.skipped.append({"quotation_id": item.quotation.id, "reason": "empty text"})
                continue
            numbers, solutions = _code_labels(state.codes, source_codebook, target, mapping, result.dropped_codes)
            rejected = sorted(set(state.rejected_codes) - set(state.codes))
            result.examples.append(Example(
                id=f"review-{item.quotation.id}", text=text, knelpunten=tuple(numbers),
                stance=_stance(state.stance if state.status != "rejected" else None, numbers, solutions),
                solutions=tuple(solutions), respondents=(transcript.respondent_id,) if transcript.respondent_id else (),
                case=REVIEW_CASE, context=_question_before(transcript, state.start),
                source=Source(REVIEW_KIND, note=f"project {project.name}", extra={
                    "project_id": project.id, "transcript_id": transcript.id, "quotation_id": item.quotation.id,
                    "origin": item.quotation.origin, "status": state.status, "reviewers": list(state.reviewers),
                    "event_id": state.last_event_id, "rejected_codes": rejected,
                    "case_name": transcript.case_name, "span": [state.start, state.end],
                }),
            ))
    return result


def map_base_examples(examples: Sequence[Example], source: Codebook, target: Codebook,
                      mapping: Mapping[str, str] | None, dropped: dict[str, int]) -> list[Example]:
    """Examples labelled with `source`'s codes, relabelled with `target`'s (identity when no mapping)."""
    if mapping is None and source.sha256 == target.sha256:
        return list(examples)
    mapped = []
    for example in examples:
        codes = [source.knelpunt_by_number(n).id for n in example.knelpunten] + list(example.solutions)
        numbers, solutions = _code_labels(codes, source, target, mapping, dropped)
        mapped.append(Example(
            id=example.id, text=example.text, knelpunten=tuple(numbers),
            stance=_stance(example.stance, numbers, solutions), solutions=tuple(solutions),
            respondents=example.respondents, case=example.case, context=example.context, source=example.source,
        ))
    return mapped


def load_code_mapping(path: Path) -> dict[str, str]:
    """A code mapping file (YAML or JSON): {source code id: target code id}; raises InputError."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise InputError(f"cannot read the code mapping {path}: {error}") from error
    data = data.get("codes", data) if isinstance(data, dict) else data
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise InputError(f"{path}: a code mapping is an object of 'source code id: target code id' lines")
    return data


def build_learning_snapshot(
    session: Session, projects: Sequence[Project], out_dir: Path, name: str, *, target: Codebook,
    base_dir: Path | None, base_codebook: Codebook | None = None, mappings: Mapping[str, Mapping[str, str]] | None = None,
    provenance: Mapping | None = None,
) -> tuple[Snapshot, dict]:
    """Write out_dir/name: the base snapshot's parts (mapped to `target`) plus one part per project's reviews.

    `mappings` maps a project id (or "base") to its code mapping; without one, codes map by id.
    Returns the snapshot and a summary (counts per part, skipped quotations, unmapped codes).
    """
    mappings = mappings or {}
    parts: dict[str, list[Example]] = {}
    dropped: dict[str, int] = {}
    summary: dict = {"projects": {}, "base": None}
    if base_dir is not None:
        base = load_snapshot(base_dir)
        source = base_codebook or target
        by_part: dict[str, list[Example]] = {}
        for example in map_base_examples(base.examples, source, target, mappings.get("base"), dropped):
            by_part.setdefault(_base_part(example), []).append(example)
        parts.update({f"base-{key}": items for key, items in by_part.items()})
        summary["base"] = {"name": base.name, "data_snapshot": base.data_snapshot, "examples": len(base.examples)}
    for project in projects:
        reviewed = review_examples(session, project, target=target, mapping=mappings.get(project.id))
        for code_id, count in reviewed.dropped_codes.items():
            dropped[code_id] = dropped.get(code_id, 0) + count
        if reviewed.examples:
            parts[f"review-{project.id}"] = reviewed.examples
        summary["projects"][project.id] = {
            "examples": len(reviewed.examples), "skipped": reviewed.skipped,
            "negative": sum(1 for e in reviewed.examples if e.source.extra.get("rejected_codes")),
        }
    if dropped:
        log.warning("codes without a mapping to codebook %s were left out: %s", target.key, dropped)
    summary["unmapped_codes"] = dropped
    snapshot = snapshot_from_examples(parts, out_dir, name, {**(provenance or {}), **summary}, codebook=target)
    return snapshot, summary


def _base_part(example: Example) -> str:
    # The base snapshot's part files are not recorded per example; its id prefix names its part.
    return re.sub(r"[^A-Za-z0-9_-]", "", example.id.rsplit("-", 1)[0]) or "examples"
