"""Transcript intake: uploaded bytes -> text (decoding), text -> speaker turns (turns)."""
from services.shared.ingest.decoding import DecodedText, read_transcript_bytes
from services.shared.ingest.turns import ParsedTranscript, ParsedTurn, parse_turns

__all__ = ["DecodedText", "ParsedTranscript", "ParsedTurn", "parse_turns", "read_transcript_bytes"]
