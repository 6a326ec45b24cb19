"""Validating REFI-QDA XML against the published schemas (Project.xsd, Codebook.xsd).

They are looked up in $QCODER_REFI_SCHEMA_DIR, else ../shared/refi-qda next to the repository (the
published copy the tests are meant to use), else the copy shipped in services/shared/refi/xsd (MIT
licence, see its SOURCE.md).
"""
from __future__ import annotations

import os
from pathlib import Path

from lxml import etree

from services.shared.config import REPO_ROOT
from services.shared.errors import ModelUnavailableError, QdaExchangeError

SCHEMA_DIR_ENV = "QCODER_REFI_SCHEMA_DIR"
SCHEMA_FILES = {"project": "Project.xsd", "codebook": "Codebook.xsd"}
SHIPPED_SCHEMA_DIR = Path(__file__).with_name("xsd")


def schema_dir() -> Path:
    """Where the REFI-QDA schemas are; raises ModelUnavailableError naming both places looked at."""
    candidates = [Path(os.environ[SCHEMA_DIR_ENV])] if os.environ.get(SCHEMA_DIR_ENV) else []
    candidates.append(REPO_ROOT.parent / "shared" / "refi-qda")
    candidates.append(SHIPPED_SCHEMA_DIR)
    for folder in candidates:
        if all((folder / name).is_file() for name in SCHEMA_FILES.values()):
            return folder
    raise ModelUnavailableError(
        f"The REFI-QDA schemas ({', '.join(SCHEMA_FILES.values())}) were not found in "
        f"{' or '.join(str(c) for c in candidates)}; set {SCHEMA_DIR_ENV} to the folder that holds them.")


def load_schema(kind: str, folder: Path | None = None) -> etree.XMLSchema:
    """The compiled XML schema for "project" or "codebook"."""
    path = (folder or schema_dir()) / SCHEMA_FILES[kind]
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(path), parser))


def validate(document: bytes, kind: str, folder: Path | None = None) -> None:
    """Raise QdaExchangeError listing the schema violations of a .qde ("project") or .qdc ("codebook")."""
    schema = load_schema(kind, folder)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.fromstring(document, parser)
    if not schema.validate(tree):
        problems = [f"line {e.line}: {e.message}" for e in list(schema.error_log)[:20]]
        raise QdaExchangeError(f"The {kind} XML does not validate against {SCHEMA_FILES[kind]}: "
                               + "; ".join(problems), problems=problems)
