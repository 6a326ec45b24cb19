"""Consistency checks for the fictional example transcripts and their gold quotations."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TRANSCRIPTS_DIR = REPO / "labelled_data" / "transcripts"
CODEBOOK = REPO / "codebooks" / "lzw-regie" / "codebook.yaml"
GOLD_FILES = sorted(TRANSCRIPTS_DIR.glob("*.gold.json"))
STANCES = {"knelpunt", "oplossing", "succesfactor", "neutraal"}
NAME_KINDS = {"persoon", "locatie", "organisatie", "datum", "telefoon", "email"}
FRONT_MATTER_KEYS = ("respondent", "casus", "rol", "interviewer")
# A turn label at the start of a line, optionally after a [hh:mm:ss] timestamp.
TURN_LABEL = re.compile(r"^(?:\[\d\d:\d\d:\d\d\] )?([^\W\d][\w.]*(?: [\w.]+){0,3}): ", re.M)
SENTENCE_END = re.compile(r"[.?!…][\"'”’)]?$")


def _load(gold_path: Path) -> tuple[str, dict]:
    """Return (transcript text, gold dict) exactly as a consumer reads them."""
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    with open(TRANSCRIPTS_DIR / gold["transcript"], encoding="utf-8") as handle:
        text = handle.read()
    return text, gold


def _front_matter(text: str) -> tuple[dict[str, str], int]:
    """Parse the leading '---' block; return its fields and the offset where the body starts."""
    assert text.startswith("---\n"), "transcript must open with a '---' front matter block"
    end = text.index("\n---\n", 4)
    fields = {}
    for line in text[4:end].splitlines():
        key, _, value = line.partition(": ")
        fields[key.strip()] = value.strip()
    return fields, end + len("\n---\n")


def _turns(text: str) -> list[tuple[str, int, int]]:
    """Split the body into (label, content start, content end) turns; unlabelled lines continue a turn."""
    _, body_start = _front_matter(text)
    labels = [m for m in TURN_LABEL.finditer(text) if m.start() >= body_start]
    ends = [m.start() for m in labels[1:]] + [len(text)]
    return [(m.group(1), m.end(), end) for m, end in zip(labels, ends)]


def _interviewer_labels(text: str) -> set[str]:
    """The front matter's `interviewer` field names the interviewer's turn label."""
    fields, _ = _front_matter(text)
    return {fields["interviewer"]}


def _codebook_solution_addresses() -> dict[str, set[int]]:
    """Map every oplossing id in the codebook to the knelpunt numbers it addresses."""
    data = yaml.safe_load(CODEBOOK.read_text(encoding="utf-8"))
    return {
        code["id"]: {int(kp.removeprefix("KP")) for kp in code.get("addresses", [])}
        for code in data["codes"]
        if code.get("kind") == "oplossing"
    }


def _needs_codebook() -> None:
    if not CODEBOOK.exists():
        pytest.skip(f"{CODEBOOK.relative_to(REPO)} does not exist yet")


@pytest.fixture(params=GOLD_FILES, ids=lambda p: p.name.removesuffix(".gold.json"))
def example(request) -> tuple[str, dict]:
    """One transcript's text and its gold, per gold file."""
    return _load(request.param)


def test_example_transcripts_four_transcripts_with_gold():
    assert len(GOLD_FILES) == 4
    for gold_path in GOLD_FILES:
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        assert gold["transcript"] == gold_path.name.removesuffix(".gold.json") + ".txt"
        assert (TRANSCRIPTS_DIR / gold["transcript"]).exists()


def test_example_transcripts_utf8_with_unix_line_endings(example):
    _, gold = example
    raw = (TRANSCRIPTS_DIR / gold["transcript"]).read_bytes()
    raw.decode("utf-8")
    assert b"\r" not in raw
    assert not raw.startswith(b"\xef\xbb\xbf")


def test_example_transcripts_front_matter_complete(example):
    text, _ = example
    fields, _ = _front_matter(text)
    for key in FRONT_MATTER_KEYS:
        assert fields.get(key), f"front matter lacks {key!r}"
    assert re.fullmatch(r"Int [PQ]\d", fields["respondent"])
    assert fields["casus"] in {"Gemeente P", "Gemeente Q"}
    assert fields["casus"][-1] == fields["respondent"][4]


def test_example_transcripts_word_count_in_range(example):
    text, _ = example
    assert 1500 <= len(text.split()) <= 4000


def test_example_transcripts_both_speakers_take_turns(example):
    text, _ = example
    interviewer = _interviewer_labels(text)
    roles = Counter("interviewer" if label in interviewer else "respondent" for label, _, _ in _turns(text))
    assert roles["interviewer"] >= 20 and roles["respondent"] >= 20


def test_example_transcripts_quotation_text_equals_slice(example):
    text, gold = example
    assert gold["quotations"]
    for q in gold["quotations"]:
        assert 0 <= q["start"] < q["end"] <= len(text)
        assert text[q["start"]:q["end"]] == q["text"]


def test_example_transcripts_quotations_lie_in_one_respondent_turn(example):
    text, gold = example
    interviewer = _interviewer_labels(text)
    turns = _turns(text)
    for q in gold["quotations"]:
        inside = [t for t in turns if t[1] <= q["start"] and q["end"] <= t[2]]
        assert len(inside) == 1, f"quotation crosses a turn boundary: {q['text'][:60]!r}"
        assert inside[0][0] not in interviewer, f"quotation in an interviewer turn: {q['text'][:60]!r}"
        assert "\n" not in q["text"]


def test_example_transcripts_quotations_cover_whole_sentences(example):
    text, gold = example
    turn_starts = {start for _, start, _ in _turns(text)}
    for q in gold["quotations"]:
        assert q["text"] == q["text"].strip()
        assert SENTENCE_END.search(q["text"]), f"does not end a sentence: {q['text'][-40:]!r}"
        before = text[:q["start"]].rstrip(" ")
        starts_turn = q["start"] in turn_starts
        assert starts_turn or re.search(r"[.?!…)]$", before), f"starts mid-sentence: {q['text'][:40]!r}"


def test_example_transcripts_codes_and_stance_valid(example):
    _, gold = example
    for q in gold["quotations"]:
        assert q["knelpunten"] or q["solutions"], "a quotation carries at least one code"
        assert all(isinstance(n, int) and 1 <= n <= 20 for n in q["knelpunten"])
        assert len(set(q["knelpunten"])) == len(q["knelpunten"])
        assert len(set(q["solutions"])) == len(q["solutions"])
        assert q["stance"] in STANCES


def test_example_transcripts_no_overlap_per_code(example):
    _, gold = example
    spans_by_code: dict[str, list[tuple[int, int]]] = {}
    for q in gold["quotations"]:
        for code in [f"KP{n:02d}" for n in q["knelpunten"]] + q["solutions"]:
            spans_by_code.setdefault(code, []).append((q["start"], q["end"]))
    for code, spans in spans_by_code.items():
        spans.sort()
        for (_, end_a), (start_b, _) in zip(spans, spans[1:]):
            assert end_a <= start_b, f"overlapping quotations for {code}"


def test_example_transcripts_abutting_quotations_share_no_code(example):
    # The pipeline merges adjacent sentences of one turn that share a code; gold quotations that touch
    # (only whitespace or a laugh between them) must therefore differ in every code.
    text, gold = example
    quotations = sorted(gold["quotations"], key=lambda q: q["start"])
    for a, b in zip(quotations, quotations[1:]):
        gap = text[a["end"]:b["start"]]
        if re.fullmatch(r"\s*(?:\(lacht\)\s*)?", gap) and "\n" not in gap:
            shared = set(a["knelpunten"]) & set(b["knelpunten"])
            shared |= set(a["solutions"]) & set(b["solutions"])
            assert not shared, f"abutting quotations share {shared}: {b['text'][:40]!r}"


def test_example_transcripts_solution_ids_exist_in_codebook(example):
    _needs_codebook()
    known = _codebook_solution_addresses()
    _, gold = example
    for q in gold["quotations"]:
        for solution in q["solutions"]:
            assert solution in known, f"unknown solution id {solution}"


def test_example_transcripts_solutions_address_a_coded_knelpunt(example):
    _needs_codebook()
    addresses = _codebook_solution_addresses()
    _, gold = example
    for q in gold["quotations"]:
        for solution in q["solutions"]:
            coded = set(q["knelpunten"])
            assert addresses[solution] & coded, f"{solution} addresses none of {sorted(coded)}"


def test_example_transcripts_names_match_slices(example):
    text, gold = example
    assert gold["names"]
    kinds = Counter()
    for name in gold["names"]:
        assert 0 <= name["start"] < name["end"] <= len(text)
        assert text[name["start"]:name["end"]] == name["text"]
        assert name["kind"] in NAME_KINDS
        kinds[name["kind"]] += 1
    assert kinds["persoon"] >= 2 and kinds["locatie"] >= 1


def test_example_transcripts_names_include_every_kind_across_set():
    kinds = Counter(n["kind"] for path in GOLD_FILES for n in _load(path)[1]["names"])
    assert set(kinds) == NAME_KINDS


def test_example_transcripts_set_covers_codebook():
    knelpunten, solutions, stances = Counter(), set(), set()
    for path in GOLD_FILES:
        for q in _load(path)[1]["quotations"]:
            knelpunten.update(q["knelpunten"])
            solutions.update(q["solutions"])
            stances.add(q["stance"])
    assert all(knelpunten[n] >= 2 for n in range(1, 21)), knelpunten
    assert len(solutions) >= 12
    assert {"knelpunt", "oplossing", "succesfactor"} <= stances
