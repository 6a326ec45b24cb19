"""Agreement statistics: hand-computed kappa, alpha and F1, counted per sentence."""
from __future__ import annotations

import pytest

from services.shared.agreement import (
    MIN_CODE_SENTENCES, MIN_SENTENCES, agreement_table, cohen_kappa, f1_scores, krippendorff_alpha,
)

# 50 units: both yes 20, first only 5, second only 10, both no 15.
TABLE = [(True, True)] * 20 + [(True, False)] * 5 + [(False, True)] * 10 + [(False, False)] * 15


def test_agreement_cohen_kappa_matches_hand_computation() -> None:
    # p_o = 0.7; p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5; kappa = 0.2 / 0.5
    assert cohen_kappa(TABLE) == pytest.approx(0.4)
    assert cohen_kappa([(True, True)] * 3) is None and cohen_kappa([]) is None


def test_agreement_krippendorff_alpha_matches_hand_computation() -> None:
    # n = 100 values: 55 yes, 45 no; 15 disagreeing units. alpha = 1 - (n - 1) * d / (n_yes * n_no)
    assert krippendorff_alpha(TABLE) == pytest.approx(1 - 99 * 15 / (55 * 45))
    assert krippendorff_alpha([(True, True), (False, False)]) == pytest.approx(1.0)


def test_agreement_f1_uses_second_rater_as_reference() -> None:
    scores = f1_scores(TABLE)
    assert scores["precision"] == pytest.approx(20 / 25) and scores["recall"] == pytest.approx(20 / 30)
    assert scores["f1"] == pytest.approx(40 / 55)


def test_agreement_table_counts_sentences_not_characters() -> None:
    units = [(frozenset({"KP01"}), frozenset({"KP01"})), (frozenset(), frozenset({"KP02"})),
             (frozenset({"KP01", "KP02"}), frozenset({"KP01"}))]
    table = agreement_table(units, ["KP01", "KP02"])
    assert table["overall"]["sentences"] == 3 and table["overall"]["units"] == 6
    assert table["per_code"]["KP01"]["kappa"] == pytest.approx(1.0)
    assert table["per_code"]["KP02"]["f1"] == pytest.approx(0.0)
    assert table["overall"]["exact_match"] == pytest.approx(1 / 3, abs=1e-4)


def test_agreement_table_counts_n_per_code_and_flags_too_little_data() -> None:
    few = [(frozenset({"KP01"}), frozenset({"KP01"}))] * 3 + [(frozenset(), frozenset({"KP02"}))]
    table = agreement_table(few, ["KP01", "KP02", "KP03"])
    assert [table["per_code"][c]["n"] for c in ("KP01", "KP02", "KP03")] == [3, 1, 0]
    assert table["overall"]["enough_data"] is False and "only 4 sentences" in table["note"]
    assert not any(row["enough_data"] for row in table["per_code"].values())

    enough = few * (MIN_SENTENCES // len(few) + 1)
    table = agreement_table(enough, ["KP01", "KP02", "KP03"])
    assert table["note"] is None and table["overall"]["enough_data"] is True
    assert table["per_code"]["KP01"]["enough_data"] is True and table["per_code"]["KP03"]["enough_data"] is False
    assert table["per_code"]["KP02"]["n"] >= MIN_CODE_SENTENCES and table["per_code"]["KP02"]["enough_data"] is True
    assert "No sentence" in agreement_table([], ["KP01"])["note"]
