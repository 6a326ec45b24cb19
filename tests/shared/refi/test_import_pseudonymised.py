"""Importing interview data pseudonymises it like an upload: placeholders in texts and memos, and every
coding moved with them so it still covers the same words; the project exports valid REFI-QDA again."""
from __future__ import annotations

import io
import zipfile

from sqlalchemy import select

from services.shared.privacy import cipher_from_settings
from services.shared.privacy.keys import load_key
from services.shared.privacy.placeholders import PLACEHOLDER
from services.shared.refi import export_qdpx, import_qdpx
from services.shared.refi.reader import read_qdpx
from services.shared.refi.schemas import validate
from services.shared.tables import Project, Quotation, ReviewEvent, Transcript
from tests.shared.refi.builders import database, user

# Windows line endings as ATLAS.ti writes them: positions count "\r\n" as two characters.
RAW_TEXT = (
    "I: Hoe verloopt de samenwerking?\r\n"
    "R: Volgens mevrouw Jansen van Zorggroep Noorderlicht zitten we aan te veel tafels. "
    "Bestuurlijk commitment ontbreekt, zegt mevrouw Jansen ook.\r\n"
    "I: En wat helpt?\r\n"
    "R: Eén aanspreekpunt voor wonen en zorg, mail maar naar j.jansen@noorderlicht.nl.\r\n"
)
NAMES = ("Jansen", "Noorderlicht", "j.jansen@noorderlicht.nl")
WHOLE = {
    "names inside": "Volgens mevrouw Jansen van Zorggroep Noorderlicht zitten we aan te veel tafels.",
    "names before": "Bestuurlijk commitment ontbreekt",
    "a name at its end": "Eén aanspreekpunt voor wonen en zorg, mail maar naar j.jansen@noorderlicht.nl",
}
CUT = "ontbreekt, zegt mevrouw Jans"  # ends inside a name: the coding must then cover the whole placeholder
USER, CODE_A, CODE_B, SOURCE = ("9A1D5C0E-3F6B-4C71-8E2A-1B7D4F3C2A10", "0983E32E-6866-431A-BD94-DAC9BB963825",
                                "F9C6EAC0-8A66-4757-9D8A-9A6C8FEA3C44", "57C6099B-934F-4C86-90F2-CC6C2F2A3CC3")
MEMO = "Citaat van mevrouw Jansen, nagaan bij Zorggroep Noorderlicht."


def _selection(number: int, fragment: str, code: str, description: str = "") -> str:
    start = RAW_TEXT.index(fragment)
    note = f"<Description>{description}</Description>" if description else ""
    return (f'<PlainTextSelection guid="00000000-0000-4000-8000-{number:012d}" name="s{number}" '
            f'startPosition="{start}" endPosition="{start + len(fragment)}" creatingUser="{USER}">{note}'
            f'<Coding guid="00000000-0000-4000-9000-{number:012d}" creatingUser="{USER}">'
            f'<CodeRef targetGUID="{code}"/></Coding></PlainTextSelection>')


def qdpx() -> bytes:
    """A small project as another QDA program exports it, with names in and around its codings."""
    selections = [_selection(i, fragment, CODE_A if i % 2 else CODE_B, MEMO if i == 1 else "")
                  for i, fragment in enumerate([*WHOLE.values(), CUT], start=1)]
    qde = f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Interviews" origin="test">
  <Users><User guid="{USER}" name="Anna"/></Users>
  <CodeBook><Codes>
    <Code guid="{CODE_A}" name="Overlappende overleggen" isCodable="true"/>
    <Code guid="{CODE_B}" name="Bestuurlijk commitment" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{SOURCE}" name="Interview Jansen.txt" plainTextPath="internal://{SOURCE}.txt">
      {"".join(selections)}
    </TextSource>
  </Sources>
</Project>"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", qde.encode("utf-8"))
        archive.writestr(f"sources/{SOURCE}.txt", RAW_TEXT.encode("utf-8"))
    return buffer.getvalue()


def _restored(text: str, key: dict[str, str]) -> str:
    """The text with every placeholder put back to the value it stands for."""
    return PLACEHOLDER.sub(lambda m: key[m.group()], text)


def test_import_pseudonymises_texts_and_memos_and_moves_the_codings(make_settings, sqlite_url, refi_schema_dir):
    settings = make_settings(database_url=sqlite_url, pseudonymise_recogniser="rules")
    db = database(settings)
    with db.transaction() as session:
        report = import_qdpx(session, qdpx(), owner=user(session, "importer"), settings=settings)
        project = session.get(Project, report.project_id)
        transcript = session.scalar(select(Transcript).where(Transcript.project_id == project.id))
        key = {e.placeholder: e.value for e in load_key(session, project.id, cipher_from_settings(settings))}
        coded = sorted(transcript.text[q.start:q.end] for q in session.scalars(
            select(Quotation).where(Quotation.transcript_id == transcript.id)))
        memos = [e.payload["text"] for e in session.scalars(select(ReviewEvent).where(ReviewEvent.action == "comment"))]
        exported = export_qdpx(session, project)
    db.dispose()

    assert project.pseudonymise and report.pseudonymised and report.placeholders >= 3
    stored = transcript.text + transcript.filename + "".join(memos)
    assert not [name for name in NAMES if name in stored], stored
    assert PLACEHOLDER.search(transcript.filename) and len(memos) == 1 and PLACEHOLDER.search(memos[0])
    # Each coding covers the same words: its stored text is the original, up to the placeholders.
    restored = [_restored(text, key) for text in coded]
    for fragment in WHOLE.values():
        assert fragment in restored, (fragment, restored)
    cut = next(text for text in restored if text.startswith(CUT))
    assert cut == "ontbreekt, zegt mevrouw Jansen"  # the placeholder is covered whole, never cut
    assert any(PLACEHOLDER.search(text) for text in coded)

    validate(zipfile.ZipFile(io.BytesIO(exported)).read("project.qde"), "project", refi_schema_dir)
    source = read_qdpx(exported, settings).sources[0]
    assert source.text == transcript.text
    assert sorted(source.text[s.start:s.end] for s in source.selections) == coded


def test_import_without_pseudonymisation_only_when_asked(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url, pseudonymise_recogniser="rules")
    db = database(settings)
    with db.transaction() as session:
        report = import_qdpx(session, qdpx(), owner=user(session, "importer"), settings=settings, pseudonymise=False)
        project = session.get(Project, report.project_id)
        transcript = session.scalar(select(Transcript).where(Transcript.project_id == project.id))
        coded = {transcript.text[q.start:q.end] for q in session.scalars(select(Quotation))}
    db.dispose()

    assert not project.pseudonymise and not report.pseudonymised and report.placeholders == 0
    assert transcript.text == RAW_TEXT.replace("\r\n", "\n") and transcript.filename == "Interview Jansen.txt"
    assert coded == {*WHOLE.values(), CUT}
