"""The recogniser interface, combining recognisers, and the process-wide recogniser from settings."""
from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from typing import Protocol

from services.shared.config import Settings
from services.shared.privacy.placeholders import Entity, normalise_value
from services.shared.privacy.rules import RuleRecogniser

_LOCK = threading.Lock()
_CACHE: dict[str, Recogniser] = {}


class Recogniser(Protocol):
    """Finds identifying details in a text."""

    name: str

    def find(self, text: str) -> list[Entity]:
        """Entities in `text`; they may overlap (callers resolve overlaps)."""
        ...


class CombinedRecogniser:
    """The union of what several recognisers find."""

    def __init__(self, parts: Sequence[Recogniser]) -> None:
        self.parts = list(parts)
        self.name = "+".join(part.name for part in self.parts)

    def find(self, text: str) -> list[Entity]:
        """Everything any part finds."""
        return [entity for part in self.parts for entity in part.find(text)]


class KnownValuesRecogniser:
    """Finds the values a project's key already holds (also names reviewers marked by hand)."""

    name = "known"

    def __init__(self, values: Iterable[tuple[str, str]]) -> None:
        """`values`: (value, kind) pairs; matching is case-sensitive and on whole words."""
        self._kinds: dict[str, str] = {}
        for value, kind in values:
            value = normalise_value(value)
            if value:
                self._kinds.setdefault(value, kind)
        ordered = sorted(self._kinds, key=len, reverse=True)  # longest first: "Femke Jansen" before "Femke"
        body = "|".join(_flexible_space(v) for v in ordered)
        self._pattern = re.compile(rf"(?<![\w@.])(?:{body})(?![\w@]|\.\w)") if ordered else None

    def find(self, text: str) -> list[Entity]:
        """Every whole-word occurrence of a known value."""
        if self._pattern is None:
            return []
        return [Entity(m.start(), m.end(), self._kinds[normalise_value(m.group())]) for m in self._pattern.finditer(text)]


def _flexible_space(value: str) -> str:
    # A stored value has single spaces; the text may break it over other whitespace.
    return r"\s+".join(re.escape(part) for part in value.split(" "))


def get_recogniser(settings: Settings) -> Recogniser:
    """The recogniser the settings name, built once per process (deduce takes ~20 s to load)."""
    name = settings.pseudonymise_recogniser
    with _LOCK:
        if name not in _CACHE:
            _CACHE[name] = _build(name)
        return _CACHE[name]


def _build(name: str) -> Recogniser:
    if name == "rules":
        return RuleRecogniser()
    from services.shared.privacy.deduce_backend import DeduceRecogniser

    return CombinedRecogniser([DeduceRecogniser(), RuleRecogniser()])
