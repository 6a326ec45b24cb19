"""Placeholders such as [PERSOON-1], replacing spans of a text, and mapping old offsets to new ones."""
from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# What is recognised -> the word in its placeholder. The kinds are those of the gold names
# (labelled_data/transcripts/README.md), plus url and nummer (identification numbers).
PLACEHOLDER_WORDS = {
    "persoon": "PERSOON",
    "locatie": "LOCATIE",
    "organisatie": "ORGANISATIE",
    "datum": "DATUM",
    "telefoon": "TELEFOON",
    "email": "EMAIL",
    "url": "URL",
    "nummer": "NUMMER",
}
KINDS = tuple(PLACEHOLDER_WORDS)
_WORD_TO_KIND = {word: kind for kind, word in PLACEHOLDER_WORDS.items()}
PLACEHOLDER = re.compile(r"\[(?P<word>" + "|".join(PLACEHOLDER_WORDS.values()) + r")-(?P<number>\d{1,6})\]")
# A value longer than this is not a name but a selection error (characters).
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class Entity:
    """A recognised span [start, end) of a text and what kind of identifying detail it is."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Replacement:
    """One span of the old text [start, end) that became `placeholder`."""

    start: int
    end: int
    placeholder: str
    kind: str
    value: str


def placeholder_text(kind: str, number: int) -> str:
    """The placeholder for the `number`-th value of `kind` in a project: [PERSOON-3]."""
    return f"[{PLACEHOLDER_WORDS[kind]}-{number}]"


def parse_placeholder(placeholder: str) -> tuple[str, int] | None:
    """(kind, number) of a placeholder string, or None when it is not one."""
    match = PLACEHOLDER.fullmatch(placeholder.strip())
    if match is None:
        return None
    return _WORD_TO_KIND[match["word"]], int(match["number"])


def normalise_value(value: str) -> str:
    """The form under which two mentions count as the same value (case, spacing, accents kept)."""
    return " ".join(unicodedata.normalize("NFC", value).split())


def placeholder_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the placeholders already in `text` (so they are never pseudonymised twice)."""
    return [(m.start(), m.end()) for m in PLACEHOLDER.finditer(text)]


def resolve_overlaps(entities: Iterable[Entity], text: str) -> list[Entity]:
    """Sorted, non-overlapping entities: overlapping ones merge into their union.

    The union is the safe choice for privacy: "Zorggroep De Linde" (organisation) and "De Linde"
    (location) become one span. The merged span keeps the kind of its longest part. Entities that
    touch an existing placeholder are dropped, and whitespace at either end is trimmed.
    """
    protected = placeholder_spans(text)
    trimmed = []
    for entity in entities:
        start, end = _strip(text, entity.start, entity.end)
        if end <= start or any(start < p_end and p_start < end for p_start, p_end in protected):
            continue
        trimmed.append(Entity(start, end, entity.kind))
    trimmed.sort(key=lambda e: (e.start, -(e.end - e.start)))
    merged: list[Entity] = []
    longest: list[int] = []
    for entity in trimmed:
        if merged and entity.start < merged[-1].end:
            last = merged[-1]
            kind = entity.kind if entity.end - entity.start > longest[-1] else last.kind
            merged[-1] = Entity(last.start, max(last.end, entity.end), kind)
            longest[-1] = max(longest[-1], entity.end - entity.start)
        else:
            merged.append(entity)
            longest.append(entity.end - entity.start)
    return merged


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:"):
        end -= 1
    return start, end


class OffsetMap:
    """Maps offsets of a text before replacements to offsets of the text after them."""

    def __init__(self, edits: Sequence[tuple[int, int, int]]) -> None:
        """`edits`: non-overlapping (old_start, old_end, new_length), sorted by old_start."""
        self._starts = [start for start, _end, _length in edits]
        self._edits = list(edits)
        self._shift_before: list[int] = []  # cumulative shift caused by all edits before edit i
        shift = 0
        for start, end, length in self._edits:
            self._shift_before.append(shift)
            shift += length - (end - start)
        self._total_shift = shift

    @property
    def identity(self) -> bool:
        """True when nothing was replaced."""
        return not self._edits

    def start(self, offset: int) -> int:
        """New position of a span start: a start inside a replaced span moves to the placeholder's start."""
        return self._map(offset, to_end=False)

    def end(self, offset: int) -> int:
        """New position of a span end: an end inside a replaced span moves to the placeholder's end."""
        return self._map(offset, to_end=True)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """New [start, end) of an old span; a span never shrinks to nothing unless it was empty."""
        return self.start(start), self.end(end)

    def _map(self, offset: int, *, to_end: bool) -> int:
        index = bisect.bisect_right(self._starts, offset) - 1
        if index < 0:
            return offset
        start, end, length = self._edits[index]
        before = self._shift_before[index]
        if offset == start:
            return offset + before
        if offset < end:  # inside the replaced span
            return start + before + (length if to_end else 0)
        return offset + before + length - (end - start)


def replace_spans(text: str, replacements: Sequence[Replacement]) -> tuple[str, OffsetMap]:
    """Replace non-overlapping spans by their placeholders; returns the new text and the offset map."""
    ordered = sorted(replacements, key=lambda r: r.start)
    pieces: list[str] = []
    edits: list[tuple[int, int, int]] = []
    position = 0
    for replacement in ordered:
        if replacement.start < position:
            raise ValueError(f"replacements overlap at {replacement.start}")
        pieces.append(text[position:replacement.start])
        pieces.append(replacement.placeholder)
        edits.append((replacement.start, replacement.end, len(replacement.placeholder)))
        position = replacement.end
    pieces.append(text[position:])
    return "".join(pieces), OffsetMap(edits)


def whole_word_occurrences(text: str, value: str) -> list[tuple[int, int]]:
    """Every occurrence of `value` in `text` that is not part of a longer word (case-sensitive)."""
    if not value:
        return []
    # A hyphen counts as a word boundary: "Veltkamp-huurders" must not keep the name.
    pattern = re.compile(r"(?<![\w@.])" + re.escape(value) + r"(?![\w@]|\.\w)")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]
