"""Which codes occur together: in the same quotation, in overlapping ones, or in adjacent ones.

Counting unit (an "episode"): a confirmed quotation, joined with every quotation of the same
transcript that overlaps it or, with max_gap set, starts at most max_gap characters after the
previous one ends. For codes A and B: n_a, n_b = episodes holding A, B; n_ab = episodes holding
both; c = n_ab / (n_a + n_b - n_ab), ATLAS.ti's c-coefficient (0: never together, 1: always).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from itertools import combinations

from services.shared.outputs import DEFAULT_MAX_GAP
from services.shared.outputs.data import CodedQuotation, ProjectCodings


@dataclass(frozen=True)
class Pair:
    """Two codes with their episode counts and c-coefficient."""

    code_a: str
    code_b: str
    n_a: int
    n_b: int
    n_ab: int

    @property
    def c(self) -> float:
        """n_ab / (n_a + n_b - n_ab)."""
        union = self.n_a + self.n_b - self.n_ab
        return self.n_ab / union if union else 0.0


@dataclass
class CoOccurrence:
    """Episode counts per code and per pair of codes."""

    max_gap: int | None
    episodes: int
    counts: dict[str, int]
    pairs: dict[tuple[str, str], int]

    def pair(self, code_a: str, code_b: str) -> Pair:
        """Counts of one pair (order does not matter)."""
        key = tuple(sorted((code_a, code_b)))
        return Pair(key[0], key[1], self.counts.get(key[0], 0), self.counts.get(key[1], 0), self.pairs.get(key, 0))

    def all_pairs(self) -> list[Pair]:
        """Every pair that occurs together at least once, most frequent first."""
        pairs = [self.pair(a, b) for a, b in self.pairs]
        return sorted(pairs, key=lambda p: (-p.n_ab, -p.c, p.code_a, p.code_b))

    def to_dict(self) -> dict:
        """Plain data for JSON."""
        return {"max_gap": self.max_gap, "episodes": self.episodes, "counts": self.counts,
                "pairs": [{"code_a": p.code_a, "code_b": p.code_b, "n_a": p.n_a, "n_b": p.n_b, "n_ab": p.n_ab,
                           "c": round(p.c, 4)} for p in self.all_pairs()]}


def episodes(quotations: list[CodedQuotation], max_gap: int | None) -> list[list[CodedQuotation]]:
    """Group quotations (of any transcripts) into episodes of overlapping or adjacent quotations."""
    grouped: list[list[CodedQuotation]] = []
    ordered = sorted(quotations, key=lambda q: (q.transcript_id, q.start, q.end))
    reach = -1
    for quotation in ordered:
        joins = grouped and grouped[-1][0].transcript_id == quotation.transcript_id and (
            quotation.start < reach or (max_gap is not None and quotation.start - reach <= max_gap))
        if joins:
            grouped[-1].append(quotation)
            reach = max(reach, quotation.end)
        else:
            grouped.append([quotation])
            reach = quotation.end
    return grouped


def cooccurrence(codings: ProjectCodings, max_gap: int | None = DEFAULT_MAX_GAP) -> CoOccurrence:
    """Count codes and code pairs per episode over the confirmed quotations."""
    counts: dict[str, int] = {}
    pairs: dict[tuple[str, str], int] = {}
    groups = episodes(codings.confirmed(), max_gap)
    for group in groups:
        codes = sorted({code for quotation in group for code in quotation.codes})
        for code in codes:
            counts[code] = counts.get(code, 0) + 1
        for pair in combinations(codes, 2):
            pairs[pair] = pairs.get(pair, 0) + 1
    return CoOccurrence(max_gap=max_gap, episodes=len(groups), counts=counts, pairs=pairs)


def solution_matrix(codings: ProjectCodings, result: CoOccurrence) -> dict:
    """Knelpunten (columns) x solutions (rows): how often they occur together, and whether the codebook links them."""
    codebook = codings.codebook
    knelpunten = [k for k in codebook.knelpunten() if result.counts.get(k.id)]
    solutions = [s for s in codebook.solutions() if result.counts.get(s.id)]
    return {
        "knelpunten": [{"id": k.id, "number": k.number, "name": k.name} for k in knelpunten],
        "solutions": [{"id": s.id, "name": s.name} for s in solutions],
        "cells": [[{"n": result.pair(s.id, k.id).n_ab, "c": round(result.pair(s.id, k.id).c, 4),
                    "addressed_in_codebook": k.id in s.addresses} for k in knelpunten] for s in solutions],
    }


def to_csv(result: CoOccurrence) -> bytes:
    """One row per pair of codes that occur together (UTF-8 with BOM for Excel)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["code_a", "code_b", "n_a", "n_b", "n_ab", "c"])
    for pair in result.all_pairs():
        writer.writerow([pair.code_a, pair.code_b, pair.n_a, pair.n_b, pair.n_ab, f"{pair.c:.4f}"])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
