"""The browser review screen: static HTML, CSS and JavaScript served at /review, no build step.

The files need no authentication; the page logs in through POST /api/v1/auth/token and
gets all data from the authenticated API.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
MOUNT_PATH = "/review"


def mount_review_screen(app: FastAPI) -> None:
    """Serve the review screen at /review/ (index.html) and its assets under /review/."""
    app.mount(MOUNT_PATH, StaticFiles(directory=STATIC_DIR, html=True, check_dir=True), name="review-screen")
