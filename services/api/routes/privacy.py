"""Routes of the privacy feature."""
from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["privacy"])
