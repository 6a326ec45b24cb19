"""Reading selection positions: code points by default; other readings only when the selection names say so."""
from __future__ import annotations

from services.shared.refi.model import QdaSelection
from services.shared.refi.positions import SCHEMES, STANDARD, choose_mapping, normalised_text

RAW = "R: Dat vond ik top 😀 echt.\r\nR: En de wethouder 🙃 kwam nooit.\r\nR: Één aanspreekpunt hielp.\r\n"
WANTED = ["echt.", "kwam nooit.", "Één aanspreekpunt hielp."]


def selections(positions: list[tuple[int, int]]) -> list[QdaSelection]:
    return [QdaSelection(guid=str(i), name=WANTED[i], start=s, end=e, user_guid=None, created=None, description="")
            for i, (s, e) in enumerate(positions)]


def utf16_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def test_positions_standard_code_points_in_file_text():
    raw_positions = [(RAW.index(w), RAW.index(w) + len(w)) for w in WANTED]
    mapping = choose_mapping(RAW, selections(raw_positions))
    text = normalised_text(RAW)
    assert mapping.scheme == STANDARD
    assert [text[mapping.to_text(s):mapping.to_text(e)] for s, e in raw_positions] == WANTED


def test_positions_utf16_units_recognised_from_selection_names():
    positions = [(utf16_offset(RAW, RAW.index(w)), utf16_offset(RAW, RAW.index(w) + len(w))) for w in WANTED]
    mapping = choose_mapping(RAW, selections(positions))
    text = normalised_text(RAW)
    assert mapping.scheme == SCHEMES[2]
    assert [text[mapping.to_text(s):mapping.to_text(e)] for s, e in positions] == WANTED


def test_positions_counted_on_normalised_text_recognised():
    text = normalised_text(RAW)
    positions = [(text.index(w), text.index(w) + len(w)) for w in WANTED]
    mapping = choose_mapping(RAW, selections(positions))
    assert mapping.scheme == SCHEMES[1]
    assert [text[mapping.to_text(s):mapping.to_text(e)] for s, e in positions] == WANTED


def test_positions_without_name_evidence_keep_the_standard():
    plain = [QdaSelection(guid="x", name="", start=3, end=10, user_guid=None, created=None, description="")]
    assert choose_mapping(RAW, plain).scheme == STANDARD
