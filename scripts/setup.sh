#!/usr/bin/env bash
# Create .venv in the checkout and install qcoder with its test and sentence-transformers extras.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# The CPU build of torch first, so that sentence-transformers does not pull a multi-GB CUDA build.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev,st]"
# deduce pins regex<2025, which transformers cannot use; it runs fine with the newer regex, so it is
# installed without its pins (see the comment in pyproject.toml), its other requirements by name.
.venv/bin/python -m pip install --quiet "docdeid==1.0.1" "rapidfuzz>=3" "frozendict>=2.3"
.venv/bin/python -m pip install --quiet --no-deps "deduce==3.0.6"
# deduce builds its lookup structures on first use (minutes) and caches them in its package folder;
# build them once here so that the API, the CLI and the tests load it in ~20 s.
.venv/bin/python -c "import deduce; deduce.Deduce()" > /dev/null
echo "qcoder is installed in .venv (run .venv/bin/qcoder --help)"
