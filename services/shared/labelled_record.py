"""One labelled example as a JSONL record: its fields, the allowed values, and the checks of one record.

The format is documented in labelled_data/README.md; services.shared.labelled_data reads whole
snapshots and reports each problem as "file:line: ...".
"""
from __future__ import annotations

import json
import re
from typing import Any

from services.shared.codebook import STANCES, Codebook

# E: experts and focus group of thesis §4.2, not a case. review: quotations reviewed in a project
# (services/shared/snapshots.py); train.py groups them by respondent or transcript, not by case.
REVIEW_CASE = "review"
CASES = ("X", "Y", "E", "handwritten", REVIEW_CASE)
# Case Z is held back for evaluation: a single example of it in training data would leak the test set.
HELD_BACK_CASES = ("Z",)
SOURCE_KINDS = ("thesis-quote", "thesis-citation", "handwritten", "transcript-gold", "review")
_HELD_BACK_RESPONDENT_RE = re.compile(r"(?:^|\s)Z\d")  # "Int Z3", "Z3"
_NONE = type(None)
# field -> accepted types; every field is required (context may be null).
_FIELDS: dict[str, tuple[type, ...]] = {
    "id": (str,), "text": (str,), "knelpunten": (list,), "stance": (str,), "solutions": (list,),
    "respondents": (list,), "case": (str,), "context": (str, _NONE), "source": (dict,),
}
# source.kind is required; the others are optional; further keys are kept as extra provenance.
SOURCE_FIELDS: dict[str, tuple[type, ...]] = {
    "kind": (str,), "section": (str, _NONE), "line": (int, _NONE), "note": (str,),
}
_LIST_ITEM_TYPES = {"knelpunten": int, "solutions": str, "respondents": str}


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    # bool is an int subclass; true/false is never a valid number here.
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", list: "a list", dict: "an object", _NONE: "null"}
    return " or ".join(names[t] for t in types)


def structure_problems(data: Any) -> list[str]:
    """Missing, unknown and wrong-typed fields of one record (no codebook needed)."""
    if not isinstance(data, dict):
        return [f"a line must hold one JSON object, got {type(data).__name__}"]
    problems = [f"missing field '{k}'" for k in _FIELDS if k not in data]
    problems += [f"unknown field '{k}'; allowed: {', '.join(_FIELDS)}" for k in data if k not in _FIELDS]
    for key, types in _FIELDS.items():
        if key in data and not _type_ok(data[key], types):
            problems.append(f"field '{key}' must be {_type_names(types)}, got {json.dumps(data[key])[:40]}")
        elif key in _LIST_ITEM_TYPES and key in data:
            item_type = _LIST_ITEM_TYPES[key]
            bad = [v for v in data[key] if not _type_ok(v, (item_type,))]
            if bad:
                problems.append(f"field '{key}' must list {_type_names((item_type,))} values, got {bad[0]!r}")
    src = data.get("source")
    if isinstance(src, dict):
        if "kind" not in src:
            problems.append("missing field 'source.kind'")
        for key, types in SOURCE_FIELDS.items():
            if key in src and not _type_ok(src[key], types):
                problems.append(f"field 'source.{key}' must be {_type_names(types)}, got {src[key]!r}")
    return problems


def content_problems(data: dict, codebook: Codebook | None) -> list[str]:
    """Problems with the values of a structurally valid record."""
    problems = []
    if not data["id"].strip():
        problems.append("empty id")
    if not data["text"].strip():
        problems.append("empty text")
    if "\n" in data["text"] or "\r" in data["text"]:
        problems.append("text contains a line break; join the lines (re-join hyphenated words)")
    if data["stance"] not in STANCES:
        problems.append(f"unknown stance {data['stance']!r}; use one of {', '.join(STANCES)}")
    if data["stance"] == "knelpunt" and not data["knelpunten"]:
        problems.append("stance 'knelpunt' needs at least one knelpunt number")
    if len(set(data["knelpunten"])) != len(data["knelpunten"]):
        problems.append("a knelpunt number is listed twice")
    if data["case"] in HELD_BACK_CASES:
        problems.append(f"case {data['case']!r} is held back for evaluation and must never be in labelled data")
    elif data["case"] not in CASES:
        problems.append(f"unknown case {data['case']!r}; use one of {', '.join(CASES)}")
    # Respondent ids of reviewed transcripts belong to the reviewing project's own study, where "Z3"
    # can be anyone; only thesis-derived and handwritten examples could leak the thesis' case Z.
    leaked = [r for r in data["respondents"] if _HELD_BACK_RESPONDENT_RE.search(r)]
    if leaked and data["source"].get("kind") != "review":
        problems.append(f"respondent {leaked[0]!r} belongs to held-back case Z")
    if data["source"]["kind"] not in SOURCE_KINDS:
        problems.append(f"unknown source.kind {data['source']['kind']!r}; use one of {', '.join(SOURCE_KINDS)}")
    if codebook is not None:
        numbers = {c.number for c in codebook.knelpunten()}
        solutions = {c.id for c in codebook.solutions()}
        problems += [f"knelpunt number {n} is not in codebook {codebook.key} {codebook.version}"
                     for n in data["knelpunten"] if n not in numbers]
        problems += [f"unknown solution id {s!r} (not an oplossing in codebook {codebook.key} {codebook.version})"
                     for s in data["solutions"] if s not in solutions]
    return problems
