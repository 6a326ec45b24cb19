"""More transcript formats: WebVTT/SRT subtitles, .odt, .rtf, text-based .pdf, and the non-Dutch warning."""
from __future__ import annotations

import io
import zipfile

import pytest

from services.shared.config import get_settings
from services.shared.errors import InvalidDocumentError, UnsupportedFormatError
from services.shared.ingest import parse_turns, read_transcript_bytes
from services.shared.ingest.language import detect_language, language_warnings
from services.shared.uploads import build_transcript

DUTCH_ANSWER = ("Nou, we zitten met de corporaties en de zorgaanbieders eigenlijk aan heel veel verschillende tafels, "
                "en daar wordt vaak precies hetzelfde besproken. Dat is voor iedereen lastig, want je weet niet meer "
                "waar de besluiten nu echt vallen en wie er verantwoordelijk is voor wat er gebeurt.")
ENGLISH_ANSWER = ("Well, we are sitting at a lot of different tables with the housing corporations and the care "
                  "providers, and they discuss exactly the same things there. That is hard for everyone, because "
                  "you do not know where the decisions are really made and who is responsible for what happens.")


@pytest.fixture
def settings():
    return get_settings()


TEAMS_VTT = """WEBVTT

a1b2c3d4-0001/12-0
00:00:01.000 --> 00:00:04.500
<v Interviewer>Kunt u iets vertellen over de samenwerking?</v>

a1b2c3d4-0001/13-0
00:00:05.000 --> 00:00:09.000
<v Vries, Jan de (Gemeente X)>Nou, we zitten aan heel veel tafels &amp; dat is lastig.</v>

a1b2c3d4-0001/13-1
00:00:09.000 --> 00:00:12.250
<v Vries, Jan de (Gemeente X)>Daar wordt steeds hetzelfde besproken.</v>

NOTE dit is een opmerking

00:00:13.000 --> 00:00:15.000
<v Interviewer>En intern?</v>

00:00:15.500 --> 00:01:02.000
<v Vries, Jan de (Gemeente X)><i>Intern</i> weten wonen en zorg niet van elkaar wat ze doen.</v>
"""


def test_formats_teams_vtt_speakers_and_timestamps(settings):
    decoded = read_transcript_bytes(TEAMS_VTT.encode("utf-8"), "teams.vtt", settings)
    assert decoded.source_format == "vtt"
    parsed = parse_turns(decoded.text)
    turns = [(t.speaker, t.role, t.timestamp, decoded.text[t.start:t.end]) for t in parsed.turns]
    assert turns == [
        ("Interviewer", "interviewer", "00:00:01.000", "Kunt u iets vertellen over de samenwerking?"),
        ("Vries Jan de Gemeente X", "respondent", "00:00:05.000",
         "Nou, we zitten aan heel veel tafels & dat is lastig. Daar wordt steeds hetzelfde besproken."),
        ("Interviewer", "interviewer", "00:00:13.000", "En intern?"),
        ("Vries Jan de Gemeente X", "respondent", "00:00:15.500",
         "Intern weten wonen en zorg niet van elkaar wat ze doen."),
    ]


ZOOM_VTT = """WEBVTT

1
00:00:02.100 --> 00:00:05.000
Anne Bakker: Hoe gaat het met de regionale samenwerking?

2
00:00:05.600 --> 00:00:09.900
Piet Jansen: Moeizaam. Iedere gemeente wil het anders.

3
00:00:10.000 --> 00:00:12.000
Anne Bakker: Waarom denkt u dat?

4
00:00:12.500 --> 00:00:16.000
Piet Jansen: De centrumgemeente bepaalt alles: dat werkt niet.
"""


def test_formats_zoom_vtt_name_prefixes(settings):
    transcript = build_transcript(ZOOM_VTT.encode("utf-8"), "zoom.vtt", settings)
    turns = [(t.speaker, t.role, t.timestamp) for t in transcript.turns]
    assert turns == [("Anne Bakker", "interviewer", "00:00:02.100"), ("Piet Jansen", "respondent", "00:00:05.600"),
                     ("Anne Bakker", "interviewer", "00:00:10.000"), ("Piet Jansen", "respondent", "00:00:12.500")]
    last = transcript.turns[-1]
    assert transcript.text[last.start:last.end] == "De centrumgemeente bepaalt alles: dat werkt niet."


WHISPER_SRT = """1
00:00:00,000 --> 00:00:03,200
Ja, nou, we zitten met de corporaties

2
00:00:03,200 --> 00:00:06,000
aan heel veel verschillende tafels.

3
00:00:09,500 --> 00:00:12,000
{\\an8}Intern is dat <i>lastig</i> hoor.
"""


def test_formats_whisper_srt_without_speakers(settings):
    decoded = read_transcript_bytes(WHISPER_SRT.encode("utf-8"), "whisper.srt", settings)
    assert decoded.source_format == "srt"
    assert decoded.text == ("Ja, nou, we zitten met de corporaties aan heel veel verschillende tafels.\n\n"
                            "Intern is dat lastig hoor.\n")
    assert any("name no speakers" in w for w in decoded.warnings)


def test_formats_srt_with_names_and_windows_line_endings(settings):
    srt = "1\r\n00:00:01,000 --> 00:00:02,000\r\nR: Ja.\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,500\r\nI: Waarom?\r\n"
    decoded = read_transcript_bytes(srt.encode("cp1252"), "gesprek.srt", settings)
    assert decoded.text == "[00:00:01.000] R: Ja.\n[00:00:03.000] I: Waarom?\n"


def test_formats_vtt_without_header_or_cues_refused(settings):
    with pytest.raises(InvalidDocumentError, match="WEBVTT"):
        read_transcript_bytes(b"00:00:01.000 --> 00:00:02.000\nhallo\n", "a.vtt", settings)
    with pytest.raises(InvalidDocumentError, match="cues"):
        read_transcript_bytes(b"WEBVTT\n\nNOTE alleen een notitie\n", "a.vtt", settings)


def odt_bytes(body: str, extra: dict[str, bytes] | None = None) -> bytes:
    content = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
  xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
  xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" office:version="1.3">
<office:body><office:text>{body}</office:text></office:body></office:document-content>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        archive.writestr("content.xml", content)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_formats_odt_paragraphs_tables_and_spaces(settings):
    body = ("<text:h>Interview Y2</text:h>"
            "<text:p>I: Hoe is het <text:span>geregeld</text:span>?</text:p>"
            "<text:p>R: Tja,<text:s text:c=\"2\"/>één café<text:tab/>en ideeën 😀"
            "<text:note><text:note-body><text:p>voetnoot</text:p></text:note-body></text:note> klaar.</text:p>"
            "<table:table><table:table-row><table:table-cell><text:p>I:</text:p></table:table-cell>"
            "<table:table-cell><text:p>Nog iets?</text:p></table:table-cell></table:table-row></table:table>")
    decoded = read_transcript_bytes(odt_bytes(body), "interview.odt", settings)
    assert decoded.source_format == "odt"
    assert decoded.text == "Interview Y2\nI: Hoe is het geregeld?\nR: Tja,  één café\ten ideeën 😀 klaar.\nI:\tNog iets?"


def test_formats_odt_unsafe_or_wrong_files_refused(settings):
    with pytest.raises(InvalidDocumentError, match="DOCTYPE"):
        read_transcript_bytes(_odt_with_doctype(), "a.odt", settings)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(InvalidDocumentError, match="content.xml"):
        read_transcript_bytes(buffer.getvalue(), "a.odt", settings)
    with pytest.raises(UnsupportedFormatError):
        read_transcript_bytes(b"R: ja", "a.odt", settings)


def _odt_with_doctype() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                                        "<x>&e;</x>")
    return buffer.getvalue()


def test_formats_rtf_accents_unicode_and_emoji(settings):
    rtf = (rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}"
           rb"\pard I: Hoe gaat het met de caf\'e9?\par "
           rb"R: Goed, \u233?\u233?n idee\u235?n \u-10179?\u-8704? en {\b vet}.\par"
           rb"\tab Met een tab.\par}")
    decoded = read_transcript_bytes(rtf, "interview.rtf", settings)
    assert decoded.source_format == "rtf" and decoded.encoding == "cp1252"
    assert decoded.text.splitlines() == ["I: Hoe gaat het met de café?", "R: Goed, één ideeën 😀 en vet.",
                                         "\tMet een tab."]


def test_formats_rtf_named_txt_is_still_refused(settings):
    with pytest.raises(UnsupportedFormatError, match="Rich Text"):
        read_transcript_bytes(rb"{\rtf1\ansi R: ja}", "a.txt", settings)


def pdf_bytes(lines: list[str]) -> bytes:
    """A minimal one-page PDF with Helvetica text (WinAnsiEncoding), as a word processor exports it."""
    def escape(line: str) -> str:
        raw = line.encode("cp1252")
        return "".join(chr(b) if 32 <= b < 127 and chr(b) not in "()\\" else f"\\{b:03o}" for b in raw)
    stream = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({escape(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_formats_pdf_text_layer(settings):
    lines = ["I: Hoe verloopt de samenwerking in de regio?", "R: Er zijn te veel overleggen, dat is één probleem."]
    decoded = read_transcript_bytes(pdf_bytes(lines), "interview.pdf", settings)
    assert decoded.source_format == "pdf"
    assert [line.strip() for line in decoded.text.splitlines() if line.strip()] == lines
    assert any("PDF" in w for w in decoded.warnings)
    turns = parse_turns(decoded.text).turns
    assert [t.role for t in turns] == ["interviewer", "respondent"]


def test_formats_pdf_without_text_or_not_a_pdf_refused(settings):
    with pytest.raises(InvalidDocumentError, match="OCR"):
        read_transcript_bytes(pdf_bytes([""]), "scan.pdf", settings)
    with pytest.raises(InvalidDocumentError, match="cannot be read"):
        read_transcript_bytes(b"%PDF-1.4\nthis is no pdf at all", "broken.pdf", settings)
    with pytest.raises(UnsupportedFormatError, match="not a PDF"):
        read_transcript_bytes(b"R: ja", "scan.pdf", settings)


def test_formats_language_english_transcript_flagged_not_refused(settings):
    text = f"I: How does the cooperation work?\nR: {ENGLISH_ANSWER}\n"
    decoded = read_transcript_bytes(text.encode(), "interview.txt", settings)
    assert decoded.text == text
    assert any("does not look Dutch" in w and "English" in w for w in decoded.warnings)


def test_formats_language_dutch_and_short_texts_not_flagged(settings):
    assert language_warnings(f"I: Hoe werkt de samenwerking?\nR: {DUTCH_ANSWER}\n") == []
    assert language_warnings("R: Yes, of course.") == []
    assert detect_language("R: Yes, of course.").language is None
    assert detect_language(DUTCH_ANSWER).language == "nl"


def test_formats_language_english_passage_in_dutch_text():
    text = " ".join([DUTCH_ANSWER] * 5 + [ENGLISH_ANSWER] * 5 + [DUTCH_ANSWER] * 5)
    warnings = language_warnings(text)
    assert len(warnings) == 1 and "parts of the text" in warnings[0] and "English" in warnings[0]
