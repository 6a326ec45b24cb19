"""Typed domain errors: each has a stable code and a message that says what to do next.

The API maps them to HTTP in one place (services/api/error_handlers.py); jobs record
them on the transcript. Nothing here knows about HTTP frameworks.
"""
from __future__ import annotations


class QcoderError(Exception):
    """Base of every domain error; `code` is machine-readable, the message is for people."""

    code = "E000"
    http_status = 400

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict:
        """Return the error as a JSON-friendly dict."""
        return {"code": self.code, "error": type(self).__name__, "message": self.message, "details": self.details}


class InputError(QcoderError):
    """The request or file cannot be used as given; the user must change it."""

    code = "E100"
    http_status = 400


class EmptyFileError(InputError):
    code = "E101"


class BinaryFileError(InputError):
    code = "E102"
    http_status = 415


class UndecodableTextError(InputError):
    code = "E103"
    http_status = 415


class FileTooLargeError(InputError):
    code = "E104"
    http_status = 413


class InvalidDocxError(InputError):
    code = "E105"
    http_status = 415


class UnsupportedFormatError(InputError):
    code = "E106"
    http_status = 415


class CodebookError(InputError):
    """A codebook file is invalid; the message names the file and line."""

    code = "E110"
    http_status = 422


class UnknownCodeError(InputError):
    code = "E111"
    http_status = 422


class LabelledDataError(InputError):
    code = "E120"
    http_status = 422


class NotFoundError(QcoderError):
    code = "E200"
    http_status = 404


class ConflictError(QcoderError):
    code = "E300"
    http_status = 409


class AuthenticationError(QcoderError):
    code = "E401"
    http_status = 401


class PermissionDeniedError(QcoderError):
    code = "E403"
    http_status = 403


class ModelUnavailableError(QcoderError):
    """A model version or an embedding backend is missing on this machine."""

    code = "E500"
    http_status = 503


class TransientError(QcoderError):
    """A failure worth retrying (database or Redis briefly unavailable)."""

    code = "E900"
    http_status = 503


class InvalidDocumentError(InputError):
    """An .odt, .rtf, .pdf or subtitle file cannot be read as a transcript."""

    code = "E140"
    http_status = 415


class QdaExchangeError(InputError):
    """A REFI-QDA file (.qdpx, .qdc, .qde) is not usable; the message says what is wrong with it."""

    code = "E141"
    http_status = 422


class UnsafeArchiveError(InputError):
    """A REFI-QDA file was refused for safety (zip bomb, path traversal, XML entities)."""

    code = "E142"
    http_status = 422


class RateLimitedError(QcoderError):
    """Too many failed attempts (logins); the message says when to try again."""

    code = "E429"
    http_status = 429


class ConfigurationError(QcoderError):
    """The installation is set up wrongly (a missing or unusable secret); an administrator must fix it."""

    code = "E510"
    http_status = 500
