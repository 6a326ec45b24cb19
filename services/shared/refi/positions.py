"""Mapping REFI selection positions onto qcoder's stored text (line endings normalised to "\\n").

REFI counts Unicode code points into the source file. Some tools count UTF-16 code units (which
differ after emoji), and some count on text with "\\n" line endings while storing "\\r\\n". Where
the file's text allows several readings, the selection names (tools put the start of the quoted
text there) decide which reading fits; the choice is reported when it is not the standard one.
"""
from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.shared.ingest.decoding import normalise_newlines
from services.shared.refi.model import QdaSelection

STANDARD = "code points in the file's text"
SCHEMES = (STANDARD, "code points in the text with \\n line endings", "UTF-16 code units in the file's text",
           "UTF-16 code units in the text with \\n line endings")


@dataclass
class PositionMapping:
    """The reading chosen for one source and the function that maps a position onto the stored text."""

    scheme: str
    to_text: Callable[[int], int]
    evidence: int  # how many selection names matched the selected text under this reading


def normalised_text(raw: str) -> str:
    """The text as qcoder stores it (what read_transcript_bytes makes of a .txt)."""
    return normalise_newlines(raw).removeprefix("\ufeff")


def choose_mapping(raw: str, selections: Sequence[QdaSelection]) -> PositionMapping:
    """Pick the reading of positions under which most selection names match their text (ties: the standard)."""
    text = normalised_text(raw)
    raw_to_text = _raw_to_normalised(raw)
    candidates = [(STANDARD, raw_to_text)]
    if "\r" in raw:
        candidates.append((SCHEMES[1], _identity(len(text))))
    if any(ord(ch) > 0xFFFF for ch in raw):
        candidates.append((SCHEMES[2], _compose(_utf16_to_codepoints(raw), raw_to_text)))
        if "\r" in raw:
            candidates.append((SCHEMES[3], _utf16_to_codepoints(text)))
    best = None
    for scheme, mapping in candidates:
        evidence = sum(1 for s in selections if _name_matches(s.name, text, mapping(s.start), mapping(s.end)))
        if best is None or evidence > best.evidence:
            best = PositionMapping(scheme, mapping, evidence)
    return best


def _name_matches(name: str, text: str, start: int, end: int) -> bool:
    wanted = " ".join(name.rstrip("…").rstrip(".").split())
    if len(wanted) < 4 or not 0 <= start < end <= len(text):
        return False
    return " ".join(text[start:end].split()).startswith(wanted)


def _raw_to_normalised(raw: str) -> Callable[[int], int]:
    """Position in the raw text -> position in the normalised text (CRLF counts as one character)."""
    shifts = []  # raw index of each '\n' that follows '\r' (one character removed there)
    for index in range(1, len(raw)):
        if raw[index] == "\n" and raw[index - 1] == "\r":
            shifts.append(index)
    bom = 1 if raw.startswith("\ufeff") else 0

    def mapping(position: int) -> int:
        position = max(0, min(position, len(raw)))
        return max(0, position - bisect.bisect_left(shifts, position) - bom)

    return mapping


def _utf16_to_codepoints(text: str) -> Callable[[int], int]:
    """UTF-16 code unit offset -> code point offset (a position inside a surrogate pair rounds down)."""
    starts = []
    units = 0
    for ch in text:
        starts.append(units)
        units += 2 if ord(ch) > 0xFFFF else 1
    starts.append(units)

    def mapping(position: int) -> int:
        return max(0, bisect.bisect_right(starts, position) - 1)

    return mapping


def _identity(length: int) -> Callable[[int], int]:
    return lambda position: max(0, min(position, length))


def _compose(first: Callable[[int], int], second: Callable[[int], int]) -> Callable[[int], int]:
    return lambda position: second(first(position))
