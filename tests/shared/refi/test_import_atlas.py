"""Importing a .qdpx written by hand in the shape ATLAS.ti writes it: right codings, every deviation reported."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from services.shared.errors import QdaExchangeError
from services.shared.projects import project_codebook
from services.shared.refi import import_qdc, import_qdpx
from services.shared.review import review_states
from services.shared.tables import Project, Quotation, ReviewEvent, Transcript, User
from tests.shared.refi.builders import database, user

# The file's text as ATLAS.ti stores it: UTF-8 with a byte order mark and Windows line endings.
RAW_TEXT = (
    "Interviewer: Hoe is de samenwerking geregeld?\r\n"
    "Wethouder Jansen: Er zijn echt te veel overleggen 😅, steeds dezelfde mensen aan tafel.\r\n"
    "Interviewer: En de wethouder zelf?\r\n"
    "Wethouder Jansen: Eerlijk gezegd kom ik zelden naar het regionale overleg.\r\n"
    "Interviewer: Wat helpt?\r\n"
    "Wethouder Jansen: Eén aanspreekpunt voor wonen én zorg, dat werkt bij ons heel goed.\r\n"
)
OVERLEG = "Er zijn echt te veel overleggen 😅, steeds dezelfde mensen aan tafel."
WETHOUDER = "Eerlijk gezegd kom ik zelden naar het regionale overleg."
AANSPREEKPUNT = "Eén aanspreekpunt voor wonen én zorg, dat werkt bij ons heel goed."

ANNA, BOB, SYSTEM = ("9A1D5C0E-3F6B-4C71-8E2A-1B7D4F3C2A10", "4E8B2F71-0C3D-4A5E-9F61-7D2C8B1A0E33",
                     "C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B")
SOURCE, TEXT_FILE, DOCX_FILE = ("57C6099B-934F-4C86-90F2-CC6C2F2A3CC3", "230B768E-5A3D-42B7-BE92-2A3721177944",
                                "9DBE0A35-06E4-4D01-B4F5-93C54FA82957")
CODES = {"overlap": "0983E32E-6866-431A-BD94-DAC9BB963825", "schaal": "D299EFAE-5779-46DC-9827-A3D1A5D544BC",
         "commitment": "85D17F60-7BB0-481E-B742-B4861DD669DF", "aanspreekpunt": "F9C6EAC0-8A66-4757-9D8A-9A6C8FEA3C44"}


def _pos(fragment: str) -> tuple[int, int]:
    """Start and end as ATLAS.ti counts them: code points in the file's text, CRLF as two characters."""
    start = RAW_TEXT.index(fragment)
    return start, start + len(fragment)


def atlas_qde() -> str:
    overleg, wethouder, aanspreek = _pos(OVERLEG), _pos(WETHOUDER), _pos(AANSPREEKPUNT)
    return f"""<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<Project xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:QDA-XML:project:1.0 http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd" origin="ATLAS.ti for Windows 23.2.3.27778" name="Interviews LZW" creatingUserGUID="{ANNA}" creationDateTime="2023-08-16T15:49:36Z" xmlns="urn:QDA-XML:project:1.0">
  <Users>
    <User guid="{ANNA}" name="Anna de Vries" />
    <User guid="{{{BOB}}}" name="Bob Smit" />
    <User guid="{SYSTEM}" name="ATLAS.ti" />
  </Users>
  <CodeBook>
    <Codes>
      <Code color="#1F6FB4" isCodable="true" name="Netwerk::Overlappende overleggen" guid="{CODES['overlap']}">
        <Description>Te veel overleggen met dezelfde mensen</Description>
      </Code>
      <Code color="#1F6FB4" isCodable="true" name="Netwerk::Schaal" guid="{CODES['schaal']}" />
      <Code isCodable="true" name="Bestuurlijk commitment" guid="{{{CODES['commitment']}}}" />
      <Code color="#2A2" isCodable="true" name="Eén aanspreekpunt" guid="{CODES['aanspreekpunt']}">
        <Description>Eén ambtelijk aanspreekpunt</Description>
      </Code>
    </Codes>
  </CodeBook>
  <Sources>
    <TextSource plainTextPath="internal://{TEXT_FILE}.txt" richTextPath="internal://{DOCX_FILE}.docx" modifyingUser="{ANNA}" modifiedDateTime="2023-08-16T15:50:01Z" creatingUser="{ANNA}" creationDateTime="2023-08-16T15:50:01Z" guid="{SOURCE}" name="Interview Z3.docx">
      <PlainTextSelection startPosition="{overleg[0]}" modifyingUser="{ANNA}" modifiedDateTime="2023-08-16T16:01:00Z" creatingUser="{ANNA}" creationDateTime="2023-08-16T16:01:00Z" endPosition="{overleg[1]}" guid="4191294A-E287-4510-95B0-69BCE4638E56" name="Er zijn echt te veel overleggen 😅, steeds dezelfde…">
        <Coding creatingUser="{ANNA}" creationDateTime="2023-08-16T16:01:00Z" guid="445A6AEC-1400-4502-919D-0867832FF211">
          <CodeRef targetGUID="{CODES['overlap']}" />
        </Coding>
        <Coding creatingUser="{{{BOB}}}" creationDateTime="2023-08-17T09:12:00Z" guid="{{2284BF5B-8F78-45B6-A6EF-A128D991408B}}">
          <CodeRef targetGUID="{CODES['schaal']}" />
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection startPosition="{wethouder[0]}" creatingUser="{ANNA}" creationDateTime="2023-08-16T16:05:00Z" endPosition="{wethouder[1]}" guid="B49D7982-BB8E-4335-80AF-DC869CCC3F45" name="Eerlijk gezegd kom ik zelden naar het regionale overleg.">
        <Description>Sterk citaat: de wethouder zegt het zelf.</Description>
        <Coding creatingUser="{ANNA}" creationDateTime="2023-08-16T16:05:00Z" guid="89B9918E-4209-4FE0-BEA0-0C7FF56D67A4">
          <CodeRef targetGUID="{CODES['commitment']}" />
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection startPosition="{aanspreek[0]}" creatingUser="{{{BOB}}}" creationDateTime="2023-08-17T09:20:00Z" endPosition="{aanspreek[1]}" guid="2F24EA88-C6A7-482B-8F89-893EF66D7A21" name="Eén aanspreekpunt voor wonen én zorg, dat werkt bij…">
        <Coding creatingUser="{{{BOB}}}" creationDateTime="2023-08-17T09:20:00Z" guid="4B8DD4A4-0C50-42D0-91F4-9E95AFBFC7F0">
          <CodeRef targetGUID="{CODES['aanspreekpunt']}" />
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <Notes>
    <Note creatingUser="{{{BOB}}}" creationDateTime="2023-08-17T10:00:00Z" name="Aanspreekpunt" guid="E41BE463-FDF3-4ED0-B668-119C53D8D687">
      <PlainTextContent>Vergelijken met casus X.</PlainTextContent>
    </Note>
  </Notes>
  <Links>
    <Link direction="OneWay" color="#000000" originGUID="E41BE463-FDF3-4ED0-B668-119C53D8D687" name="Memo-Quotation Relation" targetGUID="2F24EA88-C6A7-482B-8F89-893EF66D7A21" guid="7B56978E-9D9F-4D47-B4EC-436E2F6B8BE5" />
  </Links>
  <Sets>
    <Set guid="C29B5DB8-2ED6-406B-BFD2-68E8E273C1E9" name="casus: Gemeente Z">
      <MemberSource targetGUID="{SOURCE}" />
    </Set>
    <Set guid="02B010C9-3990-4065-B09C-2D228030B01C" name="rol: wethouder">
      <MemberSource targetGUID="{SOURCE}" />
    </Set>
    <Set guid="2324B638-D629-4970-B2E8-8B5BFD0A8D6B" name="Oplossingen">
      <MemberCode targetGUID="{CODES['aanspreekpunt']}" />
    </Set>
  </Sets>
</Project>
"""


def atlas_qdpx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Interviews LZW.qde", b"\xef\xbb\xbf" + atlas_qde().encode("utf-8"))
        archive.writestr(f"sources/{TEXT_FILE}.TXT", b"\xef\xbb\xbf" + RAW_TEXT.encode("utf-8"))
        archive.writestr(f"sources/{DOCX_FILE}.DOCX", b"PK\x03\x04 (the styled text, not read)")
    return buffer.getvalue()


@pytest.fixture
def imported(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    with db.transaction() as session:
        owner = user(session, "importer")
        report = import_qdpx(session, atlas_qdpx(), owner=owner, settings=settings, filename="Interviews LZW.qdpx")
    yield db, report
    db.dispose()


def test_import_atlas_codings_land_on_the_right_text(imported):
    db, report = imported
    with db.transaction() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.project_id == report.project_id))
        quotations = list(session.scalars(select(Quotation).where(Quotation.transcript_id == transcript.id)))
        states = review_states(session, quotations)
        names = {u.id: u.username.split(" (import")[0] for u in session.scalars(select(User))}
        codebook = project_codebook(session.get(Project, report.project_id))
        found = sorted((transcript.text[q.start:q.end], tuple(codebook.code(c).name for c in states[q.id].codes),
                        names[q.created_by], q.origin) for q in quotations)
    assert "\r" not in transcript.text
    assert found == sorted([
        (OVERLEG, ("Overlappende overleggen",), "Anna de Vries", "reviewer"),
        (OVERLEG, ("Schaal",), "Bob Smit", "reviewer"),
        (WETHOUDER, ("Bestuurlijk commitment",), "Anna de Vries", "reviewer"),
        (AANSPREEKPUNT, ("Eén aanspreekpunt",), "Bob Smit", "reviewer"),
    ])
    assert report.quotations == 4 and report.codings == 4 and report.skipped_codings == 0


def test_import_atlas_builds_codebook_from_codes_and_sets(imported):
    db, report = imported
    with db.transaction() as session:
        codebook = project_codebook(session.get(Project, report.project_id))
    by_name = {c.name: c for c in codebook.codes}
    assert set(by_name) == {"Overlappende overleggen", "Schaal", "Bestuurlijk commitment", "Eén aanspreekpunt"}
    assert by_name["Eén aanspreekpunt"].kind == "oplossing"  # member of the Set "Oplossingen"
    assert by_name["Eén aanspreekpunt"].color == "#22AA22"
    knelpunten = codebook.knelpunten()
    assert [k.name for k in knelpunten] == ["Overlappende overleggen", "Schaal", "Bestuurlijk commitment"]
    assert [k.number for k in knelpunten] == [1, 2, 3]
    categories = {c.id: c.name for c in codebook.categories}
    assert categories[by_name["Schaal"].category] == "Netwerk"
    assert by_name["Overlappende overleggen"].description == "Te veel overleggen met dezelfde mensen"
    assert by_name["Bestuurlijk commitment"].color.startswith("#")


def test_import_atlas_reads_attributes_memos_and_times(imported):
    db, report = imported
    with db.transaction() as session:
        transcript = session.scalar(select(Transcript).where(Transcript.project_id == report.project_id))
        comments = [e.payload["text"] for e in session.scalars(select(ReviewEvent).where(
            ReviewEvent.transcript_id == transcript.id, ReviewEvent.action == "comment"))]
        creates = list(session.scalars(select(ReviewEvent).where(ReviewEvent.action == "create")))
    assert transcript.filename == "Interview Z3.docx"
    assert transcript.case_name == "Gemeente Z" and transcript.respondent_role == "wethouder"
    assert sorted(comments) == ["Sterk citaat: de wethouder zegt het zelf.", "Vergelijken met casus X."]
    assert sorted(e.created_at.replace(tzinfo=None).isoformat() for e in creates)[0] == "2023-08-16T16:01:00"


def test_import_atlas_reports_each_deviation(imported):
    db, report = imported
    text = "\n".join(report.deviations)
    for expected in ("'Interviews LZW.qde'", "'sources/'", "braces", "upper case", "byte order mark",
                     "differ in case", "'::'", "no colour", "document groups"):
        assert expected in text, f"{expected!r} not reported in:\n{text}"


def test_import_rejects_codes_with_unknown_kind_mapping(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    with db.transaction() as session:
        owner = user(session, "importer")
        with pytest.raises(Exception, match="kind"):
            import_qdpx(session, atlas_qdpx(), owner=owner, settings=settings, mapping={"Schaal": "probleem"})
    db.dispose()


def test_import_kind_mapping_overrides_sets(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    with db.transaction() as session:
        owner = user(session, "importer")
        report = import_qdpx(session, atlas_qdpx(), owner=owner, settings=settings,
                             mapping={"Netwerk/Schaal": "variabele", "Eén aanspreekpunt": "knelpunt"})
        codebook = project_codebook(session.get(Project, report.project_id))
    db.dispose()
    kinds = {c.name: c.kind for c in codebook.codes}
    assert kinds["Schaal"] == "variabele"  # "Netwerk::Schaal" is addressed as the path Netwerk/Schaal
    assert kinds["Eén aanspreekpunt"] == "knelpunt"


def test_import_qdc_creates_project_with_codebook_only(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    qdc = f"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 2022">
  <Codes>
    <Code guid="{CODES['overlap']}" name="Netwerk" isCodable="false" color="#123456">
      <Code guid="{CODES['schaal']}" name="Schaal" isCodable="true"/>
    </Code>
  </Codes>
</CodeBook>""".encode()
    with db.transaction() as session:
        report = import_qdc(session, qdc, owner=user(session, "importer"), settings=settings, filename="cb.qdc")
        codebook = project_codebook(session.get(Project, report.project_id))
    db.dispose()
    assert [c.name for c in codebook.codes] == ["Schaal"] and codebook.categories[0].name == "Netwerk"
    assert codebook.codes[0].color == "#123456"  # inherited from the folder it sits in
    assert report.transcripts == 0


def test_import_qdc_without_codes_is_refused(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    with db.transaction() as session, pytest.raises(QdaExchangeError, match="no codable codes"):
        import_qdc(session, b'<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/></CodeBook>',
                   owner=user(session, "importer"), settings=settings)
    db.dispose()


def test_import_skips_unusable_source_and_reports_it(make_settings, sqlite_url):
    settings = make_settings(database_url=sqlite_url)
    db = database(settings)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Interviews LZW.qde", atlas_qde().encode("utf-8"))
        archive.writestr(f"sources/{TEXT_FILE}.txt", " \r\n\t \r\n")
    with db.transaction() as session:
        report = import_qdpx(session, buffer.getvalue(), owner=user(session, "importer"), settings=settings)
    db.dispose()
    assert report.transcripts == 0 and report.skipped_codings == 4
    assert any("'Interview Z3.docx' skipped" in d for d in report.deviations)
