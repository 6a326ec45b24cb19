"""Labelled-data snapshots: load, validate, manifest and content hash.

A snapshot is a directory `labelled_data/<name>/` holding `parts/*.jsonl` (one example per line, the
format is in labelled_data/README.md) and `manifest.json` (counts and hashes). A published snapshot
never changes: a changed label makes a new snapshot with a new hash, and that hash
("sha256:<hex>", `Snapshot.data_snapshot`) is what model versions record as their training data.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from services.shared.codebook import STANCES, Codebook
from services.shared.errors import ConflictError, LabelledDataError
from services.shared.labelled_record import SOURCE_FIELDS, content_problems, structure_problems

log = logging.getLogger(__name__)

FORMAT = "qcoder-labelled-data/1"
PARTS_DIR = "parts"
MANIFEST_FILE = "manifest.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


@dataclass(frozen=True)
class Source:
    """Where an example comes from: kind, thesis section and line, the sub-heading, extra keys."""

    kind: str
    section: str | None = None
    line: int | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict, hash=False)  # hash=False keeps Example hashable

    def to_dict(self) -> dict:
        """Return the JSON form of the source."""
        return {"kind": self.kind, "section": self.section, "line": self.line, "note": self.note, **self.extra}


@dataclass(frozen=True)
class Example:
    """One labelled passage: text, knelpunt numbers, stance, solution ids, respondents, case, source."""

    id: str
    text: str
    knelpunten: tuple[int, ...]
    stance: str
    solutions: tuple[str, ...]
    respondents: tuple[str, ...]
    case: str
    context: str | None
    source: Source

    def to_dict(self) -> dict:
        """Return the JSON form of the example, in the field order of the format."""
        return {"id": self.id, "text": self.text, "knelpunten": list(self.knelpunten), "stance": self.stance,
                "solutions": list(self.solutions), "respondents": list(self.respondents), "case": self.case,
                "context": self.context, "source": self.source.to_dict()}

    @classmethod
    def from_dict(cls, data: Any) -> Example:
        """Build an example from its JSON form; raises LabelledDataError naming every structural problem."""
        problems = structure_problems(data)
        if problems:
            raise LabelledDataError("Invalid example: " + "; ".join(problems), problems=problems)
        src = data["source"]
        extra = {k: v for k, v in src.items() if k not in SOURCE_FIELDS}
        return cls(id=data["id"], text=data["text"], knelpunten=tuple(data["knelpunten"]), stance=data["stance"],
                   solutions=tuple(data["solutions"]), respondents=tuple(data["respondents"]), case=data["case"],
                   context=data["context"], source=Source(src["kind"], src.get("section"), src.get("line"),
                                                          src.get("note", ""), extra))


@dataclass(frozen=True)
class Snapshot:
    """A loaded snapshot: its examples in part-file order, its stored manifest and its content hash."""

    name: str
    path: Path
    examples: tuple[Example, ...]
    manifest: dict | None
    sha256: str  # hex digest over the sorted part-file hashes

    @property
    def data_snapshot(self) -> str:
        """The identifier model versions record: "sha256:<hex>"."""
        return f"sha256:{self.sha256}"


# ---------------------------------------------------------------------------------------------
# Reading and checking
# ---------------------------------------------------------------------------------------------

def _part_files(directory: Path) -> list[Path]:
    return sorted((directory / PARTS_DIR).glob("*.jsonl"))


def _scan(directory: Path, codebook: Codebook | None) -> tuple[list[str], list[dict]]:
    """Read every part line; return the problems ("file:line: ...") and the well-formed records.

    Without a codebook every rule except the code lookups is still checked."""
    directory = Path(directory)
    if not directory.is_dir():
        return [f"{directory}: not a snapshot directory"], []
    files = _part_files(directory)
    if not files:
        return [f"{directory}: no {PARTS_DIR}/*.jsonl files; a snapshot needs at least one part"], []
    problems: list[str] = []
    records: list[dict] = []
    first_seen: dict[str, str] = {}
    for path in files:
        rel = f"{PARTS_DIR}/{path.name}"
        try:
            lines = path.read_bytes().decode("utf-8").split("\n")
        except UnicodeDecodeError as exc:
            problems.append(f"{rel}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
            continue
        if lines and lines[-1] == "":
            lines.pop()  # the newline that ends the last line
        for number, line in enumerate(lines, 1):
            where = f"{rel}:{number}"
            if not line.strip():
                problems.append(f"{where}: empty line; remove it")
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{where}: bad JSON: {exc.msg} (column {exc.colno})")
                continue
            found = structure_problems(data)
            if not found:
                records.append(data)
                found = content_problems(data, codebook)
            problems += [f"{where}: {p}" for p in found]
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                if data["id"] in first_seen:
                    problems.append(f"{where}: duplicate id {data['id']!r} (first at {first_seen[data['id']]})")
                else:
                    first_seen[data["id"]] = where
    return problems, records


def validate_snapshot(directory: str | Path, codebook: Codebook) -> list[str]:
    """Return every problem of the snapshot's parts, each starting with "parts/<file>:<line>"; [] when valid."""
    return _scan(Path(directory), codebook)[0]


def _parse(directory: Path) -> list[Example]:
    """Examples of all parts in sorted file order; raises LabelledDataError on any problem that needs no
    codebook (so a held-back case Z example can never be loaded for training)."""
    problems, records = _scan(directory, None)
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise LabelledDataError(f"{directory}: cannot read the labelled data: {shown}. Run validate_snapshot "
                                "for the full list.", problems=problems)
    return [Example.from_dict(data) for data in records]


# ---------------------------------------------------------------------------------------------
# Hashes and manifest
# ---------------------------------------------------------------------------------------------

def _sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _snapshot_sha256(part_hashes: Iterable[str]) -> str:
    """Hash over the sorted part hashes: independent of file names and read order."""
    return _sha256_bytes("\n".join(sorted(part_hashes)).encode("ascii"))


def _build_manifest(directory: Path, name: str) -> dict:
    examples = _parse(directory)  # raises when a part cannot be read
    parts = []
    for path in _part_files(directory):
        data = path.read_bytes()
        count = sum(1 for line in data.split(b"\n") if line.strip())  # _parse has refused empty lines
        parts.append({"file": path.name, "sha256": _sha256_bytes(data), "examples": count})
    digest = _snapshot_sha256(p["sha256"] for p in parts)
    knelpunten = Counter(n for e in examples for n in e.knelpunten)
    stances = Counter(e.stance for e in examples)
    return {
        "format": FORMAT,
        "snapshot": name,
        "sha256": digest,
        "data_snapshot": f"sha256:{digest}",
        "parts": parts,
        "totals": {
            "examples": len(examples),
            "case": dict(sorted(Counter(e.case for e in examples).items())),
            "stance": {s: stances[s] for s in STANCES} | {s: c for s, c in sorted(stances.items()) if s not in STANCES},
            "knelpunt": {str(n): knelpunten[n] for n in sorted(knelpunten)},
            "without_knelpunt": sum(1 for e in examples if not e.knelpunten),
            "solution": dict(sorted(Counter(s for e in examples for s in e.solutions).items())),
            "source_kind": dict(sorted(Counter(e.source.kind for e in examples).items())),
        },
    }


def compute_manifest(directory: str | Path) -> dict:
    """Compute the manifest (parts with hash and count, totals, overall sha256) from the part files."""
    directory = Path(directory)
    return _build_manifest(directory, directory.name)


def _read_manifest(directory: Path) -> dict:
    path = directory / MANIFEST_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabelledDataError(f"{path}: no manifest; create it with write_manifest('{directory}').") from None
    except json.JSONDecodeError as exc:
        raise LabelledDataError(f"{path}:{exc.lineno}: bad JSON in the manifest ({exc.msg}); "
                                "regenerate it with write_manifest.") from exc


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # a reader never sees half a manifest


def write_manifest(directory: str | Path, provenance: Mapping[str, Any] | None = None) -> dict:
    """Write manifest.json (created_at kept while the hash is unchanged; old provenance unless given)."""
    directory = Path(directory)
    manifest = compute_manifest(directory)
    old = _read_manifest(directory) if (directory / MANIFEST_FILE).exists() else {}
    same = old.get("sha256") == manifest["sha256"] and "created_at" in old
    manifest["created_at"] = old["created_at"] if same else datetime.now(timezone.utc).isoformat(timespec="seconds")
    manifest["provenance"] = dict(provenance) if provenance is not None else old.get("provenance", {})
    _write_json(directory / MANIFEST_FILE, manifest)
    return manifest


def check_manifest(directory: str | Path) -> dict:
    """Return the stored manifest; raises LabelledDataError when it does not match the part files."""
    directory = Path(directory)
    stored = _read_manifest(directory)
    expected = compute_manifest(directory)
    differences = [key for key in expected if stored.get(key) != expected[key]]
    if differences:
        stored_parts = {p.get("file"): p.get("sha256") for p in stored.get("parts", []) if isinstance(p, dict)}
        changed = sorted(p["file"] for p in expected["parts"] if stored_parts.get(p["file"]) != p["sha256"])
        removed = sorted(set(stored_parts) - {p["file"] for p in expected["parts"]})
        detail = (f"; changed or new parts: {', '.join(changed)}" if changed else "") + \
                 (f"; removed parts: {', '.join(map(str, removed))}" if removed else "")
        raise LabelledDataError(
            f"{directory / MANIFEST_FILE}: does not match the part files (differs in {', '.join(differences)}"
            f"{detail}). A published snapshot must not change: make a new snapshot for new labels, or run "
            "write_manifest if this snapshot is still being assembled.",
            differences=differences, changed=changed, removed=removed)
    return stored


def load_snapshot(directory: str | Path) -> Snapshot:
    """Load all parts/*.jsonl in sorted order; raises LabelledDataError when a line cannot be read."""
    directory = Path(directory)
    examples = _parse(directory)
    digest = _snapshot_sha256(_sha256_bytes(p.read_bytes()) for p in _part_files(directory))
    manifest = None
    if not (directory / MANIFEST_FILE).exists():
        log.warning("labelled-data snapshot %s has no %s; run write_manifest", directory, MANIFEST_FILE)
    else:
        manifest = _read_manifest(directory)
        if manifest.get("sha256") != digest:
            log.warning("labelled-data snapshot %s: %s records sha256 %s but the parts hash to %s; "
                        "the snapshot changed after its manifest was written", directory, MANIFEST_FILE,
                        manifest.get("sha256"), digest)
    return Snapshot(name=directory.name, path=directory, examples=tuple(examples), manifest=manifest, sha256=digest)


# ---------------------------------------------------------------------------------------------
# New snapshots
# ---------------------------------------------------------------------------------------------

def snapshot_from_examples(examples: Iterable[Example] | Mapping[str, Iterable[Example]], out_dir: str | Path,
                           name: str, provenance: Mapping[str, Any], *, codebook: Codebook | None = None
                           ) -> Snapshot:
    """Write the new immutable snapshot out_dir/name; raises ConflictError if it exists, LabelledDataError if invalid.

    A plain iterable becomes the part "examples"; a mapping gives one part per key. Files are read-only.
    """
    out_dir = Path(out_dir)
    if not _NAME_RE.match(name):
        raise LabelledDataError(f"Snapshot name {name!r} is not valid; use letters, digits, '.', '_' or '-'.")
    target = out_dir / name
    if target.exists():
        raise ConflictError(f"{target} already exists and snapshots are never overwritten; choose a new name "
                            "(e.g. the next version number).", path=str(target))
    parts = {"examples": list(examples)} if not isinstance(examples, Mapping) else \
        {part.removesuffix(".jsonl"): list(items) for part, items in examples.items()}
    bad = [p for p in parts if not _NAME_RE.match(p)]
    if bad or not any(parts.values()):
        raise LabelledDataError(f"Cannot write snapshot {name!r}: " + (f"invalid part name {bad[0]!r}" if bad
                                else "there are no examples"))
    try:
        json.dumps(dict(provenance))
    except (TypeError, ValueError) as exc:
        raise LabelledDataError(f"Provenance of snapshot {name!r} must be JSON data: {exc}") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=out_dir))
    try:
        (tmp / PARTS_DIR).mkdir()
        for part, items in parts.items():
            lines = [json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in items]
            (tmp / PARTS_DIR / f"{part}.jsonl").write_text("".join(lines), encoding="utf-8")
        problems = _scan(tmp, codebook)[0]
        if problems:
            raise LabelledDataError(f"Cannot write snapshot {name!r}: {len(problems)} problem(s): "
                                    + "; ".join(problems[:10]), problems=problems)
        manifest = _build_manifest(tmp, name)
        manifest["created_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        manifest["provenance"] = dict(provenance)
        _write_json(tmp / MANIFEST_FILE, manifest)
        for path in [*_part_files(tmp), tmp / MANIFEST_FILE]:
            path.chmod(0o444)  # immutable on disk too: an accidental edit fails loudly
        if target.exists():
            raise ConflictError(f"{target} appeared while the snapshot was being written; choose a new name.",
                                path=str(target))
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # best-effort cleanup; the original error is re-raised
        raise
    return load_snapshot(target)

