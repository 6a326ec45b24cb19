"""Recall of the pseudonymisation on gold names, on two sets of fictional transcripts:

- examples: the four example interviews (labelled_data/transcripts/*.gold.json, 132 names). The
  rule lists and patterns were written while looking at them: a check, not an estimate.
- held-out: three short interviews written afterwards with new people, organisations, streets and
  places (labelled_data/transcripts/heldout_names/*.names.json); nothing was tuned on them.

A gold name counts as hidden when one replaced span covers it whole. Prints recall per kind and
per transcript, with and without the speaker labels (names at the start of a line before ': '),
for the rules alone, deduce alone and deduce + rules (the production setting), plus the spans
replaced that overlap no gold name (an upper bound on over-replacement: the gold does not list
everything a careful reader would hide). See docs/privacy.md.

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
# (label, folder, suffix of the gold file next to each transcript)
SETS = (
    ("examples (rules tuned on them)", EXAMPLES, ".gold.json"),
    ("held-out (nothing tuned on them)", EXAMPLES / "heldout_names", ".names.json"),
)
LABEL = re.compile(r"(?m)^(?:\[[\d:]+\] )?$")


def is_speaker_label(text: str, start: int, end: int) -> bool:
    """A name used as a turn label: at the start of a line (after a timestamp) and followed by ': '."""
    line_start = text.rfind("\n", 0, start) + 1
    return bool(LABEL.match(text[line_start:start])) and text[end:end + 2] == ": "


def measure(name: str) -> None:
    """Pseudonymise both sets with one recogniser and print recall figures for each."""
    started = time.perf_counter()
    if name == "deduce-only":  # what deduce finds without qcoder's rules: not tuned on these files
        from services.shared.privacy.deduce_backend import DeduceRecogniser

        recogniser = DeduceRecogniser()
    else:
        recogniser = get_recogniser(get_settings(pseudonymise_recogniser=name))
    loaded = time.perf_counter() - started
    print(f"\nrecogniser: {name} = {recogniser.name}   (load {loaded:.1f} s)")
    for set_label, folder, suffix in SETS:
        measure_set(recogniser, set_label, folder, suffix)


def measure_set(recogniser, set_label: str, folder, suffix: str) -> None:  # noqa: ANN001
    """Recall on the transcripts of one folder, one placeholder table for the set (as in one project)."""
    pseudonymiser = TextPseudonymiser(recogniser)
    hidden, total = Counter(), Counter()
    per_file, missed, unlisted, seconds = [], [], 0, 0.0
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        names = json.loads(path.with_name(path.stem + suffix).read_text(encoding="utf-8"))["names"]
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
            if not covered:
                missed.append(f"{gold['text']} ({gold['kind']})")
        unlisted += sum(1 for r in result.replacements
                        if not any(r.start < g["end"] and g["start"] < r.end for g in names))
        per_file.append((path.name, file_hidden, len(names)))

    print(f"  {set_label}: {len(per_file)} files, pseudonymised in {seconds:.2f} s")
    print(f"  {'kind':<26} {'hidden':>7} {'names':>6} {'recall':>7}")
    for key in ("persoon", "locatie", "organisatie", "datum", "telefoon", "email", "all but speaker labels", "all"):
        if total[key]:
            print(f"  {key:<26} {hidden[key]:>7} {total[key]:>6} {hidden[key] / total[key]:>7.1%}")
    for filename, file_hidden, count in per_file:
        print(f"  {filename:<26} {file_hidden:>7} {count:>6} {file_hidden / count:>7.1%}")
    print(f"  replaced spans that overlap no gold name: {unlisted}")
    print(f"  missed: {', '.join(sorted(set(missed))) or 'none'}")


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
