"""Transcript text -> front-matter metadata and speaker turns with exact character offsets.

Which labels are recognised, and why a line such as "Nou: ja" is not one, is in docs/transcripts.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

INTERVIEWER = "interviewer"
RESPONDENT = "respondent"
NO_LABELS_WARNING = "no speaker labels found; coded as one respondent's text"

# Fixed labels (compared case-insensitively, optionally numbered: "R1", "Respondent 2") -> role.
FIXED_LABELS = {
    "i": INTERVIEWER, "int": INTERVIEWER, "interviewer": INTERVIEWER, "interviewster": INTERVIEWER,
    "onderzoeker": INTERVIEWER,
    "r": RESPONDENT, "resp": RESPONDENT, "respondent": RESPONDENT, "geïnterviewde": RESPONDENT,
    "geinterviewde": RESPONDENT, "interviewee": RESPONDENT,
}
# Lower-case name particles allowed between capitalised words ("Anne van der Berg").
NAME_PARTICLES = frozenset({"van", "de", "der", "den", "het", "ten", "ter", "te", "'t", "’t", "in", "op",
                            "von", "la", "le", "du", "da", "di", "del", "des", "'s", "’s", "bin", "el", "al"})
MAX_NAME_WORDS = 4
MAX_NAME_PARTICLES = 3
MAX_LABEL_CHARS = 60
# Capitalised words that open ordinary sentences ("Nou: ja", "Kortom: ..."); never a speaker name.
NOT_NAMES = frozenset("""
nou ja nee nouja tja dus kortom maar en want of oké oke ok okay goed prima precies inderdaad zeker
natuurlijk bijvoorbeeld eerst daarna toen nu hier daar zo kijk nogmaals echter conclusie samengevat
vraag antwoord opmerking noot nb ps let belangrijk punt voorbeeld eigenlijk ook wel niet hoe wat
waarom wie waar wanneer welke welk dat dit die deze mijn onze ons ik wij we jullie zij ze hij u je
jij hè he ah oh hm hmm uhm ehm eh mwah tsja enfin anyway so well yes no note question answer tot om na
voor met zonder sinds volgens zoals stel tenslotte uiteindelijk verder eerste tweede derde resultaat
doel probleem oplossing knelpunt thema onderwerp
""".split())
# Front-matter keys (lower case) -> the metadata key they fill.
METADATA_KEYS = {
    "respondent": "respondent_id", "respondent_id": "respondent_id", "respondent-id": "respondent_id",
    "casus": "case", "case": "case",
    "rol": "respondent_role", "role": "respondent_role", "functie": "respondent_role",
    "respondent_role": "respondent_role",
    "interviewer": "interviewer",
    "datum": "date", "date": "date",
}
MAX_FRONT_MATTER_LINES = 50

_TIME = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
_BRACKETED_TIME = rf"\[[ \t]*{_TIME}[ \t]*\]|\([ \t]*{_TIME}[ \t]*\)"
_BOLD = r"(?:\*\*|__)"
_FIRST_TOKEN = r"\[[^\W\d_][\w\-]{0,30}\]|[^\W\d_][\w'’.\-]*"
_TOKEN = rf"{_FIRST_TOKEN}|'t|’t|'s|’s|\d{{1,3}}"
_LABEL_LINE = re.compile(
    rf"^[ \t]*{_BOLD}?"
    rf"(?:(?P<ts_before>{_BRACKETED_TIME}|{_TIME})[ \t]*(?:[-–|][ \t]*)?)?"
    rf"{_BOLD}?"
    rf"(?P<label>(?:{_FIRST_TOKEN})(?:[ \t]+(?:{_TOKEN})){{0,7}})"
    rf"(?:[ \t]*(?P<ts_mid>{_BRACKETED_TIME}))?"
    rf"[ \t]*{_BOLD}?[ \t]*(?P<colon>:)"
    rf"(?:[ \t]*{_BOLD})?"
    # A bare time after the colon needs seconds: "R: 10:30 begon het" is speech, not a timestamp.
    rf"(?:[ \t]*(?P<ts_after>{_BRACKETED_TIME}|\d{{1,2}}:\d{{2}}:\d{{2}}(?:[.,]\d{{1,3}})?)(?=\s|$))?"
)
_TIME_VALUE = re.compile(_TIME)
_FIXED_LABEL = re.compile(r"^(?P<base>[^\W\d_]+?)[ \t]*(?P<number>\d{1,2})?$")
_FRONT_MATTER_LINE = re.compile(r"^[ \t]*(?P<key>[^\W\d][\w \-]{0,40}?)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
_QUESTION_END = re.compile(r"\?[\s\"'”’»)*_]*$")


@dataclass
class ParsedTurn:
    """One speaker turn; text[start:end] is exactly its spoken text."""

    index: int
    speaker: str
    role: str  # "interviewer" | "respondent"
    start: int
    end: int
    timestamp: str | None


@dataclass
class ParsedTranscript:
    """Turns in order, warnings for the reader, and normalised front-matter metadata."""

    turns: list[ParsedTurn]
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class _Label:
    line_start: int
    content_start: int
    speaker: str
    kind: str  # "interviewer" | "respondent" | "named"
    timestamp: str | None


def parse_turns(text: str) -> ParsedTranscript:
    """Split a transcript into speaker turns with roles; front matter goes into metadata."""
    warnings: list[str] = []
    metadata, body_start = _read_front_matter(text, warnings)
    labels = _accepted_labels(_candidate_labels(text, body_start), metadata)
    if not labels:
        return ParsedTranscript(turns=_unlabelled_turn(text, body_start, warnings), warnings=warnings,
                                metadata=metadata)
    preamble = _trimmed(text, body_start, labels[0].line_start)
    if preamble is not None:
        warnings.append(
            f"text before the first speaker label (characters {preamble[0]}-{preamble[1]}) "
            "is not part of any turn and will not be coded"
        )
    turns: list[ParsedTurn] = []
    empty = 0
    for label, following in zip(labels, labels[1:] + [None]):
        span = _trimmed(text, label.content_start, following.line_start if following else len(text))
        if span is None:
            empty += 1
            continue
        turns.append(ParsedTurn(index=len(turns), speaker=label.speaker, role=label.kind,
                                start=span[0], end=span[1], timestamp=label.timestamp))
    if empty:
        warnings.append(f"{empty} speaker label(s) without any text were skipped")
    _assign_named_roles(text, turns, metadata, warnings)
    return ParsedTranscript(turns=turns, warnings=warnings, metadata=metadata)


def _read_front_matter(text: str, warnings: list[str]) -> tuple[dict[str, str], int]:
    """Return (metadata, offset where the body starts); no front matter gives ({}, 0)."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != "---":
        return {}, 0
    closing = next((i for i in range(first + 1, min(len(lines), first + MAX_FRONT_MATTER_LINES))
                    if lines[i].strip() == "---"), None)
    if closing is None:
        warnings.append("the '---' line at the top has no closing '---', so it was not read as front matter")
        return {}, 0
    pairs: list[tuple[str, str]] = []
    for number in range(first + 1, closing):
        line = lines[number]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _FRONT_MATTER_LINE.match(line)
        if match is None:
            warnings.append(f"the '---' block at the top was not read as front matter: line {number + 1} "
                            "is not 'key: value'")
            return {}, 0
        pairs.append((match["key"], match["value"]))
    if not any(_metadata_key(key) in METADATA_KEYS for key, _ in pairs):
        # "---\nI: hallo\nR: ja\n---" is dialogue between separators, not metadata.
        warnings.append("the '---' block at the top was not read as front matter: it has none of the keys "
                        f"{', '.join(sorted(set(METADATA_KEYS)))}")
        return {}, 0
    metadata: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        key = _metadata_key(raw_key)
        normalised = METADATA_KEYS.get(key)
        if normalised is None:
            warnings.append(f"unknown front-matter key '{raw_key.strip()}' kept as '{key}'")
            normalised = key
        if normalised in metadata:
            warnings.append(f"front-matter key '{raw_key.strip()}' given twice; the last value is used")
        metadata[normalised] = _unquote(raw_value)
    body_start = sum(len(line) + 1 for line in lines[:closing + 1])
    return metadata, min(body_start, len(text))


def _metadata_key(raw_key: str) -> str:
    return re.sub(r"[ \t]+", "_", raw_key.strip().lower())


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    return value


def _candidate_labels(text: str, body_start: int) -> list[_Label]:
    """Every line in the body that starts with something shaped like a speaker label."""
    labels: list[_Label] = []
    offset = body_start
    for line in text[body_start:].split("\n"):
        label = _match_label(line, offset)
        if label is not None:
            labels.append(label)
        offset += len(line) + 1
    return labels


def _match_label(line: str, line_start: int) -> _Label | None:
    match = _LABEL_LINE.match(line)
    if match is None:
        return None
    speaker = " ".join(match["label"].split())
    kind = _label_kind(speaker)
    if kind is None or len(speaker) > MAX_LABEL_CHARS:
        return None
    rest = line[match.end("colon"):]
    # Names need a space after the colon so "Http://..." or "Noot:x" are not labels.
    if kind == "named" and rest and not rest[0].isspace() and rest[0] not in "*_":
        return None
    stamp = match["ts_before"] or match["ts_mid"] or match["ts_after"]
    timestamp = _TIME_VALUE.search(stamp).group(0) if stamp else None
    return _Label(line_start=line_start, content_start=line_start + match.end(), speaker=speaker,
                  kind=kind, timestamp=timestamp)


def _label_kind(speaker: str) -> str | None:
    """'interviewer' / 'respondent' for fixed labels, 'named' for a name, None for ordinary text."""
    fixed = _FIXED_LABEL.match(speaker.rstrip("."))  # "Int.:" is the abbreviation of a fixed label
    if fixed is not None:
        base = fixed["base"]
        role = FIXED_LABELS.get(base.lower())
        # Single letters count only as capitals, so a lower-case list marker such as "i:" stays text.
        if role is not None and (len(base) > 1 or base.isupper()):
            return role
    tokens = speaker.split(" ")
    if tokens[0].lower().rstrip(".") in NOT_NAMES:
        return None
    words = particles = 0
    for position, token in enumerate(tokens):
        last = position == len(tokens) - 1
        if token.startswith("["):
            words += 1
        elif token in NAME_PARTICLES:
            if last:
                return None
            particles += 1
        elif token.isdigit():
            if not last:
                return None
        elif token[0].isupper():
            words += 1
        else:
            return None
    if not 1 <= words <= MAX_NAME_WORDS or particles > MAX_NAME_PARTICLES:
        return None
    return "named"


def _accepted_labels(candidates: list[_Label], metadata: dict[str, str]) -> list[_Label]:
    """Keep fixed labels; keep a name only when it is used like a speaker label (rules in docs)."""
    has_fixed = any(label.kind != "named" for label in candidates)
    counts: dict[str, int] = {}
    for label in candidates:
        if label.kind == "named":
            counts[_norm(label.speaker)] = counts.get(_norm(label.speaker), 0) + 1
    declared = {_norm(value) for key, value in metadata.items() if key in ("interviewer", "respondent_id")}

    def keep(label: _Label) -> bool:
        if label.kind != "named":
            return True
        name = _norm(label.speaker)
        if counts[name] >= 2 or name in declared:
            return True
        capitalised = sum(1 for token in label.speaker.split(" ") if token not in NAME_PARTICLES)
        return not has_fixed and capitalised >= 2 and not label.speaker.split(" ")[-1].isdigit()

    return [label for label in candidates if keep(label)]


def _assign_named_roles(text: str, turns: list[ParsedTurn], metadata: dict[str, str],
                        warnings: list[str]) -> None:
    """Give named speakers a role: front-matter interviewer, else fixed labels, else inference."""
    named: list[str] = []
    for turn in turns:
        if turn.role == "named" and turn.speaker not in named:
            named.append(turn.speaker)
    if not named:
        return
    roles = {name: RESPONDENT for name in named}
    declared = metadata.get("interviewer")
    chosen = _match_speaker(declared, named) if declared else None
    if declared and chosen is None:
        warnings.append(f"front-matter interviewer '{declared}' matches no speaker label")
    has_fixed_interviewer = any(turn.role == INTERVIEWER for turn in turns)
    has_fixed_respondent = any(turn.role == RESPONDENT for turn in turns)
    if chosen is None and not has_fixed_interviewer and len(named) + has_fixed_respondent >= 2:
        chosen = _infer_interviewer(text, turns, named, warnings)
    if chosen is not None:
        roles[chosen] = INTERVIEWER
    for turn in turns:
        if turn.role == "named":
            turn.role = roles[turn.speaker]


def _infer_interviewer(text: str, turns: list[ParsedTurn], named: list[str], warnings: list[str]) -> str:
    """The named speaker with the highest share of turns ending in '?' (ties: who spoke first)."""
    asked = {name: 0 for name in named}
    spoke = {name: 0 for name in named}
    for turn in turns:
        if turn.speaker in spoke:
            spoke[turn.speaker] += 1
            asked[turn.speaker] += bool(_QUESTION_END.search(text[turn.start:turn.end]))
    best = max(named, key=lambda name: asked[name] / spoke[name])  # max keeps the first of equals
    if asked[best] == 0:
        warnings.append(f"interviewer inferred as '{best}' only because they speak first (no speaker's "
                        f"turns end in '?'); add 'interviewer: {best}' to the front matter to confirm")
    else:
        warnings.append(f"interviewer inferred as '{best}' ({asked[best]} of {spoke[best]} turns end in '?'); "
                        f"add 'interviewer: <name>' to the front matter to set it")
    return best


def _match_speaker(declared: str, named: list[str]) -> str | None:
    """The named speaker the front-matter value means: exact, else the only one sharing its first words."""
    wanted = _norm(declared).split(" ")
    exact = [name for name in named if _norm(name).split(" ") == wanted]
    if exact:
        return exact[0]

    def shares_first_words(name: str) -> bool:
        words = _norm(name).split(" ")
        shorter = min(len(words), len(wanted))
        return words[:shorter] == wanted[:shorter]

    prefixed = [name for name in named if shares_first_words(name)]
    return prefixed[0] if len(prefixed) == 1 else None


def _unlabelled_turn(text: str, body_start: int, warnings: list[str]) -> list[ParsedTurn]:
    span = _trimmed(text, body_start, len(text))
    if span is None:
        warnings.append("the transcript has no text outside its front matter")
        return []
    warnings.append(NO_LABELS_WARNING)
    return [ParsedTurn(index=0, speaker="Respondent", role=RESPONDENT, start=span[0], end=span[1], timestamp=None)]


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """[start, end) without leading and trailing whitespace, or None when nothing is left."""
    segment = text[start:end]
    stripped = segment.strip()
    if not stripped:
        return None
    lead = len(segment) - len(segment.lstrip())
    return start + lead, start + lead + len(stripped)


def _norm(name: str) -> str:
    return " ".join(name.casefold().split())
