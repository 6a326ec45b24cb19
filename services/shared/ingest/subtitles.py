"""WebVTT and SRT subtitles (Teams, Zoom, Whisper) -> transcript text with speaker turns.

Cues of one speaker are joined into one turn line "[hh:mm:ss.mmm] Name: text", so parse_turns
keeps the speaker and the turn's start time (Turn.timestamp). Speaker names come from WebVTT
voice tags (<v Name>) or a "Name:" prefix in the cue text. Subtitles without any speaker name
give plain paragraphs (a new one after a pause), and the timestamps are then not kept.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

from services.shared.errors import InvalidDocumentError

# A pause this long between unnamed cues starts a new paragraph (seconds).
PARAGRAPH_PAUSE_SECONDS = 2.0
MAX_SPEAKER_CHARS = 60
MAX_NAME_WORDS = 4
SAVE_HINT = "Export the subtitles again (WebVTT .vtt or SubRip .srt) and upload them again."

_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?P<end>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})(?:\s.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>", re.IGNORECASE)
_TAG = re.compile(r"</?[^>\s][^>]*>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>")
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")  # "{\an8}" positioning in SRT files
_PREFIX = re.compile(r"^(?P<name>[^\W\d_][^:\n]{0,59}?)\s*:\s+(?P<text>\S.*)$", re.S)
_NAME_PARTICLES = frozenset({"van", "de", "der", "den", "het", "ten", "ter", "te", "von", "la", "le", "du", "da", "di"})


@dataclass
class Cue:
    """One subtitle cue: start and end time in seconds, the speaker if named, and its text."""

    start: float
    end: float
    speaker: str | None
    text: str


def subtitles_to_text(text: str, kind: str) -> tuple[str, list[str]]:
    """Turn decoded .vtt ("vtt") or .srt ("srt") text into transcript text; returns (text, warnings)."""
    cues = parse_vtt(text) if kind == "vtt" else parse_srt(text)
    if not cues:
        raise InvalidDocumentError(f"No subtitle cues ('00:00:01.000 --> 00:00:04.000' lines with text) were found. "
                                   f"{SAVE_HINT}")
    warnings: list[str] = []
    if not any(cue.speaker for cue in cues):
        warnings.append("the subtitles name no speakers (no <v Name> tags or 'Name:' prefixes), so the text is one "
                        "respondent's text and the timestamps were not kept; add speaker names to keep turns")
        return "\n\n".join(_paragraphs(cues)) + "\n", warnings
    if not cues[0].speaker:
        warnings.append("the first subtitle cues name no speaker; they were put before the first speaker's turn")
    lines: list[str] = []
    current: tuple[str | None, float, list[str]] | None = None
    for cue in cues:
        speaker = cue.speaker or (current[0] if current else None)  # an unnamed cue continues the speaker
        if current is not None and speaker == current[0]:
            current[2].append(cue.text)
            continue
        if current is not None:
            lines.append(_turn_line(*current))
        current = (speaker, cue.start, [cue.text])
    lines.append(_turn_line(*current))
    return "\n".join(lines) + "\n", warnings


def parse_vtt(text: str) -> list[Cue]:
    """Cues of a WebVTT file; NOTE, STYLE and REGION blocks are skipped."""
    text = text.lstrip("\ufeff")
    if not text.lstrip().startswith("WEBVTT"):
        raise InvalidDocumentError(f"This is not a WebVTT file: it must start with 'WEBVTT'. {SAVE_HINT}")
    cues = []
    for block in re.split(r"\n[ \t]*\n", text.strip())[1:]:
        lines = block.split("\n")
        if lines[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        cue = _cue(lines)
        if cue is not None:
            cues.append(cue)
    return cues


def parse_srt(text: str) -> list[Cue]:
    """Cues of a SubRip file (numbered blocks with 'hh:mm:ss,mmm --> hh:mm:ss,mmm')."""
    cues = []
    for block in re.split(r"\n[ \t]*\n", text.lstrip("\ufeff").strip()):
        cue = _cue(block.split("\n"))
        if cue is not None:
            cues.append(cue)
    return cues


def _cue(lines: list[str]) -> Cue | None:
    timing_index = next((i for i, line in enumerate(lines[:3]) if _TIMING.match(line)), None)
    if timing_index is None:
        return None
    timing = _TIMING.match(lines[timing_index])
    start, end = _seconds(timing["start"]), _seconds(timing["end"])
    payload = "\n".join(lines[timing_index + 1:]).strip()
    if not payload:
        return None
    speaker = None
    voice = _VOICE.search(payload)
    if voice is not None:
        speaker = voice.group(1).strip()
    payload = _ASS_OVERRIDE.sub("", _TAG.sub("", payload))
    payload = " ".join(html.unescape(payload).split())
    if speaker is None:
        prefix = _PREFIX.match(payload)
        if prefix is not None and _looks_like_name(prefix["name"]):
            speaker, payload = prefix["name"].strip(), prefix["text"].strip()
    if not payload:
        return None
    return Cue(start=start, end=end, speaker=_clean_name(speaker) if speaker else None, text=payload)


def _looks_like_name(candidate: str) -> bool:
    words = candidate.split()
    named = [w for w in words if w.lower() not in _NAME_PARTICLES]
    return 1 <= len(named) <= MAX_NAME_WORDS and all(w[0].isupper() or w[0].isdigit() for w in named)


def _clean_name(name: str) -> str:
    """A speaker name parse_turns recognises: letters, digits, hyphens, apostrophes; at most four words."""
    words = re.sub(r"[^\w'’\- ]+", " ", name).split()
    kept, named = [], 0
    for word in words:
        if word.lower() in _NAME_PARTICLES:
            if kept:
                kept.append(word.lower())
            continue
        if named == MAX_NAME_WORDS:
            break
        kept.append(word[0].upper() + word[1:])
        named += 1
    while kept and kept[-1] in _NAME_PARTICLES:
        kept.pop()
    return " ".join(kept)[:MAX_SPEAKER_CHARS] or "Spreker"


def _turn_line(speaker: str | None, start: float, texts: list[str]) -> str:
    body = " ".join(texts)
    return f"[{_timestamp(start)}] {speaker}: {body}" if speaker else body


def _paragraphs(cues: list[Cue]) -> list[str]:
    paragraphs: list[list[str]] = []
    previous = None
    for cue in cues:
        if previous is None or cue.start - previous >= PARAGRAPH_PAUSE_SECONDS:
            paragraphs.append([])
        paragraphs[-1].append(cue.text)
        previous = cue.end
    return [" ".join(p) for p in paragraphs]


def _seconds(value: str) -> float:
    parts = value.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2]) if len(parts) >= 2 else 0
    hours = int(parts[-3]) if len(parts) >= 3 else 0
    return hours * 3600 + minutes * 60 + seconds


def _timestamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"
