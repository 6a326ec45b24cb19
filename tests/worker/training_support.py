"""Builders for training tests: a tiny codebook, a synthetic labelled-data snapshot whose codes follow
from key words, a tiny gold transcript, and a deterministic bag-of-words embedder (no model download)."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from services.shared.labelled_data import write_manifest

TINY_CODEBOOK = """\
key: tiny
version: "0.1.0"
name: Tiny test codebook
language: nl
categories:
  - {id: A, name: Netwerk, color: "#112233", description: Het netwerk}
  - {id: B, name: Proces, color: "#445566", description: Het proces}
codes:
  - {id: KP01, kind: knelpunt, number: 1, category: A, name: Schaal, description: regio lokaal schaal gemeenten}
  - {id: KP02, kind: knelpunt, number: 2, category: A, name: Vertrouwen, description: vertrouwen wantrouwen partijen}
  - {id: KP03, kind: knelpunt, number: 3, category: B, name: Financiering, description: geld budget financiering}
  - {id: KP04, kind: knelpunt, number: 4, category: B, name: Wetgeving, description: wet regels wetgeving}
  - {id: OPL-REGIO, kind: oplossing, color: "#778899", addresses: [KP01], name: Regioafspraken,
     description: afspraken maken regio}
  - {id: OPL-PRAAT, kind: oplossing, color: "#778899", addresses: [KP02], name: Open gesprek,
     description: open gesprek praten}
  - {id: OPL-LEEG, kind: oplossing, color: "#778899", addresses: [KP04], name: Nooit gebruikt,
     description: komt nooit voor}
"""

# Words that signal each knelpunt (by number) and each solution in the synthetic examples.
KNELPUNT_WORDS = {1: ["regio", "schaal", "lokaal"], 2: ["vertrouwen", "wantrouwen"], 3: ["geld", "budget"],
                  4: ["wet", "regels"]}
SOLUTION_WORDS = {"OPL-REGIO": ["afspraken"], "OPL-PRAAT": ["gesprek", "praten"]}
STANCE_WORDS = {"knelpunt": ["lastig", "probleem"], "oplossing": ["oplossen", "beter"],
                "succesfactor": ["goed", "prima"], "neutraal": ["ik", "werk"]}
FILLER = ["de", "het", "een", "gemeente", "wij", "zij", "dat", "is", "er", "ook", "nog", "wel"]


class HashingEmbedder:
    """A deterministic bag-of-words embedder: each word hashes to a fixed random vector."""

    model_id = "test:hashing-bow-32"
    dim = 32

    def __init__(self) -> None:
        self.calls = 0

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little")
        return np.random.default_rng(seed).normal(size=self.dim)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Sum of word vectors, L2-normalised."""
        self.calls += 1
        rows = []
        for text in texts:
            vector = sum((self._word(w) for w in re.findall(r"\w+", text.lower())), np.zeros(self.dim))
            rows.append(vector / (np.linalg.norm(vector) or 1.0))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


def write_tiny_codebook(directory: Path) -> Path:
    """Write the tiny codebook YAML and return its path."""
    path = directory / "codebook.yaml"
    path.write_text(TINY_CODEBOOK, encoding="utf-8")
    return path


def write_synthetic_snapshot(directory: Path, seed: int = 0, per_case: int = 30) -> Path:
    """A snapshot of cases X, Y, E and handwritten whose labels follow from signal words."""
    rng = np.random.default_rng(seed)
    parts = directory / "parts"
    parts.mkdir(parents=True)
    for case in ("X", "Y", "E", "handwritten"):
        lines = []
        for i in range(per_case):
            stance = ["knelpunt", "oplossing", "succesfactor", "neutraal"][i % 4]
            knelpunten = sorted({int(k) for k in rng.choice([1, 2, 3, 4], size=rng.integers(1, 3))})
            if stance == "neutraal" and i % 8 == 3:
                knelpunten = []
            pairs = (("OPL-REGIO", 1), ("OPL-PRAAT", 2))
            solutions = [s for s, k in pairs if stance == "oplossing" and k in knelpunten]
            words = [w for k in knelpunten for w in KNELPUNT_WORDS[k]] + list(STANCE_WORDS[stance])
            words += [SOLUTION_WORDS[s][0] for s in solutions] + list(rng.choice(FILLER, size=5))
            rng.shuffle(words)
            kind = "handwritten" if case == "handwritten" else "thesis-quote"
            lines.append(json.dumps({
                "id": f"{case.lower()}-{i:04d}", "text": " ".join(words).capitalize() + ".",
                "knelpunten": knelpunten, "stance": stance, "solutions": solutions, "respondents": [],
                "case": case, "context": "Wat gaat er lastig?" if i % 5 == 0 else None,
                "source": {"kind": kind, "section": None, "line": None, "note": ""},
            }, ensure_ascii=False))
        (parts / f"{case.lower()}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_manifest(directory)
    return directory


TINY_TRANSCRIPT = """\
---
respondent: Int T1
casus: Gemeente T
---

I: Wat gaat er lastig?

R: Het geld en het budget is een groot probleem. De regio en de schaal zijn lastig.

I: En verder?

R: Ik werk hier al lang. Wantrouwen en vertrouwen tussen partijen is een probleem.
"""
# (sentence, knelpunt numbers, solutions) of the gold quotations in TINY_TRANSCRIPT.
TINY_GOLD = [
    ("Het geld en het budget is een groot probleem.", [3], []),
    ("De regio en de schaal zijn lastig.", [1], []),
    ("Wantrouwen en vertrouwen tussen partijen is een probleem.", [2], []),
]


def write_tiny_transcripts(directory: Path) -> Path:
    """One transcript in the synthetic snapshot's vocabulary, with its gold quotations, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "int_t1.txt").write_text(TINY_TRANSCRIPT, encoding="utf-8")
    quotations = []
    for sentence, knelpunten, solutions in TINY_GOLD:
        start = TINY_TRANSCRIPT.index(sentence)
        quotations.append({"start": start, "end": start + len(sentence), "text": sentence,
                           "knelpunten": knelpunten, "solutions": solutions, "stance": "knelpunt"})
    gold = {"transcript": "int_t1.txt", "quotations": quotations, "names": []}
    (directory / "int_t1.gold.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return directory


# Fewer inner folds than the default keeps the synthetic trainings quick; the logic is the same.
FAST = {"threshold_cv": 3}
