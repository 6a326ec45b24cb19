"""Speaker turns: label styles, timestamps, front matter, roles, and exact offsets."""
from __future__ import annotations

import random

import pytest

from services.shared.ingest import parse_turns

I, R = "interviewer", "respondent"

# name -> (text, expected turns as (speaker, role, spoken text, timestamp))
FIXTURES: dict[str, tuple[str, list[tuple[str, str, str, str | None]]]] = {
    "short labels": (
        "I: Hoe is de regie georganiseerd?\nR: Dat is lastig.\n",
        [("I", I, "Hoe is de regie georganiseerd?", None), ("R", R, "Dat is lastig.", None)],
    ),
    "long labels": (
        "Interviewer: Wat doet de gemeente?\nRespondent:   Weinig, eerlijk gezegd.  \n",
        [("Interviewer", I, "Wat doet de gemeente?", None), ("Respondent", R, "Weinig, eerlijk gezegd.", None)],
    ),
    "dutch labels": (
        "Int: Vraag één?\nGeïnterviewde: Antwoord één.\nOnderzoeker: Vraag twee?\nGeinterviewde: Twee.\n",
        [("Int", I, "Vraag één?", None), ("Geïnterviewde", R, "Antwoord één.", None),
         ("Onderzoeker", I, "Vraag twee?", None), ("Geinterviewde", R, "Twee.", None)],
    ),
    "abbreviated labels with a dot": (
        "Int.: Klaar?\nResp.: Ja.\n",
        [("Int.", I, "Klaar?", None), ("Resp.", R, "Ja.", None)],
    ),
    "numbered respondents": (
        "I: Wie begint?\nR1: Ik.\nRespondent 2: Daarna ik.\n",
        [("I", I, "Wie begint?", None), ("R1", R, "Ik.", None), ("Respondent 2", R, "Daarna ik.", None)],
    ),
    "case-insensitive long labels": (
        "INTERVIEWER: Hallo?\nrespondent: hoi\n",
        [("INTERVIEWER", I, "Hallo?", None), ("respondent", R, "hoi", None)],
    ),
    "timestamp before label": (
        "[00:12:34] I: Eén?\n(00:13:00) R: Twee.\n00:14:10 I: Drie?\n14:20 R: Vier.\n",
        [("I", I, "Eén?", "00:12:34"), ("R", R, "Twee.", "00:13:00"),
         ("I", I, "Drie?", "00:14:10"), ("R", R, "Vier.", "14:20")],
    ),
    "timestamp between label and colon": (
        "I [00:12:34]: Eén?\nR (00:13:00): Twee.\n",
        [("I", I, "Eén?", "00:12:34"), ("R", R, "Twee.", "00:13:00")],
    ),
    "timestamp after colon": (
        "I: [00:12:34] Eén?\nR: (00:13:00) Twee.\nI: 00:14:10 Drie?\nR: 10:30 begon de vergadering.\n",
        [("I", I, "Eén?", "00:12:34"), ("R", R, "Twee.", "00:13:00"), ("I", I, "Drie?", "00:14:10"),
         ("R", R, "10:30 begon de vergadering.", None)],
    ),
    "timestamp with dash and milliseconds": (
        "[00:01:02.500] - I: Klaar?\n",
        [("I", I, "Klaar?", "00:01:02.500")],
    ),
    "bold markers": (
        "**I:** Wat is het knelpunt?\n**R**: De financiering.\n__I:__ En verder?\n**[00:01:00] R:** Niets.\n",
        [("I", I, "Wat is het knelpunt?", None), ("R", R, "De financiering.", None),
         ("I", I, "En verder?", None), ("R", R, "Niets.", "00:01:00")],
    ),
    "multi-line turns": (
        "I: Kunt u dat uitleggen?\n\nR: Ja.\nDe gemeente pakt de regie niet.\n\n   Wat ik bedoel: niemand.\n"
        "Nou: ja\nKortom: het loopt vast.\n\nI: Dank u.\n",
        [("I", I, "Kunt u dat uitleggen?", None),
         ("R", R, "Ja.\nDe gemeente pakt de regie niet.\n\n   Wat ik bedoel: niemand.\nNou: ja\n"
                  "Kortom: het loopt vast.", None),
         ("I", I, "Dank u.", None)],
    ),
    "label alone on its line": (
        "I:\nWat vindt u?\nR:\n  Goed.\n",
        [("I", I, "Wat vindt u?", None), ("R", R, "Goed.", None)],
    ),
    "colon sentences and reported speech stay in the turn": (
        "I: Wat zei de wethouder?\nR: Hij zei het zo.\nWethouder zei: nee.\nBelangrijk: geld.\n"
        "Mevrouw Jansen: die belde.\nHttp://example.nl\nHttps://example.nl is de site\n",
        [("I", I, "Wat zei de wethouder?", None),
         ("R", R, "Hij zei het zo.\nWethouder zei: nee.\nBelangrijk: geld.\nMevrouw Jansen: die belde.\n"
                  "Http://example.nl\nHttps://example.nl is de site", None)],
    ),
    "named speakers inferred": (
        "Jan de Vries: Hoe gaat het met de regie?\nPiet Jansen: Goed hoor.\n"
        "Jan de Vries: En de mantelzorg?\nPiet Jansen: Die is overbelast. Snapt u?\nJan de Vries: Zeker.\n",
        [("Jan de Vries", I, "Hoe gaat het met de regie?", None), ("Piet Jansen", R, "Goed hoor.", None),
         ("Jan de Vries", I, "En de mantelzorg?", None), ("Piet Jansen", R, "Die is overbelast. Snapt u?", None),
         ("Jan de Vries", I, "Zeker.", None)],
    ),
    "single names and placeholders": (
        "Anna: Wat doet u?\n[PERSOON-1]: Ik coördineer.\nAnna: Sinds wanneer?\n[PERSOON-1]: Sinds 2019.\n",
        [("Anna", I, "Wat doet u?", None), ("[PERSOON-1]", R, "Ik coördineer.", None),
         ("Anna", I, "Sinds wanneer?", None), ("[PERSOON-1]", R, "Sinds 2019.", None)],
    ),
    "front matter interviewer wins": (
        "---\nrespondent: R07\ncasus: Gemeente A\nfunctie: beleidsmedewerker\ninterviewer: Piet\n"
        "datum: 2023-03-01\n---\n"
        "Jan: Vraag?\nPiet Jansen: Antwoord.\nJan: Nog een vraag?\nPiet Jansen: Ja.\n",
        [("Jan", R, "Vraag?", None), ("Piet Jansen", I, "Antwoord.", None),
         ("Jan", R, "Nog een vraag?", None), ("Piet Jansen", I, "Ja.", None)],
    ),
    "fixed interviewer with named respondents": (
        "I: Wie bent u?\nWethouder: Ik ben wethouder.\nI: En u?\nBeleidsmedewerker: Ik ben ambtenaar.\n"
        "Wethouder: Klopt?\nBeleidsmedewerker: Ja.\n",
        [("I", I, "Wie bent u?", None), ("Wethouder", R, "Ik ben wethouder.", None), ("I", I, "En u?", None),
         ("Beleidsmedewerker", R, "Ik ben ambtenaar.", None), ("Wethouder", R, "Klopt?", None),
         ("Beleidsmedewerker", R, "Ja.", None)],
    ),
    "no labels": (
        "  Ik werk al tien jaar bij de gemeente.\nDe regie is lastig: niemand pakt het op.\n\n",
        [("Respondent", R, "Ik werk al tien jaar bij de gemeente.\nDe regie is lastig: niemand pakt het op.", None)],
    ),
    "front matter then no labels": (
        "---\ncase: B\n---\nGewoon een verhaal.\n",
        [("Respondent", R, "Gewoon een verhaal.", None)],
    ),
    "preamble before first label": (
        "Interview gemeente B, 12 maart\nLocatie: gemeentehuis\n\nI: Start?\nR: Ja.\n",
        [("I", I, "Start?", None), ("R", R, "Ja.", None)],
    ),
    "crlf kept out of spans": (
        "I: Vraag?\r\nR: Antwoord.\r\n",
        [("I", I, "Vraag?", None), ("R", R, "Antwoord.", None)],
    ),
}


def _check_turns_are_exact(text, parsed, expected):
    previous_end = 0
    for position, turn in enumerate(parsed.turns):
        spoken = text[turn.start:turn.end]
        assert turn.index == position
        assert spoken and spoken == spoken.strip(), repr(spoken)
        assert turn.start >= previous_end, "turns overlap or are out of order"
        assert turn.role in (I, R)
        previous_end = turn.end
    actual = [(t.speaker, t.role, text[t.start:t.end], t.timestamp) for t in parsed.turns]
    assert actual == expected


@pytest.mark.parametrize("name", list(FIXTURES))
def test_turns_fixture_spans_equal_spoken_text(name):
    text, expected = FIXTURES[name]
    _check_turns_are_exact(text, parse_turns(text), expected)


def test_turns_front_matter_metadata_normalised_and_not_in_turns():
    text = FIXTURES["front matter interviewer wins"][0]
    parsed = parse_turns(text)
    assert parsed.metadata == {"respondent_id": "R07", "case": "Gemeente A", "respondent_role": "beleidsmedewerker",
                               "interviewer": "Piet", "date": "2023-03-01"}
    body = text.index("---\nJan") + 4
    assert all(turn.start >= body for turn in parsed.turns)
    assert not any("inferred" in warning for warning in parsed.warnings)


@pytest.mark.parametrize("key, normalised", [
    ("respondent", "respondent_id"), ("respondent_id", "respondent_id"), ("Casus", "case"), ("case", "case"),
    ("rol", "respondent_role"), ("role", "respondent_role"), ("functie", "respondent_role"),
    ("interviewer", "interviewer"), ("datum", "date"), ("date", "date"),
])
def test_turns_front_matter_each_key(key, normalised):
    parsed = parse_turns(f"---\n{key}: \"waarde x\"\n---\nR: tekst\n")
    assert parsed.metadata == {normalised: "waarde x"}


def test_turns_front_matter_unknown_key_kept_with_warning():
    parsed = parse_turns("---\ncase: A\nLocatie: stadhuis\n---\nR: ja\n")
    assert parsed.metadata == {"case": "A", "locatie": "stadhuis"}
    assert any("Locatie" in warning for warning in parsed.warnings)


def test_turns_dashes_around_dialogue_are_not_front_matter():
    text = "---\nI: Hallo?\nR: Ja.\n---\n"
    parsed = parse_turns(text)
    assert parsed.metadata == {}
    assert [text[t.start:t.end] for t in parsed.turns] == ["Hallo?", "Ja.\n---"]


def test_turns_unclosed_front_matter_warns():
    parsed = parse_turns("---\ncase: A\nR: ja\n")
    assert parsed.metadata == {}
    assert any("closing" in warning for warning in parsed.warnings)


def test_turns_no_labels_warning():
    parsed = parse_turns(FIXTURES["no labels"][0])
    assert "no speaker labels found; coded as one respondent's text" in parsed.warnings


def test_turns_inference_warns():
    parsed = parse_turns(FIXTURES["named speakers inferred"][0])
    assert any("inferred" in warning and "Jan de Vries" in warning for warning in parsed.warnings)


def test_turns_inference_picks_the_questioner_not_the_first_speaker():
    text = "Piet: Goedemorgen.\nJan: Wat doet u?\nPiet: Ik regisseer.\nJan: Hoe dan?\nPiet: Met moeite.\n"
    roles = {t.speaker: t.role for t in parse_turns(text).turns}
    assert roles == {"Piet": R, "Jan": I}


def test_turns_inference_without_questions_takes_first_speaker():
    text = "Piet: Goedemorgen.\nJan: Hallo.\nPiet: Ik begin.\nJan: Goed.\n"
    parsed = parse_turns(text)
    assert {t.speaker: t.role for t in parsed.turns} == {"Piet": I, "Jan": R}
    assert any("speak first" in warning for warning in parsed.warnings)


def test_turns_front_matter_interviewer_unknown_falls_back_with_warning():
    text = "---\ninterviewer: Karel\n---\nJan: Vraag?\nPiet: Antwoord.\nJan: Nog een?\nPiet: Nee.\n"
    parsed = parse_turns(text)
    assert {t.speaker: t.role for t in parsed.turns} == {"Jan": I, "Piet": R}
    assert any("Karel" in warning for warning in parsed.warnings)


def test_turns_single_capitalised_word_once_is_not_a_label():
    text = "Kortom: het loopt vast.\nSamenwerking: moeilijk.\nGemeente: te weinig geld.\n"
    parsed = parse_turns(text)
    assert len(parsed.turns) == 1 and parsed.turns[0].speaker == "Respondent"


def test_turns_empty_label_skipped_with_warning():
    text = "I: Vraag?\nR:\nI: Nog een vraag?\nR: Antwoord.\n"
    parsed = parse_turns(text)
    assert [text[t.start:t.end] for t in parsed.turns] == ["Vraag?", "Nog een vraag?", "Antwoord."]
    assert any("without any text" in warning for warning in parsed.warnings)


def test_turns_preamble_warning():
    warnings = parse_turns(FIXTURES["preamble before first label"][0]).warnings
    assert any("before the first speaker label" in warning for warning in warnings)


def test_turns_empty_text():
    parsed = parse_turns("   \n")
    assert parsed.turns == [] and parsed.warnings


# --- generated transcripts: every label style x timestamp position x multi-line content ---

_LABELS = [("I", I), ("R", R), ("Interviewer", I), ("Respondent", R), ("Int", I), ("Onderzoeker", I),
           ("Geïnterviewde", R), ("R2", R)]
_STAMP_FORMATS = ["[{t}]", "({t})", "{t}"]
_LINES = ["De regie ligt bij de gemeente.", "Wat ik bedoel: niemand voelt zich eigenaar.", "Nou: ja.",
          "Tja… ‘zelfstandig wonen’ kost € 300 per maand 😀", "Kortom: het loopt vast?", "Dat weet ik niet.",
          "Hij zei: dat regelen we wel.", "Op 12 maart om 10:30 was er overleg.", "Snapt u wat ik bedoel?"]


def _generated_transcript(rng: random.Random):
    parts, expected = [], []
    for _ in range(rng.randint(1, 8)):
        speaker, role = rng.choice(_LABELS)
        seconds = rng.randint(0, 7199)
        stamp_text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        stamp = rng.choice(_STAMP_FORMATS).format(t=stamp_text)
        position = rng.choice(["none", "before", "between", "after"])
        if position == "between" and not stamp.startswith(("[", "(")):
            position = "before"
        bold = rng.random() < 0.2
        label = f"**{speaker}:**" if bold else f"{speaker}:"
        if position == "before":
            head = f"{stamp} {label}"
        elif position == "between":
            head = f"{speaker} {stamp}:"
        elif position == "after":
            head = f"{label} {stamp}"
        else:
            head = label
        spoken = rng.choice(["\n", "\n\n"]).join(rng.sample(_LINES, rng.randint(1, 4)))
        separator = rng.choice([" ", "  ", "\t", "\n"])
        trailing = rng.choice(["", " ", "  "]) + "\n" + rng.choice(["", "\n"])
        chunk = f"{head}{separator}{spoken}{trailing}"
        parts.append(chunk)
        expected.append((speaker, role, spoken, None if position == "none" else stamp_text))
    return "".join(parts), expected


def test_turns_generated_transcripts_spans_are_exact():
    rng = random.Random(20240501)
    for _ in range(300):
        text, expected = _generated_transcript(rng)
        _check_turns_are_exact(text, parse_turns(text), expected)


_NAMES = ["Jan de Vries", "Anna", "[PERSOON-1]", "Mevr. Van Dijk", "Spreker 2", "Anne van der Berg", "Özlem Yıldız"]


def test_turns_generated_named_speakers_with_front_matter():
    rng = random.Random(77)
    for _ in range(200):
        interviewer, respondent = rng.sample(_NAMES, 2)
        text = f"---\ninterviewer: {interviewer}\nrespondent: {respondent}\n---\n"
        expected = []
        for turn in range(rng.randint(1, 6)):
            speaker, role = (interviewer, I) if turn % 2 == 0 else (respondent, R)
            spoken = "\n".join(rng.sample(_LINES, rng.randint(1, 3)))
            stamp = rng.choice([None, "01:02:03"])
            head = f"[{stamp}] {speaker}:" if stamp else f"{speaker}:"
            text += f"{head} {spoken}\n"
            expected.append((speaker, role, spoken, stamp))
        parsed = parse_turns(text)
        _check_turns_are_exact(text, parsed, expected)
        assert parsed.metadata == {"interviewer": interviewer, "respondent_id": respondent}


def test_turns_front_matter_interviewer_matches_leading_words():
    text = "---\ninterviewer: jan\n---\nJan de Vries: Goed.\nPiet Jansen: Wat bedoelt u?\n"
    assert {t.speaker: t.role for t in parse_turns(text).turns} == {"Jan de Vries": I, "Piet Jansen": R}


def test_turns_lone_named_speaker_is_respondent():
    text = "Wethouder: Ik begin.\nWethouder: En ik ga door?\n"
    parsed = parse_turns(text)
    assert [(t.speaker, t.role) for t in parsed.turns] == [("Wethouder", R), ("Wethouder", R)]
    assert not any("inferred" in warning for warning in parsed.warnings)


def test_turns_sentence_openers_repeated_are_not_labels():
    text = "Nou: ja.\nDat klopt.\nNou: nee.\nKortom: lastig.\nKortom: geld.\n"
    parsed = parse_turns(text)
    assert len(parsed.turns) == 1 and text[parsed.turns[0].start:parsed.turns[0].end] == text.strip()
