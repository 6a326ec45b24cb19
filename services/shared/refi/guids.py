"""Deterministic REFI-QDA GUIDs: uuid5 of stable qcoder ids, so repeated exports are identical."""
from __future__ import annotations

import re
import uuid

# Fixed namespace for every GUID qcoder writes; changing it would change every exported GUID.
QCODER_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://qcoder.invalid/refi-qda/1")

_GUID_RE = re.compile(r"^\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?$")


def stable_guid(kind: str, *parts: object) -> str:
    """A lower-case GUID derived from a kind ("source", "code", ...) and the ids that identify the thing."""
    name = "\x1f".join([kind, *(str(part) for part in parts)])
    return str(uuid.uuid5(QCODER_NAMESPACE, name))


def project_guid(project_id: str) -> str:
    """GUID of a project."""
    return stable_guid("project", project_id)


def user_guid(user_id: int) -> str:
    """GUID of a person (a qcoder user id)."""
    return stable_guid("user", user_id)


def model_user_guid(model_version: str) -> str:
    """GUID of the pseudo-user that stands for one model version's unreviewed suggestions."""
    return stable_guid("model-user", model_version)


def code_guid(codebook_sha256: str, code_id: str) -> str:
    """GUID of a code: the same code id in the same codebook content always gets the same GUID."""
    return stable_guid("code", codebook_sha256, code_id)


def category_guid(codebook_sha256: str, category_id: str) -> str:
    """GUID of a knelpunt category, exported as a non-codable parent code."""
    return stable_guid("category", codebook_sha256, category_id)


def code_set_guid(codebook_sha256: str, name: str) -> str:
    """GUID of a code group (a REFI Set of codes)."""
    return stable_guid("code-set", codebook_sha256, name)


def source_guid(transcript_id: str) -> str:
    """GUID of a transcript's TextSource."""
    return stable_guid("source", transcript_id)


def text_file_guid(transcript_id: str, text_sha256: str) -> str:
    """GUID naming the Sources/<guid>.txt file: it changes when the text changes."""
    return stable_guid("text-file", transcript_id, text_sha256)


def selection_guid(quotation_id: str) -> str:
    """GUID of a quotation's PlainTextSelection."""
    return stable_guid("selection", quotation_id)


def coding_guid(quotation_id: str, code_id: str, user: str) -> str:
    """GUID of one Coding: a code applied to a quotation by one (pseudo-)user."""
    return stable_guid("coding", quotation_id, code_id, user)


def note_guid(event_id: int) -> str:
    """GUID of a memo (a review 'comment' event)."""
    return stable_guid("note", event_id)


def case_guid(project_id: str, case_name: str) -> str:
    """GUID of a case (a casus such as a municipality)."""
    return stable_guid("case", project_id, case_name)


def variable_guid(project_id: str, name: str) -> str:
    """GUID of a respondent attribute (a REFI Variable)."""
    return stable_guid("variable", project_id, name)


def document_set_guid(project_id: str, name: str) -> str:
    """GUID of a document group (a REFI Set of sources)."""
    return stable_guid("document-set", project_id, name)


def normalise_guid(raw: str | None) -> tuple[str | None, list[str]]:
    """Canonical lower-case GUID without braces, and what had to be changed to get it.

    Returns (None, [...]) when the value is not a GUID at all.
    """
    if raw is None:
        return None, []
    value = raw.strip()
    match = _GUID_RE.match(value)
    if match is None:
        return None, [f"not a GUID: {raw!r}"]
    changes = []
    if value.startswith("{"):
        changes.append("braces")
    if any(ch.isupper() for ch in match.group(1)):
        changes.append("upper-case")
    return match.group(1).lower(), changes
