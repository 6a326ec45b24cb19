"""A REFI-QDA project as read from a file: plain data, before anything is stored."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class QdaUser:
    """A REFI user; `user_id` is the optional id attribute (qcoder writes "qcoder-model:<version>" there)."""

    guid: str
    name: str
    user_id: str | None = None


@dataclass
class QdaCode:
    """A code; non-codable codes are folders. `parent` is the parent code's GUID."""

    guid: str
    name: str
    codable: bool
    color: str | None
    description: str
    parent: str | None = None


@dataclass
class QdaSet:
    """A named group of codes and/or sources."""

    guid: str
    name: str
    description: str
    member_codes: list[str] = field(default_factory=list)
    member_sources: list[str] = field(default_factory=list)


@dataclass
class QdaCoding:
    """A code applied to a selection by a user at a time."""

    guid: str
    code_guid: str
    user_guid: str | None
    created: str | None


@dataclass
class QdaSelection:
    """A character span [start, end) of a text source with its codings and notes."""

    guid: str
    name: str
    start: int
    end: int
    user_guid: str | None
    created: str | None
    description: str
    codings: list[QdaCoding] = field(default_factory=list)
    note_refs: list[str] = field(default_factory=list)


@dataclass
class QdaSource:
    """A text source: its name, raw text (positions count code points into it), selections, variables."""

    guid: str
    name: str
    text: str
    selections: list[QdaSelection] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # variable GUID -> value as text
    note_refs: list[str] = field(default_factory=list)


@dataclass
class QdaNote:
    """A memo."""

    guid: str
    name: str
    text: str
    user_guid: str | None
    created: str | None


@dataclass
class QdaCase:
    """A case: a named group of sources with variable values."""

    guid: str
    name: str
    source_refs: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)


@dataclass
class QdaLink:
    """A link between two objects (ATLAS.ti links memos to quotations this way)."""

    guid: str
    name: str
    origin: str | None
    target: str | None


@dataclass
class QdaProject:
    """Everything read from a .qdpx (or only codes and sets, from a .qdc), plus what deviated from the standard."""

    name: str
    origin: str
    users: dict[str, QdaUser] = field(default_factory=dict)
    codes: list[QdaCode] = field(default_factory=list)  # depth-first document order
    sets: list[QdaSet] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # GUID -> name
    cases: list[QdaCase] = field(default_factory=list)
    sources: list[QdaSource] = field(default_factory=list)
    notes: dict[str, QdaNote] = field(default_factory=dict)
    links: list[QdaLink] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
