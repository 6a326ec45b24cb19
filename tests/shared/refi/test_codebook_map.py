"""Codebook <-> REFI codes: qcoder's own .qdc comes back exactly; trailers and colours are read leniently."""
from __future__ import annotations

from services.shared.codebook import load_codebook
from services.shared.config import get_settings
from services.shared.refi import export_qdc, read_qdc
from services.shared.refi.codebook_map import codebook_from_refi, split_trailer, with_trailer


def test_codebook_map_qdc_round_trip_gives_identical_codebook():
    settings = get_settings()
    codebook = load_codebook(settings.codebook_path)
    qda = read_qdc(export_qdc(codebook), settings)
    rebuilt, guids = codebook_from_refi(qda, source="lzw.qdc")
    assert rebuilt.sha256 == codebook.sha256
    assert rebuilt.to_dict() == codebook.to_dict()
    assert sorted(guids.values()) == sorted(c.id for c in codebook.codes)
    assert qda.deviations == []


def test_codebook_map_trailer_round_trip_and_plain_descriptions():
    text = with_trailer("Beschrijving met [haken] en “quotes”.", {"id": "KP01", "kind": "knelpunt"})
    assert split_trailer(text) == ("Beschrijving met [haken] en “quotes”.", {"id": "KP01", "kind": "knelpunt"})
    assert split_trailer("Gewone beschrijving") == ("Gewone beschrijving", None)
    assert split_trailer("[qcoder] {niet json}") == ("[qcoder] {niet json}", None)
