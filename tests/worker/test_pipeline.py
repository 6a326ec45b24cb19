"""The pipeline's own logic: which turns are coded, and how sentences merge into quotations."""
from __future__ import annotations

from dataclasses import dataclass

from services.worker.model_store import SentencePrediction
from services.worker.pipeline import SentenceRecord, merge_into_quotations, segment_respondent_turns
from services.worker.segment import build_segmenter


@dataclass
class _Turn:
    index: int
    speaker: str
    role: str
    start: int
    end: int


def _prediction(codes: dict[str, float], stance: str = "knelpunt", stance_score: float = 0.8) -> SentencePrediction:
    knelpunt = {c: s for c, s in codes.items() if c.startswith("KP")}
    solution = {c: s for c, s in codes.items() if c.startswith("OPL")}
    return SentencePrediction(knelpunt, solution, stance, stance_score, list(codes))


def _turns_of(text: str, labelled: list[tuple[str, str]]) -> list[_Turn]:
    turns, cursor = [], 0
    for index, (speaker, spoken) in enumerate(labelled):
        start = text.index(spoken, cursor)
        turns.append(_Turn(index, speaker, "interviewer" if speaker == "I" else "respondent", start, start + len(spoken)))
        cursor = start + len(spoken)
    return turns


def test_pipeline_segments_only_respondent_turns_with_question_context() -> None:
    question = "Hoe loopt de samenwerking met de corporatie?"
    answer = "Nou, niet zo goed. We zitten aan te veel tafels. Dat kost veel tijd."
    text = f"I: {question}\nR: {answer}\n"
    turns = _turns_of(text, [("I", question), ("R", answer)])

    sentences, contexts = segment_respondent_turns(text, turns, build_segmenter("rules"))

    assert [text[s.start:s.end] for s in sentences] == [
        "Nou, niet zo goed.", "We zitten aan te veel tafels.", "Dat kost veel tijd."
    ]
    assert all(s.turn_index == 1 for s in sentences)
    assert contexts == [question] * 3


def test_pipeline_merges_adjacent_sentences_sharing_a_code() -> None:
    sentences = [SentenceRecord(1, i, start, start + 10) for i, start in enumerate((0, 11, 22, 33))]
    predictions = [
        _prediction({"KP03": 0.9}),
        _prediction({"KP03": 0.7, "KP12": 0.6}),
        _prediction({}, stance="neutraal"),
        _prediction({"KP03": 0.8}),
    ]

    quotations = merge_into_quotations(sentences, predictions, {1: "R"})

    spans = {(q.start, q.end): q.codes for q in quotations}
    assert spans[(0, 21)] == {"KP03": 0.8}  # first two sentences merged, mean score
    assert spans[(11, 21)] == {"KP12": 0.6}
    assert spans[(33, 43)] == {"KP03": 0.8}  # not adjacent to the first run: its own quotation
    assert len(quotations) == 3


def test_pipeline_does_not_merge_across_turns() -> None:
    sentences = [SentenceRecord(1, 0, 0, 10), SentenceRecord(3, 1, 30, 40)]
    predictions = [_prediction({"KP01": 0.9}), _prediction({"KP01": 0.9})]

    quotations = merge_into_quotations(sentences, predictions, {1: "R", 3: "R"})

    assert sorted((q.start, q.end, q.turn_index) for q in quotations) == [(0, 10, 1), (30, 40, 3)]


def test_pipeline_quotation_stance_is_the_strongest_over_its_sentences() -> None:
    sentences = [SentenceRecord(1, i, i * 10, i * 10 + 9) for i in range(3)]
    predictions = [
        _prediction({"KP04": 0.9}, "oplossing", 0.9),
        _prediction({"KP04": 0.9}, "knelpunt", 0.6),
        _prediction({"KP04": 0.9}, "knelpunt", 0.6),
    ]

    (quotation,) = merge_into_quotations(sentences, predictions, {1: "R"})

    assert quotation.stance == "knelpunt"  # 1.2 summed against 0.9
    assert abs(quotation.stance_score - 0.6) < 1e-9
