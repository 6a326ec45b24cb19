"""deduce (Dutch de-identification, offline) as a recogniser: names, places, dates, phones, e-mail.

deduce builds lookup structures on first use (minutes) and caches them inside its package folder;
later loads take about 20 s. Load it once per process through `load_deduce()`.
"""
from __future__ import annotations

import logging
import re
import threading
import time

from services.shared.errors import ModelUnavailableError
from services.shared.privacy import lists
from services.shared.privacy.placeholders import Entity
from services.shared.privacy.rules import sentence_initial

log = logging.getLogger(__name__)

# deduce tag -> our kind; tags not listed (leeftijd: ages, which analyses need) are left in the text.
TAG_KINDS = {
    "persoon": "persoon", "patient": "persoon", "locatie": "locatie", "straat": "locatie",
    "ziekenhuis": "organisatie", "zorginstelling": "organisatie", "instelling": "organisatie",
    "datum": "datum", "telefoonnummer": "telefoon", "emailadres": "email", "url": "url",
    "bsn": "nummer", "id": "nummer",
}
_LOCK = threading.Lock()
_INSTANCE: object | None = None
_LEADING_LOWER = re.compile(r"^(?:[a-zà-ÿ][\w.]*[ \t]+)+")


def load_deduce() -> object:
    """The process's deduce.Deduce instance, built on first call (thread-safe)."""
    global _INSTANCE
    with _LOCK:
        if _INSTANCE is None:
            _INSTANCE = _build()
        return _INSTANCE


def _build() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    started = time.perf_counter()
    try:
        import deduce
    except ImportError as exc:
        raise ModelUnavailableError(
            "The Dutch de-identification package 'deduce' is not installed; run scripts/setup.sh, or set "
            "QCODER_PSEUDONYMISE_RECOGNISER=rules to pseudonymise with qcoder's rules only.",
            missing="deduce",
        ) from exc
    finally:
        # deduce calls logging.basicConfig(level=DEBUG) on import, which would flood our logs.
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
    instance = deduce.Deduce()
    log.info("loaded deduce %s in %.1f s", getattr(deduce, "__version__", "?"), time.perf_counter() - started)
    return instance


class DeduceRecogniser:
    """deduce's annotations as entities, minus titles in front of names and sentence-opening words."""

    name = "deduce"

    def __init__(self, instance: object | None = None) -> None:
        self._deduce = instance if instance is not None else load_deduce()
        # Uploads run in a thread pool; deduce does not promise thread safety, and being CPU-bound
        # under the GIL it gains nothing from running twice at once.
        self._lock = threading.Lock()

    def find(self, text: str) -> list[Entity]:
        """All entities deduce annotates in `text`, in our kinds."""
        with self._lock:
            document = self._deduce.deidentify(text, disabled={"redactor"})
        entities = []
        for annotation in document.annotations:
            kind = TAG_KINDS.get(_base_tag(annotation.tag))
            if kind is None:
                continue
            start, end = annotation.start_char, annotation.end_char
            if kind == "persoon":
                start = _skip_title(text, start, end)
                if _is_sentence_opener(text, start, end):
                    continue
            if start < end:
                entities.append(Entity(start, end, kind))
        return entities


def _base_tag(tag: str) -> str:
    """deduce composes tags ("prefix+naam", "straat+huisnummer"); the kind is in the parts."""
    parts = tag.split("+")
    for part in parts:
        if part in TAG_KINDS:
            return part
    return "persoon" if any(p in ("naam", "voornaam", "achternaam", "initiaal") for p in parts) else tag


def _skip_title(text: str, start: int, end: int) -> int:
    """'collega Femke Jansen' -> 'Femke Jansen': a lower-case title is not part of the name."""
    match = _LEADING_LOWER.match(text, start, end)
    if match and match.end() < end:
        words = text[start:match.end()].split()
        if all(word.casefold() in lists.PERSON_TITLES or word.islower() for word in words):
            return match.end()
    return start


def _is_sentence_opener(text: str, start: int, end: int) -> bool:
    """'Mooi.' at a sentence start is an adjective even though Mooi is also a first name."""
    word = text[start:end]
    return " " not in word and word.casefold() in lists.COMMON_SENTENCE_OPENERS and sentence_initial(text, start)
