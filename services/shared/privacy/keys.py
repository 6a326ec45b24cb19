"""The pseudonym key: what each placeholder stands for, encrypted, stored apart from the texts.

The values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from the
installation's secret (settings.pseudonym_key_secret or pseudonym_key_file). Each ciphertext also
names its project and placeholder, so a row copied to another project or placeholder does not decrypt.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.shared.config import Settings
from services.shared.errors import ConfigurationError, NotFoundError
from services.shared.privacy.placeholders import parse_placeholder
from services.shared.tables import PseudonymKey

log = logging.getLogger(__name__)
DEV_KEY_FILE = Path("secrets") / "pseudonym.key"  # under settings.data_dir
_KDF_INFO = b"qcoder pseudonym key v1"


@dataclass(frozen=True)
class KeyEntry:
    """One decrypted row of a project's key."""

    placeholder: str
    kind: str
    value: str


class KeyCipher:
    """Encrypts and decrypts placeholder values for one installation."""

    def __init__(self, secret: bytes) -> None:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, project_id: str, placeholder: str, value: str) -> bytes:
        """The ciphertext of `value`, bound to its project and placeholder."""
        payload = json.dumps({"p": project_id, "h": placeholder, "v": value}, ensure_ascii=False)
        return self._fernet.encrypt(payload.encode("utf-8"))

    def decrypt(self, project_id: str, placeholder: str, token: bytes) -> str:
        """The value of a ciphertext; refuses one made with another secret or for another row."""
        try:
            payload = json.loads(self._fernet.decrypt(bytes(token)).decode("utf-8"))
        except (InvalidToken, ValueError) as exc:
            raise ConfigurationError(
                "A pseudonym key entry cannot be decrypted: the installation's pseudonym-key secret is not the "
                "one it was stored with. Restore QCODER_PSEUDONYM_KEY_SECRET / QCODER_PSEUDONYM_KEY_FILE.",
                placeholder=placeholder,
            ) from exc
        if payload.get("p") != project_id or payload.get("h") != placeholder:
            raise ConfigurationError("A pseudonym key entry belongs to another project or placeholder; the key "
                                     "table has been tampered with.", placeholder=placeholder)
        return payload["v"]


def cipher_from_settings(settings: Settings) -> KeyCipher:
    """The cipher for the configured secret; development installations get a generated key file."""
    if settings.pseudonym_key_secret is not None:
        return KeyCipher(settings.pseudonym_key_secret.get_secret_value().encode("utf-8"))
    path = settings.pseudonym_key_file
    if path is None:
        if settings.environment == "production":
            raise ConfigurationError("Set QCODER_PSEUDONYM_KEY_SECRET or QCODER_PSEUDONYM_KEY_FILE before "
                                     "storing pseudonymised transcripts in production.")
        path = settings.data_dir / DEV_KEY_FILE
        if not path.exists():
            _create_key_file(path)
            log.warning("no pseudonym-key secret configured; created %s for this development installation. "
                        "Set QCODER_PSEUDONYM_KEY_FILE (and back it up) for real data.", path)
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"The pseudonym key file {path} cannot be read ({exc}).") from exc
    if not secret:
        raise ConfigurationError(f"The pseudonym key file {path} is empty; put a long random secret in it.")
    return KeyCipher(secret.encode("utf-8"))


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        # link() publishes the complete file or fails when another process was first: nobody ever
        # reads a half-written key, and two processes starting together agree on one key.
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def load_key(session: Session, project_id: str, cipher: KeyCipher) -> list[KeyEntry]:
    """Every entry of a project's key, decrypted, in the order they were made."""
    rows = session.scalars(select(PseudonymKey).where(PseudonymKey.project_id == project_id).order_by(PseudonymKey.id))
    return [KeyEntry(row.placeholder, row.kind, cipher.decrypt(project_id, row.placeholder, row.encrypted_value))
            for row in rows]


def add_key_entry(session: Session, project_id: str, cipher: KeyCipher, entry: KeyEntry) -> None:
    """Store one new entry (flushed with the session)."""
    session.add(PseudonymKey(project_id=project_id, placeholder=entry.placeholder, kind=entry.kind,
                             encrypted_value=cipher.encrypt(project_id, entry.placeholder, entry.value)))


def reveal(session: Session, project_id: str, placeholder: str, cipher: KeyCipher) -> KeyEntry:
    """What one placeholder of a project stands for; NotFoundError when the project has no such entry."""
    if parse_placeholder(placeholder) is None:
        raise NotFoundError("No such placeholder in this project.", placeholder=placeholder[:80])
    row = session.scalar(select(PseudonymKey).where(PseudonymKey.project_id == project_id,
                                                    PseudonymKey.placeholder == placeholder.strip()))
    if row is None:
        raise NotFoundError("No such placeholder in this project.", placeholder=placeholder[:80])
    return KeyEntry(row.placeholder, row.kind, cipher.decrypt(project_id, row.placeholder, row.encrypted_value))
