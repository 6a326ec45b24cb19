#!/usr/bin/env bash
# From a fresh clone: install into .venv, then code the bundled example interview on the embedded
# defaults (SQLite, no Redis) and write out/example/*.json + out/example/report.html.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/qcoder analyse labelled_data/transcripts/int_p1.txt --output out/example
echo "Open out/example/report.html in a browser to read the quotations per code."
