"""Tests for services/worker/segment.py: Dutch interview sentence boundaries and exact offsets."""
from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path

import pytest

from services.worker.segment import (
    LG_PACKAGE,
    BoundaryScores,
    Segmenter,
    SentenceSpan,
    boundary_scores,
    build_segmenter,
    lg_install_command,
    spans_of_sentences,
)

GOLD_FILE = Path(__file__).resolve().parents[1] / "data" / "segmentation" / "nl_interview_boundaries.jsonl"


@pytest.fixture(scope="module")
def rules() -> Segmenter:
    return Segmenter("rules")


def sentences(segmenter: Segmenter, text: str) -> list[str]:
    return [text[span.start:span.end] for span in segmenter.split(text)]


def lg_importable() -> bool:
    return importlib.util.find_spec(LG_PACKAGE) is not None


def load_gold() -> list[dict]:
    with GOLD_FILE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- the rules, one test each --------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "We hebben bijv. de wijkteams gevraagd.",
    "Partijen als o.a. de corporatie doen mee.",
    "Het moet m.i. veel concreter.",
    "De regie, d.w.z. het verbinden van partijen, ligt bij ons.",
    "Dat komt t.z.t. wel goed.",
    "De woning was z.g.a.n. toen ze erin kwamen.",
    "Hulpmiddelen, domotica e.d. zijn duur.",
    "Trapliften, handgrepen enz. vallen onder de Wmo.",
    "We doen het nu i.p.v. de provincie.",
    "Dat loopt tot 31 dec. 2020 door.",
])
def test_segment_abbreviation_before_lower_case_does_not_split(rules: Segmenter, text: str) -> None:
    assert sentences(rules, text) == [text]


@pytest.mark.parametrize("text", [
    "Ik heb dhr. Jansen gebeld.",
    "Mevr. De Vries zei dat ook.",
    "We werken met o.a. Woonstede samen.",
    "Het zorgkantoor, d.w.z. Zilveren Kruis, koopt in.",
    "Dat heeft J. de Vries bedacht.",
])
def test_segment_title_or_complement_abbreviation_before_capital_does_not_split(rules: Segmenter, text: str) -> None:
    assert sentences(rules, text) == [text]


@pytest.mark.parametrize("first", [
    "Je hebt traplift, douchestoel, handgrepen enz.",
    "We praten met welzijn, corporaties etc.",
    "Het is te vrijblijvend m.i.",
    "Dat regelen we t.z.t.",
    "Ze kregen een scootmobiel, z.g.a.n.",
    "Denk aan domotica e.d.",
])
def test_segment_abbreviation_at_sentence_end_before_capital_splits(rules: Segmenter, first: str) -> None:
    second = "Maar dat is een ander verhaal."
    assert sentences(rules, f"{first} {second}") == [first, second]


@pytest.mark.parametrize("ellipsis", ["...", "…"])
def test_segment_ellipsis_before_capital_splits(rules: Segmenter, ellipsis: str) -> None:
    text = f"We hadden een plan{ellipsis} Maar toen kwam de bezuiniging."
    assert sentences(rules, text) == [f"We hadden een plan{ellipsis}", "Maar toen kwam de bezuiniging."]


@pytest.mark.parametrize("ellipsis", ["...", "…"])
def test_segment_ellipsis_before_lower_case_does_not_split(rules: Segmenter, ellipsis: str) -> None:
    text = f"Het is gewoon{ellipsis} ja{ellipsis} lastig en duur."
    assert sentences(rules, text) == [text]


@pytest.mark.parametrize("text, expected", [
    ("Hij zei: “Wij gaan er niet over.” Toen was het klaar.",
     ["Hij zei: “Wij gaan er niet over.”", "Toen was het klaar."]),
    ('Ze zei: "Dat is ons budget niet." En dan stopt het.', ['Ze zei: "Dat is ons budget niet."', "En dan stopt het."]),
    ("Dat heet dan ‘regie’. Maar dat is het niet.", ["Dat heet dan ‘regie’.", "Maar dat is het niet."]),
    ("Het is ‘regie.’ Maar niet echt.", ["Het is ‘regie.’", "Maar niet echt."]),
])
def test_segment_closing_quote_stays_with_its_sentence(rules: Segmenter, text: str, expected: list[str]) -> None:
    assert sentences(rules, text) == expected


def test_segment_opening_quote_starts_the_next_sentence(rules: Segmenter) -> None:
    text = 'Zo ging dat. "Nou," zei ik, "dat kan niet." Klaar.'
    assert sentences(rules, text) == ["Zo ging dat.", '"Nou," zei ik, "dat kan niet."', "Klaar."]


def test_segment_quoted_question_followed_by_lower_case_continues(rules: Segmenter) -> None:
    text = '"Waarom doen jullie dat niet samen?" vroeg ik toen. Geen antwoord.'
    assert sentences(rules, text) == ['"Waarom doen jullie dat niet samen?" vroeg ik toen.', "Geen antwoord."]


def test_segment_brackets_stay_with_their_sentence(rules: Segmenter) -> None:
    text = "We sloten een convenant. (Dat was in 2016, geloof ik.) Daarna gebeurde er weinig (helaas)."
    assert sentences(rules, text) == [
        "We sloten een convenant.",
        "(Dat was in 2016, geloof ik.)",
        "Daarna gebeurde er weinig (helaas).",
    ]


def test_segment_capital_after_abbreviation_inside_brackets_does_not_split(rules: Segmenter) -> None:
    text = "De pilot liep in een paar wijken (bijv. Noord en Oost) en dat ging goed."
    assert sentences(rules, text) == [text]


def test_segment_single_newline_is_line_wrapping(rules: Segmenter) -> None:
    text = "We hebben dat met de corporaties\nen het zorgkantoor besproken, en de afdeling\nZorg deed mee."
    assert sentences(rules, text) == [text]


def test_segment_blank_line_splits(rules: Segmenter) -> None:
    text = "Nou ja, zo gaat dat\n\nMaar goed, de wethouder wil het wel\n \t\nen de raad ook."
    assert sentences(rules, text) == ["Nou ja, zo gaat dat", "Maar goed, de wethouder wil het wel", "en de raad ook."]


def test_segment_numbers_times_and_dates_do_not_split(rules: Segmenter) -> None:
    text = "Om 10.30 uur op 12-03-2019 ging het over 1.500 woningen en 3,5 procent. Klaar."
    first = "Om 10.30 uur op 12-03-2019 ging het over 1.500 woningen en 3,5 procent."
    assert sentences(rules, text) == [first, "Klaar."]


def test_segment_enumeration_numbers_do_not_split(rules: Segmenter) -> None:
    text = "Er zijn drie dingen: 1. geld, 2. tijd en 3. draagvlak. Meer niet."
    assert sentences(rules, text) == ["Er zijn drie dingen: 1. geld, 2. tijd en 3. draagvlak.", "Meer niet."]


def test_segment_numbered_lines_are_separate_items(rules: Segmenter) -> None:
    text = "Twee knelpunten.\n1. De financiering\n2. De samenwerking met zorg"
    assert sentences(rules, text) == ["Twee knelpunten.", "1. De financiering", "2. De samenwerking met zorg"]


def test_segment_words_the_tokenizer_treats_as_abbreviations_still_end_sentences(rules: Segmenter) -> None:
    # spaCy's Dutch exceptions keep "dat." and "al." as one token, so the sentencizer alone misses these.
    text = "Kijk, dat is dan dat. Daar doen we het mee. Dat is het al. Meer niet."
    assert sentences(rules, text) == ["Kijk, dat is dan dat.", "Daar doen we het mee.", "Dat is het al.", "Meer niet."]


# --- offsets ---------------------------------------------------------------------------------


def test_segment_offsets_are_absolute_and_trimmed(rules: Segmenter) -> None:
    text = "INTERVIEWER: Hoe gaat het?\nRESPONDENT:   Nou, goed.  Maar het kan beter.  \n"
    start = text.index("Nou") - 3
    end = len(text)
    spans = rules.split(text, start, end)
    assert [text[s.start:s.end] for s in spans] == ["Nou, goed.", "Maar het kan beter."]
    for span in spans:
        assert start <= span.start < span.end <= end
        assert not text[span.start].isspace() and not text[span.end - 1].isspace()


def test_segment_offsets_are_exact_inside_a_larger_text(rules: Segmenter) -> None:
    prefix, suffix = "INTERVIEWER: Klopt dat?\nRESPONDENT: ", "\nINTERVIEWER: Dank u wel."
    exact = 0
    items = load_gold()
    for item in items:
        text = prefix + item["text"] + suffix
        start, end = len(prefix), len(prefix) + len(item["text"])
        spans = rules.split(text, start, end)
        pieces = [text[s.start:s.end] for s in spans]
        assert all(start <= s.start < s.end <= end for s in spans)
        assert all(piece == piece.strip() for piece in pieces)
        # The sentences tile the passage: nothing but whitespace is lost between them.
        assert "".join("".join(pieces).split()) == "".join(item["text"].split())
        exact += pieces == item["sentences"]
    assert exact >= 0.9 * len(items)


def test_segment_empty_and_whitespace_give_no_sentences(rules: Segmenter) -> None:
    assert rules.split("") == []
    assert rules.split("  \n\n \t ") == []
    assert rules.split("Ja. Nee.", 3, 3) == []


def test_segment_rejects_a_span_outside_the_text(rules: Segmenter) -> None:
    with pytest.raises(ValueError):
        rules.split("Ja.", 0, 10)


# --- gold file and boundary F1 ---------------------------------------------------------------


def test_segment_gold_file_is_well_formed() -> None:
    items = load_gold()
    assert len(items) >= 60
    for item in items:
        spans = spans_of_sentences(item["text"], item["sentences"])
        assert len(spans) == len(item["sentences"])
        # Only whitespace separates the gold sentences, so joining them with it gives the text back.
        assert "".join(item["text"].split()) == "".join("".join(item["sentences"]).split())


def test_segment_boundary_scores_count_starts_after_the_first() -> None:
    gold = [SentenceSpan(0, 3), SentenceSpan(4, 8), SentenceSpan(9, 12)]
    predicted = [SentenceSpan(0, 3), SentenceSpan(4, 12)]
    scores = boundary_scores(gold, predicted)
    assert (scores.true_positives, scores.predicted, scores.gold) == (1, 1, 2)
    assert scores.precision == 1.0 and scores.recall == 0.5
    assert scores.f1 == pytest.approx(2 / 3)


def test_segment_rules_boundary_f1_on_gold_is_at_least_0_9(rules: Segmenter) -> None:
    total = BoundaryScores(0, 0, 0)
    for item in load_gold():
        gold = spans_of_sentences(item["text"], item["sentences"])
        total = total + boundary_scores(gold, rules.split(item["text"]))
    assert total.gold >= 60
    assert total.f1 >= 0.9, f"precision {total.precision:.3f} recall {total.recall:.3f} f1 {total.f1:.3f}"


# --- building ----------------------------------------------------------------------------------


def test_segment_build_rules_logs_the_active_mode(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="services.worker.segment"):
        segmenter = build_segmenter("rules")
    assert segmenter.mode == "rules"
    assert any(r.levelno == logging.INFO and "rules" in r.getMessage() for r in caplog.records)


def test_segment_build_auto_picks_what_is_installed() -> None:
    expected = LG_PACKAGE if lg_importable() else "rules"
    assert build_segmenter("auto").mode == expected


def test_segment_build_missing_lg_warns_with_pip_command(caplog: pytest.LogCaptureFixture) -> None:
    if lg_importable():
        pytest.skip(f"{LG_PACKAGE} is installed here, so the missing-package path cannot be exercised")
    with caplog.at_level(logging.INFO, logger="services.worker.segment"):
        segmenter = build_segmenter(LG_PACKAGE)
    assert segmenter.mode == "rules"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(LG_PACKAGE in message and lg_install_command() in message for message in warnings)
    assert lg_install_command().startswith("pip install ") and LG_PACKAGE in lg_install_command()


def test_segment_build_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError):
        build_segmenter("stanza")


@pytest.mark.slow
def test_segment_lg_mode_splits_gold_when_installed() -> None:
    if not lg_importable():
        pytest.skip(f"{LG_PACKAGE} is not installed ({lg_install_command()})")
    segmenter = Segmenter(LG_PACKAGE)
    total = BoundaryScores(0, 0, 0)
    for item in load_gold():
        gold = spans_of_sentences(item["text"], item["sentences"])
        total = total + boundary_scores(gold, segmenter.split(item["text"]))
    assert total.f1 >= 0.8
