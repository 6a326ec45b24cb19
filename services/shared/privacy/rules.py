"""A deterministic recogniser of identifying details in Dutch interview text: patterns and word lists.

It fills the gaps of deduce (organisations, villages it has never heard of, streets, dates without a
year, speaker names) and works alone where deduce is not installed. Dutch writes common nouns in
lower case, so a capitalised word inside a sentence is a proper noun; the words around it say which
kind. Sentence-initial words are only taken when the context leaves no doubt.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from services.shared.privacy import lists
from services.shared.privacy.placeholders import Entity

_UPPER = "A-ZÀ-ÖØ-Þ"
_CAP = rf"[{_UPPER}][\w'’]*(?:-[\w'’]+)*"
_PARTICLE = r"(?:van|de|der|den|het|ten|ter|'t|’t|'s|’s|la|le|du|da|di|del|des|von)"
_NAME_SEQUENCE = re.compile(rf"(?<![\w@.\-]){_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,3}}{_CAP}){{0,5}}(?![\w@])")
_WORD_BEFORE = re.compile(r"([\w.'’]+)[ \t]+$")
_TWO_WORDS_BEFORE = re.compile(r"([\w.'’]+)[ \t]+([\w'’]+)[ \t]+$")
# How far back the words before a name are looked for (characters).
CONTEXT_CHARS = 80
_HOUSE_NUMBER = re.compile(r"[ \t]+\d{1,4}(?:[ \t]?[a-zA-Z](?![\w]))?(?!\d)")

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+")
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d \t().-]{7,17}\d(?!\w)")
_MONTH = "|".join(sorted(lists.MONTHS, key=len, reverse=True))
_WEEKDAY = "|".join(lists.WEEKDAYS)
_DATE_WORDS = re.compile(
    rf"(?<!\w)(?:(?:{_WEEKDAY})[ \t]+)?\d{{1,2}}(?:e|ste|de)?[ \t]+(?:{_MONTH})\.?(?:[ \t]+(?:\d{{4}}|'\d{{2}}))?(?!\w)",
    re.IGNORECASE,
)
_DATE_NUMBERS = re.compile(r"(?<![\d\w])\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})(?![\d\w])")
_POSTCODE = re.compile(rf"(?<!\w)\d{{4}}[ \t]?[{_UPPER}]{{2}}(?!\w)")
_LABEL_LINE = re.compile(rf"^[ \t]*(?:\[[\d:.]+\][ \t]*)?(?P<name>{_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,3}}{_CAP}){{0,3}})[ \t]*:[ \t]",
                         re.MULTILINE)
_FRONT_MATTER_NAME = re.compile(rf"^[ \t]*(?:interviewer|interviewster|onderzoeker)[ \t]*:[ \t]*(?P<name>{_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,3}}{_CAP}){{0,3}})[ \t]*$",
                                re.MULTILINE | re.IGNORECASE)


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    """Words that are never names when they open a sentence or a speaker label."""
    from services.shared.ingest.turns import FIXED_LABELS, NOT_NAMES

    return lists.FUNCTION_WORDS | lists.COMMON_SENTENCE_OPENERS | NOT_NAMES | frozenset(FIXED_LABELS)


def sentence_initial(text: str, position: int) -> bool:
    """Whether `position` starts a sentence, a line or a speaker turn (where Dutch capitalises anyway)."""
    index = position - 1
    while index >= 0 and text[index] in " \t\"'“”‘’(*_-–":
        index -= 1
    # ")" and "]" too: transcripts put "(lacht)" or "[onderbreking]" between sentences.
    return index < 0 or text[index] in ".!?:\n…;)]"


class RuleRecogniser:
    """Finds e-mail addresses, URLs, phone numbers, dates, postcodes, streets, and proper nouns by context."""

    name = "rules"

    def find(self, text: str) -> list[Entity]:
        """All entities the rules see in `text` (may overlap; the caller resolves overlaps)."""
        entities: list[Entity] = []
        entities += [Entity(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
        entities += [Entity(m.start(), _strip_url(m.group()) + m.start(), "url") for m in _URL.finditer(text)]
        entities += [Entity(m.start(), m.end(), "telefoon") for m in _PHONE_CANDIDATE.finditer(text)
                     if _is_dutch_phone(m.group())]
        entities += [Entity(m.start(), m.end(), "datum") for m in _DATE_WORDS.finditer(text)]
        entities += [Entity(m.start(), m.end(), "datum") for m in _DATE_NUMBERS.finditer(text)]
        entities += [Entity(m.start(), m.end(), "locatie") for m in _POSTCODE.finditer(text)]
        entities += self._speaker_names(text)
        for match in _NAME_SEQUENCE.finditer(text):
            if match.group().split()[0] in lists.ORGANISATION_NAME_HEADS:
                # "Stichting Welzijn Maarsloo": after a head every capitalised word belongs to the name.
                if len(match.group().split()) > 1:
                    entities.append(Entity(match.start(), match.end(), "organisatie"))
                continue
            for start, end in _name_segments(text, match.start(), match.end()):
                entity = self._classify(text, start, end)
                if entity is not None:
                    entities.append(entity)
        return entities

    def _speaker_names(self, text: str) -> list[Entity]:
        """Names used as speaker labels ("Anna: ...", at least twice) and the front-matter interviewer."""
        stop = _stop_words()
        labels = [m for m in _LABEL_LINE.finditer(text) if m["name"].split()[0].casefold() not in stop
                  and not any(ch.isdigit() for ch in m["name"])]
        counts = Counter(m["name"] for m in labels)
        front_end = _front_matter_end(text)
        declared_matches = [m for m in _FRONT_MATTER_NAME.finditer(text, 0, front_end) if m["name"].casefold() not in stop]
        declared = {m["name"] for m in declared_matches}
        found = [Entity(m.start("name"), m.end("name"), "persoon") for m in labels
                 if counts[m["name"]] >= 2 or m["name"] in declared]
        found += [Entity(m.start("name"), m.end("name"), "persoon") for m in declared_matches]
        return found

    def _classify(self, text: str, start: int, end: int) -> Entity | None:
        """Decide whether a run of capitalised words is a name, and of which kind."""
        tokens = text[start:end].split()
        initial = sentence_initial(text, start)
        window = max(0, start - CONTEXT_CHARS)  # searching from 0 would make the rules quadratic
        before = _WORD_BEFORE.search(text, window, start)
        previous = before.group(1).casefold() if before else ""
        two = _TWO_WORDS_BEFORE.search(text, window, start)
        if tokens[0] in lists.ORGANISATION_NAME_HEADS:
            return Entity(start, end, "organisatie") if len(tokens) > 1 else None
        if initial:
            return self._sentence_initial(text, start, end, tokens)
        if previous in lists.ORGANISATION_NOUNS:
            return Entity(start, end, "organisatie")
        if previous in lists.LOCATION_NOUNS:
            return Entity(start, end, "locatie")
        if previous in lists.LOCATION_PREPOSITIONS or (
            two is not None and two.group(2).casefold() in ("de", "het") and two.group(1).casefold() in lists.LOCATION_PREPOSITIONS
        ):
            return Entity(start, end, _kind_by_shape(tokens, default="locatie"))
        if previous in lists.PERSON_TITLES:
            return Entity(start, end, "persoon")
        return Entity(start, _with_house_number(text, end, tokens), _kind_by_shape(tokens, default="persoon"))

    def _sentence_initial(self, text: str, start: int, end: int, tokens: list[str]) -> Entity | None:
        """A capitalised run at a sentence start: drop an ordinary opening word, then decide."""
        if tokens[0].casefold() in lists.PERSON_TITLES and len(tokens) > 1:  # "Mevrouw Oudshoorn belde."
            name = _NAME_SEQUENCE.search(text, start + len(tokens[0]), end)
            return Entity(name.start(), name.end(), "persoon") if name else None
        if tokens[0].casefold() in _stop_words():
            rest = _NAME_SEQUENCE.search(text, start + len(tokens[0]), end)
            segments = _name_segments(text, rest.start(), rest.end()) if rest else []
            return self._classify(text, *segments[0]) if segments else None
        street = _is_street(tokens[-1])
        with_number = _with_house_number(text, end, tokens)
        if street and with_number > end:
            return Entity(start, with_number, "locatie")
        if len(tokens) >= 2 and not street:
            return Entity(start, end, _kind_by_shape(tokens, default="persoon"))
        return None


def _front_matter_end(text: str) -> int:
    """Where a leading '---' block ends (0 without one): only there is 'interviewer: Anna' metadata."""
    stripped = text.lstrip()
    if not stripped.startswith("---"):
        return 0
    start = len(text) - len(stripped)
    closing = text.find("\n---", start + 3)
    return closing if closing != -1 else 0


def _kind_by_shape(tokens: list[str], *, default: str) -> str:
    """The kind that a name's own form gives away: street and place endings, organisation endings."""
    last = tokens[-1]
    if _is_street(last):
        return "locatie"
    if len(tokens) == 1 and _has_suffix(last, lists.ORGANISATION_SUFFIXES, stem=3):
        return "organisatie"
    if len(tokens) == 1 and _has_suffix(last, lists.TOPONYM_SUFFIXES, stem=2):
        return "locatie"
    return default


def _is_street(word: str) -> bool:
    return word.casefold() not in lists.NOT_STREETS and _has_suffix(word, lists.STREET_SUFFIXES, stem=3)


def _has_suffix(word: str, suffixes: tuple[str, ...], *, stem: int) -> bool:
    lowered = word.casefold().split("-")[-1]
    return any(lowered.endswith(suffix) and len(lowered) - len(suffix) >= stem for suffix in suffixes)


def _with_house_number(text: str, end: int, tokens: list[str]) -> int:
    """Extend a street name over its house number ("Kerkstraat 12a")."""
    if not _is_street(tokens[-1]):
        return end
    number = _HOUSE_NUMBER.match(text, end)
    return number.end() if number else end


def _name_segments(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split a capitalised run at words that are never names (acronyms, listed words, letters, codes)."""
    spans = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    segments: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in spans + [None]:
        if span is not None and _name_like(text[span[0]:span[1]]):
            current.append(span)
            continue
        while current and re.fullmatch(_PARTICLE, text[current[-1][0]:current[-1][1]]):
            current.pop()
        while current and re.fullmatch(_PARTICLE, text[current[0][0]:current[0][1]]):
            current.pop(0)
        if current:
            segments.append((current[0][0], current[-1][1]))
        current = []
    return segments


def _name_like(word: str) -> bool:
    if re.fullmatch(_PARTICLE, word):
        return True
    head = word.split("-")[0]
    return not (
        head.casefold() in lists.NOT_NAMES
        or (head.casefold().endswith("wet") and len(head) > 6)  # laws: "Zorgverzekeringswet"
        or len(head) == 1
        or head.isupper()
        or any(ch.isdigit() for ch in word)
    )


def _strip_url(url: str) -> int:
    return len(url.rstrip(".,;:!?"))


def _is_dutch_phone(candidate: str) -> bool:
    """Nine national digits after 0, +31 or 0031: the shape of every Dutch phone number."""
    digits = re.sub(r"\D", "", candidate)
    if candidate.startswith("+"):
        return digits.startswith("31") and len(digits) in (11, 12)  # +31 (0)6 ... writes a spare 0
    if digits.startswith("0031"):
        return len(digits) in (13, 14)
    return digits.startswith("0") and len(digits) == 10
