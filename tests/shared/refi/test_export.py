"""Exporting a project as .qdpx and a codebook as .qdc: schema-valid, exact, attributed, reproducible."""
from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from services.shared.errors import QdaExchangeError
from services.shared.projects import project_codebook
from services.shared.refi import export_qdc, export_qdpx
from services.shared.refi.reader import read_qdpx
from services.shared.refi.schemas import validate
from services.shared.tables import Project, Transcript

NS = {"q": "urn:QDA-XML:project:1.0"}


def _qde(data: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("project.qde")


def test_export_qdpx_validates_against_published_schema(seeded, refi_schema_dir):
    settings, db, ids = seeded
    with db.transaction() as session:
        project = session.get(Project, ids.project_id)
        for machine in ("omit", "separate_user"):
            validate(_qde(export_qdpx(session, project, machine=machine)), "project", refi_schema_dir)


def test_export_qdc_validates_against_published_schema(seeded, refi_schema_dir):
    settings, db, ids = seeded
    with db.transaction() as session:
        validate(export_qdc(project_codebook(session.get(Project, ids.project_id))), "codebook", refi_schema_dir)


def test_export_schema_validation_can_fail(seeded, refi_schema_dir):
    settings, db, ids = seeded
    with db.transaction() as session:
        document = _qde(export_qdpx(session, session.get(Project, ids.project_id)))
    broken = document.replace(b'isCodable="true"', b'isCodable="maybe"', 1)
    with pytest.raises(QdaExchangeError, match="isCodable"):
        validate(broken, "project", refi_schema_dir)


def test_export_is_identical_across_exports(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        project = session.get(Project, ids.project_id)
        first = export_qdpx(session, project, machine="separate_user")
        second = export_qdpx(session, project, machine="separate_user")
    assert first == second


def test_export_sources_hold_exact_text_and_offsets(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        project = session.get(Project, ids.project_id)
        data = export_qdpx(session, project)
        texts = {t.filename: t.text for t in session.query(Transcript).filter_by(project_id=project.id)}
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist()[0] == "project.qde"
    root = etree.fromstring(archive.read("project.qde"))
    sources = root.findall(".//q:TextSource", NS)
    assert {s.get("name") for s in sources} == set(texts)
    for source in sources:
        member = "Sources/" + source.get("plainTextPath").removeprefix("internal://")
        stored = archive.read(member)
        assert stored == texts[source.get("name")].encode("utf-8") and not stored.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in stored
        for selection in source.findall("q:PlainTextSelection", NS):
            start, end = int(selection.get("startPosition")), int(selection.get("endPosition"))
            excerpt = " ".join(texts[source.get("name")][start:end].split())
            assert excerpt.startswith(selection.get("name").rstrip("…"))
    assert "😩" in texts["int_x1.txt"]


def test_export_attributes_confirmed_codings_to_deciding_reviewer(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        data = export_qdpx(session, session.get(Project, ids.project_id))
    qda = read_qdpx(data, settings)
    names = {guid: user.name for guid, user in qda.users.items()}
    by_text = {}
    for source in qda.sources:
        for selection in source.selections:
            by_text[source.text[selection.start:selection.end]] = {names[c.user_guid] for c in selection.codings}
    assert by_text["de wethouder komt nooit naar het overleg"] == {"bram"}  # a model quotation bram confirmed
    assert by_text["Eén aanspreekpunt helpt al, dat is echt een succes 👍."] == {"bram"}
    assert by_text["De financiering is verkokerd, met aparte potjes voor wonen en zorg."] == {"anna"}
    assert "Is de wethouder betrokken?" not in by_text  # rejected
    assert "Een gezamenlijk budget loste dat op." not in by_text  # unreviewed, left out by default
    assert all(not (u.user_id or "").startswith("qcoder-model:") for u in qda.users.values())


def test_export_machine_suggestions_under_model_user_with_confidence(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        data = export_qdpx(session, session.get(Project, ids.project_id), machine="separate_user")
    qda = read_qdpx(data, settings)
    models = [u for u in qda.users.values() if (u.user_id or "") == "qcoder-model:test-model-1"]
    assert len(models) == 1 and "test-model-1" in models[0].name
    machine = [s for src in qda.sources for s in src.selections
               if any(c.user_guid == models[0].guid for c in s.codings)]
    assert len(machine) == 1
    assert "0.71" in machine[0].description and "test-model-1" in machine[0].description


def test_export_memo_is_note_referenced_by_selection(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        data = export_qdpx(session, session.get(Project, ids.project_id))
    qda = read_qdpx(data, settings)
    referenced = [(s, ref) for src in qda.sources for s in src.selections for ref in s.note_refs]
    assert len(referenced) == 1
    selection, ref = referenced[0]
    assert "interne afstemming" in qda.notes[ref].text
    assert qda.users[qda.notes[ref].user_guid].name == "anna"


def test_export_codebook_categories_are_parent_codes_and_groups_are_sets(seeded):
    settings, db, ids = seeded
    with db.transaction() as session:
        codebook = project_codebook(session.get(Project, ids.project_id))
        root = etree.fromstring(_qde(export_qdpx(session, session.get(Project, ids.project_id))))
    top = root.findall("q:CodeBook/q:Codes/q:Code", NS)
    categories = [c for c in top if c.get("isCodable") == "false" and c.findall("q:Code", NS)]
    assert [c.get("name") for c in categories][:len(codebook.categories)] == [c.name for c in codebook.categories]
    overlap = next(c for c in root.iter("{%s}Code" % NS["q"]) if c.get("name") == "Overlap")
    assert overlap.getparent().get("name") == "Het netwerk" and overlap.get("color") == codebook.code("KP03").color
    set_names = {s.get("name") for s in root.findall("q:Sets/q:Set", NS)}
    assert {"Knelpunten", "Oplossingsrichtingen", "Casus: Casus X", "Casus: Casus Y"} <= set_names
    assert any(c.group and c.group in set_names for c in codebook.variables())


def test_export_control_characters_in_memo_still_valid_xml(seeded, refi_schema_dir):
    from services.shared.tables import Quotation, User
    from tests.shared.refi.builders import decide

    settings, db, ids = seeded
    with db.transaction() as session:
        project = session.get(Project, ids.project_id)
        quotation = session.query(Quotation).filter_by(origin="reviewer").first()
        decide(session, project, quotation, session.get(User, ids.admin_id), "comment",
               {"text": "Pagina\x0cscheiding en\x0bverticale tab"})
        document = _qde(export_qdpx(session, project))
    validate(document, "project", refi_schema_dir)
    assert "Paginascheiding enverticale tab".encode() in document


def test_shipped_schemas_are_the_published_ones_and_compile():
    """The copy in services/shared/refi/xsd, used where ../shared/refi-qda is absent, equals the published one."""
    from services.shared.config import REPO_ROOT
    from services.shared.refi.schemas import SCHEMA_FILES, SHIPPED_SCHEMA_DIR, load_schema

    for kind, name in SCHEMA_FILES.items():
        load_schema(kind, SHIPPED_SCHEMA_DIR)
        published = REPO_ROOT.parent / "shared" / "refi-qda" / name
        if published.is_file():
            assert (SHIPPED_SCHEMA_DIR / name).read_bytes() == published.read_bytes()
