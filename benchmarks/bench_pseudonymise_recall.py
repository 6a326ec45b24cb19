"""Recall of the pseudonymisation on the example transcripts' gold names (labelled_data/transcripts).

A gold name counts as hidden when one replaced span covers it whole. Prints recall per kind and
per transcript, with and without the speaker labels (Anna:/Bram:, 75 of the 132 names), for the
rules alone, deduce alone and deduce + rules (the production setting), plus the spans replaced that overlap no gold name (an upper
bound on over-replacement: the gold does not list everything a careful reader would hide).
The rule lists were written while looking at these four transcripts; read the figures as a check,
not as a held-out estimate (docs/privacy.md).

Run: .venv/bin/python benchmarks/bench_pseudonymise_recall.py [--recogniser rules|deduce|deduce-only|all]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter

from services.shared.config import REPO_ROOT, get_settings
from services.shared.privacy.pseudonymiser import TextPseudonymiser
from services.shared.privacy.recognisers import get_recogniser

EXAMPLES = REPO_ROOT / "labelled_data" / "transcripts"
LABEL = re.compile(r"(?m)^(?:\[[\d:]+\] )?$")


def is_speaker_label(text: str, start: int, end: int) -> bool:
    """A name used as a turn label: at the start of a line (after a timestamp) and followed by ': '."""
    line_start = text.rfind("\n", 0, start) + 1
    return bool(LABEL.match(text[line_start:start])) and text[end:end + 2] == ": "


def measure(name: str) -> None:
    """Pseudonymise the four examples with one recogniser and print recall figures."""
    started = time.perf_counter()
    if name == "deduce-only":  # what deduce finds without qcoder's rules: not tuned on these files
        from services.shared.privacy.deduce_backend import DeduceRecogniser

        recogniser = DeduceRecogniser()
    else:
        recogniser = get_recogniser(get_settings(pseudonymise_recogniser=name))
    loaded = time.perf_counter() - started
    pseudonymiser = TextPseudonymiser(recogniser)  # one table for the four: placeholders are shared
    hidden, total = Counter(), Counter()
    per_file, unlisted, seconds = [], 0, 0.0
    for path in sorted(EXAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        names = json.loads(path.with_name(path.stem + ".gold.json").read_text(encoding="utf-8"))["names"]
        started = time.perf_counter()
        result = pseudonymiser.pseudonymise(text)
        seconds += time.perf_counter() - started
        file_hidden = 0
        for gold in names:
            covered = any(r.start <= gold["start"] and gold["end"] <= r.end for r in result.replacements)
            label = is_speaker_label(text, gold["start"], gold["end"])
            for key in (gold["kind"], "all", "all but speaker labels" if not label else None):
                if key:
                    total[key] += 1
                    hidden[key] += covered
            file_hidden += covered
        unlisted += sum(1 for r in result.replacements
                        if not any(r.start < g["end"] and g["start"] < r.end for g in names))
        per_file.append((path.name, file_hidden, len(names)))

    print(f"\nrecogniser: {name} = {recogniser.name}   (load {loaded:.1f} s, pseudonymising the 4 files {seconds:.2f} s)")
    print(f"  {'kind':<26} {'hidden':>7} {'names':>6} {'recall':>7}")
    for key in ("persoon", "locatie", "organisatie", "datum", "telefoon", "email", "all but speaker labels", "all"):
        if total[key]:
            print(f"  {key:<26} {hidden[key]:>7} {total[key]:>6} {hidden[key] / total[key]:>7.1%}")
    for filename, file_hidden, count in per_file:
        print(f"  {filename:<26} {file_hidden:>7} {count:>6} {file_hidden / count:>7.1%}")
    print(f"  replaced spans that overlap no gold name: {unlisted}")


def main() -> None:
    """Measure the chosen recogniser(s)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--recogniser", choices=["rules", "deduce", "deduce-only", "all"], default="all")
    args = parser.parse_args()
    for name in (["rules", "deduce-only", "deduce"] if args.recogniser == "all" else [args.recogniser]):
        measure(name)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
