"""The one place where domain errors become HTTP responses."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.shared.errors import QcoderError

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers so every error body is {code, error, message, details}."""

    @app.exception_handler(QcoderError)
    async def domain_error(_request: Request, exc: QcoderError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return JSONResponse(status_code=exc.http_status, content=exc.to_dict(), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"location": ".".join(str(part) for part in err.get("loc", ())), "problem": err.get("msg", "")}
            for err in exc.errors()
        ]
        return JSONResponse(
            status_code=422,
            content={
                "code": "E100", "error": "RequestValidationError",
                "message": "The request is incomplete or has wrong values; see details and correct them.",
                "details": {"problems": problems},
            },
        )

    @app.exception_handler(OperationalError)
    async def database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.orig)
        return JSONResponse(
            status_code=503,
            content={"code": "E900", "error": "DatabaseUnavailable",
                     "message": "The database is briefly unavailable; nothing was changed. Try again in a moment.",
                     "details": {}},
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code,
            content={"code": f"H{exc.status_code}", "error": "HTTPError", "message": str(exc.detail), "details": {}},
        )
