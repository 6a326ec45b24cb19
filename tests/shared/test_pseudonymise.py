"""Pseudonymisation: recognisers, placeholders, exact offsets, the encrypted key, settings."""
from __future__ import annotations

import os
import threading

import pytest
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from services.shared.errors import ConfigurationError
from services.shared.ingest import parse_turns
from services.shared.privacy import cipher_from_settings, project_pseudonymiser, reveal
from services.shared.privacy.keys import KeyCipher, load_key
from services.shared.privacy.placeholders import (
    PLACEHOLDER,
    Entity,
    Replacement,
    replace_spans,
    resolve_overlaps,
)
from services.shared.privacy.rules import RuleRecogniser
from services.shared.tables import Project, PseudonymKey, Transcript
from services.shared.uploads import TranscriptMetadata, build_transcript, store_transcript
from tests.shared.privacy_support import contains_word, example_paths, gold_names, make_world

# Sentences written for these tests (not taken from the example transcripts), one detail each.
UNSEEN = [
    ("We hebben dat met Stichting Woonzorg Oostervaart opgepakt.", "Stichting Woonzorg Oostervaart", "organisatie"),
    ("Ik bel daarvoor altijd met zorgaanbieder Lindehof.", "Lindehof", "organisatie"),
    ("De pilot liep in Wezelbroek en daarna ook in Kampervoort.", "Wezelbroek", "locatie"),
    ("De pilot liep in Wezelbroek en daarna ook in Kampervoort.", "Kampervoort", "locatie"),
    ("Het buurthuis aan de Populierenlaan 14 is nu dicht.", "Populierenlaan 14", "locatie"),
    ("Op 3 februari hebben we de eerste bijeenkomst gehad.", "3 februari", "datum"),
    ("Dat is vastgelegd op 12-04-2019 in het convenant.", "12-04-2019", "datum"),
    ("Je kunt me bellen op 06 12 34 56 78 of op +31 20 555 0199.", "06 12 34 56 78", "telefoon"),
    ("Je kunt me bellen op 06 12 34 56 78 of op +31 20 555 0199.", "+31 20 555 0199", "telefoon"),
    ("Mail maar naar j.devries@voorbeeld-gemeente.nl als je wilt.", "j.devries@voorbeeld-gemeente.nl", "email"),
    ("Toen heeft mevrouw Oudshoorn het overgenomen.", "Oudshoorn", "persoon"),
    ("Ik heb het er met Joris Verbeek over gehad.", "Joris Verbeek", "persoon"),
]
ORDINARY = "Nou. Goed. Ja, de Wmo en de VNG, dat is in Nederland zo geregeld. Kortom: we doen het samen."


class ListRecogniser:
    """A deterministic recogniser for offset tests: every listed word is a person."""

    name = "list"

    def __init__(self, words: list[str]) -> None:
        self.words = words

    def find(self, text: str) -> list[Entity]:
        """Each occurrence of each word."""
        found = []
        for word in self.words:
            start = text.find(word)
            while start != -1:
                found.append(Entity(start, start + len(word), "persoon"))
                start = text.find(word, start + 1)
        return found


@st.composite
def _text_with_replacements(draw):  # noqa: ANN202
    text = draw(st.text(alphabet="ab .\n", min_size=1, max_size=60))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2) if cuts[i] < cuts[i + 1]]
    placeholders = [draw(st.sampled_from(["[PERSOON-1]", "[X]", "", "[LOCATIE-12]"])) for _ in spans]
    return text, [Replacement(s, e, p, "persoon", text[s:e]) for (s, e), p in zip(spans, placeholders)]


@hypothesis_settings(max_examples=300, deadline=None)
@given(_text_with_replacements(), st.data())
def test_pseudonymise_offset_map_keeps_spans_exact(case, data) -> None:
    text, replacements = case
    new_text, offsets = replace_spans(text, replacements)
    boundaries = sorted({0, len(text), *(r.start for r in replacements), *(r.end for r in replacements)})
    a = data.draw(st.sampled_from(boundaries))
    b = data.draw(st.sampled_from([x for x in boundaries if x >= a]))
    # The span's text after replacement is the old span's text with the replacements inside it applied.
    inside = [Replacement(r.start - a, r.end - a, r.placeholder, r.kind, r.value) for r in replacements
              if a <= r.start and r.end <= b]
    expected, _ = replace_spans(text[a:b], inside)
    assert new_text[offsets.start(a):offsets.end(b)] == expected


def test_pseudonymise_offset_map_span_cutting_a_name_covers_the_placeholder() -> None:
    text = "R: Femke Jansen zei dat."
    new_text, offsets = replace_spans(text, [Replacement(3, 15, "[PERSOON-1]", "persoon", "Femke Jansen")])
    assert new_text == "R: [PERSOON-1] zei dat."
    start, end = offsets.span(6, 19)  # from inside the name to after "zei"
    assert new_text[start:end] == "[PERSOON-1] zei"


def test_pseudonymise_overlapping_entities_merge_into_their_union() -> None:
    text = "bij Zorggroep De Linde in"
    merged = resolve_overlaps([Entity(4, 22, "organisatie"), Entity(14, 22, "locatie")], text)
    assert merged == [Entity(4, 22, "organisatie")]
    already = "bij [PERSOON-1] in"
    assert resolve_overlaps([Entity(4, 15, "persoon")], already) == []


@pytest.mark.parametrize(("sentence", "value", "kind"), UNSEEN, ids=[u[1] for u in UNSEEN])
def test_pseudonymise_rules_find_each_kind_in_unseen_sentences(sentence, value, kind) -> None:
    entities = resolve_overlaps(RuleRecogniser().find(sentence), sentence)
    start = sentence.index(value)
    covering = [e for e in entities if e.start <= start and start + len(value) <= e.end]
    assert covering, f"{value!r} not found in {sentence!r}: {entities}"
    assert covering[0].kind == kind


def test_pseudonymise_rules_leave_ordinary_capitalised_words_alone() -> None:
    assert resolve_overlaps(RuleRecogniser().find(ORDINARY), ORDINARY) == []


def test_pseudonymise_upload_keeps_turns_and_roles_and_hides_every_gold_name(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"))
    names_found = names_total = 0
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        for path in example_paths():
            raw = path.read_bytes()
            original = parse_turns(raw.decode("utf-8"))
            transcript = store_transcript(session, project, build_transcript(raw, path.name, world.settings,
                                                                             pseudonymiser=pseudonymiser), world.user(session))
            assert transcript.pseudonymised
            assert [(t.role, t.index) for t in transcript.turns] == [(t.role, t.index) for t in original.turns]
            for turn in transcript.turns:  # offsets point into the stored text: labels stay outside turns
                assert not transcript.text[turn.start:turn.end].startswith(f"{turn.speaker}:")
            for name in gold_names(path):
                names_total += 1
                names_found += not contains_word(transcript.text, name["text"])
    # The rules alone (no deduce) must hide nearly all of the 132 gold names.
    assert names_found / names_total >= 0.95, (names_found, names_total)


def test_pseudonymise_same_value_gets_the_same_placeholder_across_transcripts(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"))
    first = "I: Hoe gaat het?\nR: Ik sprak mevrouw Oudshoorn in Wezelbroek.\n".encode()
    second = "I: En daarna?\nR: Mevrouw Oudshoorn belde. Ook meneer Bakhuis belde.\n".encode()
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        one = store_transcript(session, project, build_transcript(first, "a.txt", world.settings,
                                                                  pseudonymiser=pseudonymiser), None)
    with world.database.transaction() as session:  # a later request: the key is read back from the database
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        two = store_transcript(session, project, build_transcript(second, "b.txt", world.settings,
                                                                  pseudonymiser=pseudonymiser), None)
    assert one.text == "I: Hoe gaat het?\nR: Ik sprak mevrouw [PERSOON-1] in [LOCATIE-1].\n"
    assert two.text == "I: En daarna?\nR: Mevrouw [PERSOON-1] belde. Ook meneer [PERSOON-2] belde.\n"


def test_pseudonymise_metadata_fields_use_the_same_placeholders(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="rules"))
    body = "I: Waar werkt u?\nR: Bij de gemeente Wezelbroek.\n".encode()
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        transcript = build_transcript(body, "a.txt", world.settings, TranscriptMetadata(case_name="gemeente Wezelbroek"),
                                      pseudonymiser=pseudonymiser)
    assert transcript.case_name == "gemeente [LOCATIE-1]"


def test_pseudonymise_project_without_pseudonymisation_gets_no_pseudonymiser(make_settings) -> None:
    world = make_world(make_settings(), pseudonymise=False)
    with world.database.transaction() as session:
        assert project_pseudonymiser(session, session.get(Project, world.project_id), world.settings) is None


def test_pseudonymise_key_is_encrypted_at_rest_and_bound_to_its_row(make_settings) -> None:
    settings = make_settings(pseudonymise_recogniser="rules", pseudonym_key_secret="s" * 40)
    world = make_world(settings)
    body = "R: Toen heeft mevrouw Oudshoorn het overgenomen.\n".encode()
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        build_transcript(body, "a.txt", settings, pseudonymiser=project_pseudonymiser(session, project, settings))
    with world.database.transaction() as session:
        (row,) = session.scalars(select(PseudonymKey)).all()
        assert b"Oudshoorn" not in bytes(row.encrypted_value)
        assert reveal(session, world.project_id, "[PERSOON-1]", cipher_from_settings(settings)).value == "Oudshoorn"
        with pytest.raises(ConfigurationError):
            load_key(session, world.project_id, KeyCipher(b"another secret of the wrong installation"))
        with pytest.raises(ConfigurationError):  # a row moved to another placeholder does not decrypt
            cipher_from_settings(settings).decrypt(world.project_id, "[PERSOON-2]", row.encrypted_value)


def test_pseudonymise_concurrent_uploads_number_placeholders_without_collisions(database_url, make_settings) -> None:
    world = make_world(make_settings(database_url=database_url, pseudonymise_recogniser="rules"))
    errors: list[BaseException] = []

    def upload(index: int) -> None:
        own = ["Aalbers", "Brouwers", "Claassen", "Dekkers", "Evertsen", "Frederiks"][index]
        body = f"R: Ik sprak mevrouw {own} en meneer Gedeeld.\n".encode()
        try:
            with world.database.transaction() as session:
                project = session.get(Project, world.project_id)
                pseudonymiser = project_pseudonymiser(session, project, world.settings)
                store_transcript(session, project, build_transcript(body, f"{index}.txt", world.settings,
                                                                    pseudonymiser=pseudonymiser), None)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with world.database.transaction() as session:
        texts = [t.text for t in session.scalars(select(Transcript))]
        entries = load_key(session, world.project_id, cipher_from_settings(world.settings))
    values = {e.value: e.placeholder for e in entries}
    assert len(values) == 7 and len(set(values.values())) == 7  # six own names and one shared name
    assert len(texts) == 6 and all(f"en meneer {values['Gedeeld']}." in t for t in texts)


def test_pseudonymise_settings_refuse_default_secrets_in_production(make_settings, tmp_path) -> None:
    for secret in (None, "change-me", "short-secret"):
        with pytest.raises(ValidationError):
            make_settings(environment="production", pseudonym_key_secret=secret)
    with pytest.raises(ValidationError):
        make_settings(environment="production", pseudonym_key_file=tmp_path / "missing.key")
    assert make_settings(environment="production", pseudonym_key_secret="x" * 40).environment == "production"


def test_pseudonymise_development_key_file_is_created_once_and_private(make_settings) -> None:
    settings = make_settings()
    first = cipher_from_settings(settings)
    key_file = settings.data_dir / "secrets" / "pseudonym.key"
    assert key_file.is_file() and (os.stat(key_file).st_mode & 0o077) == 0
    token = first.encrypt("p", "[PERSOON-1]", "Femke")
    assert cipher_from_settings(settings).decrypt("p", "[PERSOON-1]", token) == "Femke"


@pytest.mark.slow
def test_pseudonymise_deduce_hides_the_gold_names_of_the_examples(make_settings) -> None:
    world = make_world(make_settings(pseudonymise_recogniser="deduce"))
    hidden = total = 0
    with world.database.transaction() as session:
        project = session.get(Project, world.project_id)
        pseudonymiser = project_pseudonymiser(session, project, world.settings)
        for path in example_paths():
            result = pseudonymiser.pseudonymise(path.read_text(encoding="utf-8"))
            assert PLACEHOLDER.search(result.text)
            for name in gold_names(path):
                total += 1
                hidden += any(r.start <= name["start"] and name["end"] <= r.end for r in result.replacements)
    assert hidden / total >= 0.97, (hidden, total)


HELDOUT = example_paths()[0].parent / "heldout_names"


def test_pseudonymise_heldout_name_gold_lists_every_occurrence_exactly() -> None:
    """The held-out recall set (benchmarks/bench_pseudonymise_recall.py) is exact and new to the rules."""
    import json
    import re

    from services.shared.privacy import KINDS, lists

    texts = sorted(HELDOUT.glob("*.txt"))
    assert len(texts) == 3
    list_words = {w.casefold() for group in (lists.ORGANISATION_NAME_HEADS, lists.NOT_NAMES, lists.LOCATION_NOUNS)
                  for w in group}
    examples = "".join(path.read_text(encoding="utf-8") for path in example_paths())
    for path in texts:
        text = path.read_text(encoding="utf-8")
        names = json.loads(path.with_name(path.stem + ".names.json").read_text(encoding="utf-8"))["names"]
        spans = [(n["start"], n["end"]) for n in names]
        assert all(text[n["start"]:n["end"]] == n["text"] and n["kind"] in KINDS for n in names), path.name
        assert all(a[1] <= b[0] for a, b in zip(sorted(spans), sorted(spans)[1:])), f"{path.name}: overlapping names"
        for value in {n["text"] for n in names}:  # no occurrence left out
            for match in re.finditer(r"(?<![\w@.-])" + re.escape(value) + r"(?![\w@-]|\.\w)", text):
                assert any(s <= match.start() and match.end() <= e for s, e in spans), (path.name, value)
        people = [n["text"] for n in names if n["kind"] == "persoon"]
        assert not [p for p in people if contains_word(examples, p)], "held-out people must be new"
        for name in names:
            if name["kind"] in ("persoon", "organisatie", "locatie"):
                # The distinctive word of each name is in no rule list (heads such as "Stichting" may be).
                words = [w for w in re.findall(r"[^\W\d_]+", name["text"]) if w[0].isupper()]
                assert any(w.casefold() not in list_words for w in words), name
