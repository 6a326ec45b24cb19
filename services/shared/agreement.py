"""Agreement as a research statistic: model vs reviewer and reviewer vs reviewer, per sentence.

The unit is a sentence (of the transcript's current run), never a character: a rater "puts" a
code on a sentence when a quotation it decided on covers at least half of the sentence and
carries the code. Only sentences some decided quotation covers count (for two reviewers: sentences
both decided on), so unreviewed machine suggestions never pass as agreement. Per code and pooled
over (sentence, code): Cohen's kappa, Krippendorff's alpha (nominal, two raters) and F1 (the
second rater is the reference; for two reviewers F1 is symmetric, the positive specific agreement).
With fewer than MIN_SENTENCES shared sentences the table carries a note instead of pretending
precision; a code counts as enough data once MIN_CODE_SENTENCES sentences carry it for either rater.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.codebook import Codebook
from services.shared.errors import InputError
from services.shared.review_queue import project_items
from services.shared.tables import Sentence

MODEL = "model"
MIN_COVER = 0.5  # share of a sentence's characters a quotation must cover to code that sentence
# Below these counts kappa and alpha swing with a single sentence, so the figures come with a warning.
MIN_SENTENCES = 10
MIN_CODE_SENTENCES = 3


def cohen_kappa(pairs: Sequence[tuple[object, object]]) -> float | None:
    """Cohen's kappa of two raters' labels per unit; None when there is no unit or chance agreement is total."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[v] * second[v] for v in first) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def krippendorff_alpha(pairs: Sequence[tuple[object, object]]) -> float | None:
    """Krippendorff's alpha (nominal) of two raters with no missing values; None when all values are equal."""
    n_units = len(pairs)
    if n_units == 0:
        return None
    totals = Counter(v for pair in pairs for v in pair)  # n_c over the coincidence matrix
    n = 2 * n_units
    # Each disagreeing unit adds one coincidence in each direction (1 / (m_u - 1) with m_u = 2).
    observed = 2 * sum(a != b for a, b in pairs) / n
    expected = sum(totals[c] * totals[k] for c in totals for k in totals if c != k) / (n * (n - 1))
    if expected == 0:
        return None
    return 1 - observed / expected


def f1_scores(pairs: Sequence[tuple[bool, bool]]) -> dict:
    """Precision, recall and F1 of the first rater against the second (the reference)."""
    tp = sum(a and b for a, b in pairs)
    fp = sum(a and not b for a, b in pairs)
    fn = sum(b and not a for a, b in pairs)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def binary_summary(pairs: Sequence[tuple[bool, bool]]) -> dict:
    """Kappa, alpha, F1 and counts of binary decisions of two raters."""
    scores = f1_scores(pairs)
    return {
        "units": len(pairs), "positive_first": sum(a for a, _ in pairs), "positive_second": sum(b for _, b in pairs),
        "n": sum(a or b for a, b in pairs),
        "agreement": _rounded(sum(a == b for a, b in pairs) / len(pairs)) if pairs else None,
        "kappa": _rounded(cohen_kappa(pairs)), "alpha": _rounded(krippendorff_alpha(pairs)),
        "precision": _rounded(scores["precision"]), "recall": _rounded(scores["recall"]), "f1": _rounded(scores["f1"]),
    }


def agreement_table(units: Iterable[tuple[frozenset[str], frozenset[str]]], codes: Sequence[str]) -> dict:
    """Per code and overall agreement of two raters' code sets per sentence."""
    units = list(units)
    per_code = {code: binary_summary([(code in a, code in b) for a, b in units]) for code in codes}
    pooled = [(code in a, code in b) for a, b in units for code in codes]
    f1s = [row["f1"] for row in per_code.values() if row["f1"] is not None]
    kappas = [row["kappa"] for row in per_code.values() if row["kappa"] is not None]
    overall = binary_summary(pooled)
    overall.update({"sentences": len(units), "exact_match": _rounded(sum(a == b for a, b in units) / len(units))
                    if units else None, "macro_f1": _rounded(sum(f1s) / len(f1s)) if f1s else None,
                    "mean_kappa": _rounded(sum(kappas) / len(kappas)) if kappas else None,
                    "enough_data": len(units) >= MIN_SENTENCES})
    for row in per_code.values():
        row["enough_data"] = overall["enough_data"] and row["n"] >= MIN_CODE_SENTENCES
    return {"overall": overall, "per_code": per_code, "note": _data_note(len(units))}


def _data_note(sentences: int) -> str | None:
    if sentences == 0:
        return "No sentence was decided by both raters yet: review a transcript the other rater also coded."
    if sentences < MIN_SENTENCES:
        return (f"Too little data: only {sentences} sentence{'s' if sentences != 1 else ''} decided by both raters; "
                f"agreement figures need at least {MIN_SENTENCES} to mean much.")
    return None


# ---------------------------------------------------------------------------------------------
# From the database: what each rater put on each sentence
# ---------------------------------------------------------------------------------------------

SentenceKey = tuple[str, int]  # (transcript id, sentence id)


def _sentences(session: Session, run_ids: Sequence[str]) -> dict[str, list[Sentence]]:
    grouped: dict[str, list[Sentence]] = {run_id: [] for run_id in run_ids}
    if run_ids:
        for sentence in session.scalars(select(Sentence).where(Sentence.run_id.in_(list(run_ids)))
                                        .order_by(Sentence.turn_index, Sentence.index)):
            grouped[sentence.run_id].append(sentence)
    return grouped


def _covers(start: int, end: int, sentence: Sentence) -> bool:
    overlap = min(end, sentence.end) - max(start, sentence.start)
    return overlap > 0 and overlap >= MIN_COVER * (sentence.end - sentence.start)


def sentence_labels(session: Session, project_id: str, rater: int | str) -> tuple[dict, set]:
    """(codes per sentence, sentences the rater decided on) for the model or one reviewer (user id).

    The model's labels are its suggestions on its quotations; it has decided every sentence it
    saw, so its decided set is every sentence of a processed transcript.
    """
    reviewer_id = None if rater == MODEL else int(rater)
    groups = project_items(session, project_id, reviewer_id)
    sentences = _sentences(session, [g.transcript.current_run_id for g in groups if g.transcript.current_run_id])
    labels: dict[SentenceKey, set[str]] = {}
    decided: set[SentenceKey] = set()
    for group in groups:
        run_sentences = sentences.get(group.transcript.current_run_id or "", [])
        for sentence in run_sentences:
            key = (group.transcript.id, sentence.id)
            labels[key] = set()
            if rater == MODEL:
                decided.add(key)
        for item in group.items:
            if rater == MODEL:
                if item.quotation.origin != "model":
                    continue
                start, end = item.quotation.start, item.quotation.end
                codes = [s.code_id for s in item.quotation.suggestions]
            else:
                if not item.reviewed:
                    continue
                start, end, codes = item.state.start, item.state.end, item.state.codes
            for sentence in run_sentences:
                if _covers(start, end, sentence):
                    key = (group.transcript.id, sentence.id)
                    labels[key].update(codes)
                    if rater != MODEL:
                        decided.add(key)
    return labels, decided


def project_agreement(session: Session, project_id: str, codebook: Codebook, first: int | str, second: int | str) -> dict:
    """Agreement of two raters (MODEL or reviewer user ids) over the sentences they both decided on.

    For model vs reviewer pass first=MODEL: F1 then scores the model against the reviewer."""
    if first == second:
        raise InputError("Agreement needs two different raters.")
    labels_a, decided_a = sentence_labels(session, project_id, first)
    labels_b, decided_b = sentence_labels(session, project_id, second)
    keys = sorted(decided_a & decided_b)
    codes = [c.id for c in (*codebook.knelpunten(), *codebook.solutions())]
    table = agreement_table([(frozenset(labels_a[k]), frozenset(labels_b[k])) for k in keys], codes)
    return {"raters": [first, second], "unit": "sentence", "transcripts": len({k[0] for k in keys}),
            "min_sentences": MIN_SENTENCES, "min_code_sentences": MIN_CODE_SENTENCES, **table}
